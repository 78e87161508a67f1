"""The type stubs of the compiled module name what it holds, and the package is typed (PEP 561)."""

import ast
import os

import hdiff
from hdiff import _hdiff


def stub_tree():
    path = os.path.join(os.path.dirname(hdiff.__file__), "_hdiff.pyi")
    with open(path, encoding="utf-8") as file:
        return ast.parse(file.read())


def test_the_package_is_marked_typed():
    assert os.path.isfile(os.path.join(os.path.dirname(hdiff.__file__), "py.typed"))


def test_every_stubbed_name_exists_and_every_public_name_is_stubbed():
    stubbed = set()
    for node in stub_tree().body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stubbed.add(node.name)
            assert hasattr(_hdiff, node.name), node.name
        if isinstance(node, ast.ClassDef):
            members = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
            for member in members:
                assert hasattr(getattr(_hdiff, node.name), member), f"{node.name}.{member}"
            public = {name for name in vars(getattr(_hdiff, node.name)) if not name.startswith("_")}
            assert public <= members, f"{node.name}: not stubbed: {public - members}"
        if isinstance(node, ast.AnnAssign):
            stubbed.add(node.target.id)
            assert hasattr(_hdiff, node.target.id), node.target.id
    public = {name for name in dir(_hdiff) if not name.startswith("__")}
    assert public <= stubbed, f"not stubbed: {public - stubbed}"


def test_stubbed_parameters_are_those_of_the_bindings():
    # pybind11 writes each function's signature as the first line of its docstring.
    for node in stub_tree().body:
        if isinstance(node, ast.FunctionDef):
            signature = getattr(_hdiff, node.name).__doc__.splitlines()[0]
            for argument in node.args.args:
                assert f"{argument.arg}: " in signature, f"{node.name}({argument.arg}): {signature}"
