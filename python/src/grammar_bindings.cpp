// Grammar, sampling and the forward noise in Python.

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>

#include <fmt/format.h>

#include "bindings.h"
#include "bp/denoise.h"
#include "common/error.h"
#include "common/output.h"
#include "common/random.h"
#include "grammar/grammar_io.h"
#include "grammar/sampling.h"
#include "noise/channel.h"

namespace hdiff::python {
namespace {

// What Grammar.sample returns: the tokens and the latents of every level.
struct Samples {
  py::array tokens;   // n × d
  py::list latents;   // level ℓ = 0..L: n × s^ℓ
};

Grammar random_grammar(int v, int classes, int m, int s, int L, uint64_t seed) {
  return make_random_grammar(GrammarParams{v, classes, m, s, L, seed});
}

Samples sample(const Grammar& grammar, int64_t count, uint64_t seed, const py::object& dtype_request) {
  if (count < 1) fail("--n {} is too small; draw at least 1 sample", count);
  const auto& p = grammar.params;
  const py::dtype dtype = token_dtype(dtype_request, static_cast<uint64_t>(std::max(p.v, p.n_classes) - 1));
  std::vector<std::vector<uint32_t>> levels(static_cast<size_t>(p.L + 1));
  without_gil([&] {  // the GIL is taken back in plain code (a daemon thread at exit: bindings.h)
    const SampleBatch batch = sample_batch(grammar, seed, 0, count);
    for (int level = 0; level <= p.L; ++level) {
      const int64_t width = nodes_at_level(p, level);
      auto& values = levels[static_cast<size_t>(level)];
      values.resize(static_cast<size_t>(count * width));
      for (int64_t n = 0; n < count; ++n)
        std::copy_n(batch.tree(n).begin() + level_offset(p, level), width, values.begin() + n * width);
    }
  });
  Samples samples;
  for (int level = 0; level <= p.L; ++level)
    samples.latents.append(token_array(std::move(levels[static_cast<size_t>(level)]), {count, nodes_at_level(p, level)}, dtype));
  samples.tokens = samples.latents[static_cast<size_t>(p.L)].cast<py::array>();
  return samples;
}

py::array productions(const Grammar& grammar, int level, const py::object& dtype_request) {
  const auto& p = grammar.params;
  const py::dtype dtype = token_dtype(dtype_request, static_cast<uint64_t>(p.v - 1));
  if (level < 0 || level >= p.L) fail("level {} has no productions; levels with productions are 0..{}", level, p.L - 1);
  const auto& table = grammar.levels[static_cast<size_t>(level)];
  std::vector<uint32_t> children = table.children;
  return token_array(std::move(children), {table.n_parents, table.m, table.s}, dtype);
}

py::array corrupt(const Grammar& grammar, const py::object& tokens_object, const std::string& channel, double noise_level,
                  uint64_t seed, const py::object& dtype_request) {
  const NoiseSpec noise{parse_channel(channel), noise_level};
  validate(noise);
  const bool gaussian = noise.channel == Channel::gaussian;
  const auto& p = grammar.params;
  if (gaussian && !dtype_request.is_none())
    fail("dtype is for token outputs; gaussian observations are float64 (convert them with .astype)");
  const py::dtype dtype = gaussian ? py::dtype::of<double>() : token_dtype(dtype_request, max_observed_token(p, noise.channel));
  const py::array tokens = as_array(tokens_object, "tokens");
  const int64_t d = sequence_length(p);
  // The clean tokens must be a string of the grammar's length and vocabulary.
  check_observation_shape(p, Channel::uniform, shape_of(tokens), "tokens");
  const InputTokens clean = read_tokens(tokens, "tokens", static_cast<uint64_t>(p.v - 1));
  const int64_t count = clean.shape[0];
  // The function `hdiff corrupt` calls, without the GIL (taken back in plain code: bindings.h).
  CorruptedBatch batch = without_gil([&] { return corrupt_batch(noise, p.v, d, clean.tokens, seed); });
  if (gaussian) return owned_array(std::move(batch.values), {count, d, p.v});
  return token_array(std::move(batch.tokens), {count, d}, dtype);
}

}  // namespace

void register_grammar(py::module_& module) {
  py::class_<Samples>(module, "Samples", "Samples of a grammar with all their latents (see Grammar.sample).")
      .def_readonly("tokens", &Samples::tokens, "int64 array (n, d) (or the dtype asked for): the strings, d = s**L")
      .def_readonly("latents", &Samples::latents,
                    "list over levels 0..L of int64 arrays (n, s**level) (or the dtype asked for); level 0 is the "
                    "class, level L the tokens")
      .def("__repr__", [](const Samples& s) {
        return fmt::format("hdiff.Samples(tokens: {} {}, latents: {} levels)", py::str(s.tokens.dtype()).cast<std::string>(),
                           py::repr(s.tokens.attr("shape")).cast<std::string>(), s.latents.size());
      });

  py::class_<Grammar>(module, "Grammar", "A Random Hierarchy Model grammar (SPEC §1).")
      .def_static("random", &random_grammar, py::arg("v") = 32, py::arg("classes") = 32, py::arg("m") = 8,
                  py::arg("s") = 2, py::arg("L") = 2, py::arg("seed") = 0,
                  R"(Make the random grammar of SPEC §1, as `hdiff grammar` does.

Parameters
----------
v : int
    Vocabulary size of levels 1..L.
classes : int
    Number of classes (root symbols).
m : int
    Productions per symbol.
s : int
    Children per production.
L : int
    Depth; strings have d = s**L tokens.
seed : int
    Grammar seed; the grammar is a pure function of all six values.

Returns
-------
Grammar

Raises
------
ValueError
    When a parameter is out of range (the message names the bound).)")
      .def_static("load", [](const std::filesystem::path& path) { return load_grammar(path); }, py::arg("path"),
                  R"(Read a grammar JSON file written by `hdiff grammar --out` or Grammar.save.

Raises
------
OSError
    When the file cannot be read.
ValueError
    When its content is not a valid grammar.)")
      .def("save", [](const Grammar& g, const std::filesystem::path& path) {
             check_file_writable(path);
             save_grammar(g, path);
           }, py::arg("path"),
           R"(Write the grammar as JSON (atomically: a temporary file, then a rename).

Raises
------
OSError
    When the file cannot be written.)")
      .def_property_readonly("v", [](const Grammar& g) { return g.params.v; }, "Vocabulary size of levels 1..L.")
      .def_property_readonly("classes", [](const Grammar& g) { return g.params.n_classes; }, "Number of classes.")
      .def_property_readonly("m", [](const Grammar& g) { return g.params.m; }, "Productions per symbol.")
      .def_property_readonly("s", [](const Grammar& g) { return g.params.s; }, "Children per production.")
      .def_property_readonly("L", [](const Grammar& g) { return g.params.L; }, "Depth.")
      .def_property_readonly("seed", [](const Grammar& g) { return g.params.seed; }, "Grammar seed.")
      .def_property_readonly("d", [](const Grammar& g) { return sequence_length(g.params); }, "Tokens per string, s**L.")
      .def("productions", &productions, py::arg("level"), py::arg("dtype") = py::none(),
           R"(The productions of one level as an int64 array (symbols, m, s), or the integer dtype asked for.

Entry [a, r] holds the s children of production r of symbol a; level 0 is the
root (symbols = classes), levels 1..L-1 have v symbols.

Raises
------
ValueError
    When level is not in 0..L-1.)")
      .def("sample", &sample, py::arg("n"), py::arg("seed") = 0, py::arg("dtype") = py::none(),
           R"(Draw n samples with all their latents: the values of `hdiff sample --n n --seed seed`.

Parameters
----------
n : int
    Number of samples, at least 1.
seed : int
    Sampling seed.
dtype : numpy integer dtype, optional
    dtype of the arrays; default int64 (what torch.from_numpy takes). uint32
    (hdiff's own) and int64 are handed over without a copy.

Returns
-------
Samples
    `.tokens` (n, d) and `.latents`, a list over levels 0..L of (n, s**level) arrays.

Raises
------
ValueError
    When n < 1, or dtype is not an integer type wide enough for the symbols.)")
      .def("__repr__", [](const Grammar& g) {
        const auto& p = g.params;
        return fmt::format("hdiff.Grammar(v={}, classes={}, m={}, s={}, L={}, seed={})", p.v, p.n_classes, p.m, p.s, p.L, p.seed);
      });

  module.def("corrupt", &corrupt, py::arg("grammar"), py::arg("tokens"), py::arg("channel"), py::arg("noise"),
             py::arg("seed") = 0, py::arg("dtype") = py::none(),
             R"(Apply a forward noise channel to clean strings, as `hdiff phase` draws it.

Row n uses the noise stream (seed, n) that the phase experiment uses for
sample n at its first noise point. `hdiff corrupt` with the same inputs and
seed writes the same values (the same bits for gaussian).

Parameters
----------
grammar : Grammar
tokens : array_like of int, shape (n, d)
    Clean strings with values in [0, v). Read in place when C-contiguous uint32,
    else converted once.
channel : {'uniform', 'mask', 'gaussian', 'soft'}
    soft (the papers' epsilon-process) keeps every token: the output equals
    the input and the noise lives in denoise's likelihoods.
noise : float
    epsilon in [0, 1] for uniform, mask and soft; alpha-bar in [0, 1) for gaussian.
seed : int
dtype : numpy integer dtype, optional
    dtype of token observations; default int64. Not for gaussian.

Returns
-------
numpy.ndarray
    int64 (n, d) observations (mask: v means MASK; soft: the clean tokens), or
    float64 (n, d, v) for gaussian.

Raises
------
ValueError
    For a bad channel, noise level, shape, token or dtype.)");
}

}  // namespace hdiff::python
