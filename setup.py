"""Builds the compiled part of the Python package hdiff with CMake, for
`pip install --no-build-isolation .` (docs/python.md).

Only the module target (hdiff_python → hdiff/_hdiff*.so) is built, in Release,
with ccache when it is installed. The CMake build folder is HDIFF_PIP_BUILD_DIR,
by default build-pip/ in the source tree (ignored by git); it is kept, so that a
second install rebuilds only what changed. setuptools' own files go there too,
so that nothing else is written into the source tree.
"""

import glob
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.path.abspath(os.environ.get("HDIFF_PIP_BUILD_DIR", os.path.join(ROOT, "build-pip")))


def version():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as file:
        return re.search(r"project\(hdiff VERSION ([0-9.]+)", file.read()).group(1)


class CMakeBuild(build_ext):
    """Builds hdiff._hdiff with the project's CMake and copies it where setuptools packs it."""

    def build_extension(self, ext):
        cmake_dir = os.path.join(BUILD_DIR, "cmake")
        configure = ["cmake", "-S", ROOT, "-B", cmake_dir, "-DCMAKE_BUILD_TYPE=Release",
                     f"-DPython3_EXECUTABLE={sys.executable}", "-DHDIFF_WITH_TORCH=OFF", "-DHDIFF_BUILD_TESTS=OFF",
                     "-DHDIFF_BUILD_BENCH=OFF", "-DHDIFF_WITH_MPI=OFF"]
        if shutil.which("ccache"):
            configure += ["-DCMAKE_CXX_COMPILER_LAUNCHER=ccache", "-DCMAKE_C_COMPILER_LAUNCHER=ccache"]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", cmake_dir, "--target", "hdiff_python", "-j", jobs], check=True)
        built = glob.glob(os.path.join(cmake_dir, "python", "hdiff", "_hdiff*.so"))
        if len(built) != 1:
            sys.exit(f"hdiff: expected one built module in {cmake_dir}/python/hdiff, found {built}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built[0], target)


os.makedirs(BUILD_DIR, exist_ok=True)
setup(
    version=version(),
    ext_modules=[Extension("hdiff._hdiff", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": os.path.join(BUILD_DIR, "setuptools")}, "egg_info": {"egg_base": BUILD_DIR}},
)
