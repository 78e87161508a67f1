// Grammar, sampling and the forward noise in Python.

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

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

Samples sample(const Grammar& grammar, int64_t count, uint64_t seed) {
  if (count < 1) fail("--n {} is too small; draw at least 1 sample", count);
  const auto& p = grammar.params;
  std::vector<std::vector<uint32_t>> levels(static_cast<size_t>(p.L + 1));
  {
    py::gil_scoped_release release;
    const SampleBatch batch = sample_batch(grammar, seed, 0, count);
    for (int level = 0; level <= p.L; ++level) {
      const int64_t width = nodes_at_level(p, level);
      auto& values = levels[static_cast<size_t>(level)];
      values.resize(static_cast<size_t>(count * width));
      for (int64_t n = 0; n < count; ++n)
        std::copy_n(batch.tree(n).begin() + level_offset(p, level), width, values.begin() + n * width);
    }
  }
  Samples samples;
  for (int level = 0; level <= p.L; ++level)
    samples.latents.append(owned_array(std::move(levels[static_cast<size_t>(level)]), {count, nodes_at_level(p, level)}));
  samples.tokens = samples.latents[static_cast<size_t>(p.L)].cast<py::array>();
  return samples;
}

py::array productions(const Grammar& grammar, int level) {
  const auto& p = grammar.params;
  if (level < 0 || level >= p.L) fail("level {} has no productions; levels with productions are 0..{}", level, p.L - 1);
  const auto& table = grammar.levels[static_cast<size_t>(level)];
  std::vector<uint32_t> children = table.children;
  return owned_array(std::move(children), {table.n_parents, table.m, table.s});
}

py::array corrupt(const Grammar& grammar, const py::object& tokens_object, const std::string& channel, double noise_level,
                  uint64_t seed) {
  const NoiseSpec noise{parse_channel(channel), noise_level};
  validate(noise);
  const py::array tokens = as_array(tokens_object, "tokens");
  const auto& p = grammar.params;
  const int64_t d = sequence_length(p);
  // The clean tokens must be a string of the grammar's length and vocabulary.
  check_observation_shape(p, Channel::uniform, shape_of(tokens), "tokens");
  const InputTokens clean = read_tokens(tokens, "tokens", static_cast<uint64_t>(p.v - 1));
  const int64_t count = clean.shape[0];
  const bool gaussian = noise.channel == Channel::gaussian;
  std::vector<uint32_t> observed(gaussian ? 0 : static_cast<size_t>(count * d));
  std::vector<double> values(gaussian ? static_cast<size_t>(count * d * p.v) : 0);
  {
    py::gil_scoped_release release;
    for (int64_t n = 0; n < count; ++n) {
      // Row n draws from the stream phase uses for sample n at noise point 0.
      RandomStream random(seed, RandomDomain::noise, static_cast<uint64_t>(n), 0);
      const auto row = clean.tokens.subspan(static_cast<size_t>(n * d), static_cast<size_t>(d));
      if (gaussian)
        corrupt_gaussian(noise, p.v, row, random,
                         std::span<double>(values).subspan(static_cast<size_t>(n * d * p.v), static_cast<size_t>(d * p.v)));
      else
        corrupt_tokens(noise, p.v, row, random,
                       std::span<uint32_t>(observed).subspan(static_cast<size_t>(n * d), static_cast<size_t>(d)));
    }
  }
  if (gaussian) return owned_array(std::move(values), {count, d, p.v});
  return owned_array(std::move(observed), {count, d});
}

}  // namespace

void register_grammar(py::module_& module) {
  py::class_<Samples>(module, "Samples", "Samples of a grammar with all their latents (see Grammar.sample).")
      .def_readonly("tokens", &Samples::tokens, "uint32 array (n, d): the strings, d = s**L")
      .def_readonly("latents", &Samples::latents,
                    "list over levels 0..L of uint32 arrays (n, s**level); level 0 is the class, level L the tokens")
      .def("__repr__", [](const Samples& s) { return "<hdiff.Samples tokens " + py::repr(s.tokens.attr("shape")).cast<std::string>() + ">"; });

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
      .def("productions", &productions, py::arg("level"),
           R"(The productions of one level as a uint32 array (symbols, m, s).

Entry [a, r] holds the s children of production r of symbol a; level 0 is the
root (symbols = classes), levels 1..L-1 have v symbols.

Raises
------
ValueError
    When level is not in 0..L-1.)")
      .def("sample", &sample, py::arg("n"), py::arg("seed") = 0,
           R"(Draw n samples with all their latents: the values of `hdiff sample --n n --seed seed`.

Parameters
----------
n : int
    Number of samples, at least 1.
seed : int
    Sampling seed.

Returns
-------
Samples
    `.tokens` (n, d) and `.latents`, a list over levels 0..L of (n, s**level) uint32 arrays.)")
      .def("__repr__", [](const Grammar& g) {
        const auto& p = g.params;
        return fmt::format("hdiff.Grammar(v={}, classes={}, m={}, s={}, L={}, seed={})", p.v, p.n_classes, p.m, p.s, p.L, p.seed);
      });

  module.def("corrupt", &corrupt, py::arg("grammar"), py::arg("tokens"), py::arg("channel"), py::arg("noise"),
             py::arg("seed") = 0,
             R"(Apply a forward noise channel to clean strings, as `hdiff phase` draws it.

Row n uses the noise stream (seed, n) that the phase experiment uses for
sample n at its first noise point.

Parameters
----------
grammar : Grammar
tokens : array_like of int, shape (n, d)
    Clean strings with values in [0, v). Read in place when C-contiguous uint32,
    else converted once.
channel : {'uniform', 'mask', 'gaussian', 'soft'}
noise : float
    epsilon in [0, 1] for uniform, mask and soft; alpha-bar in [0, 1) for gaussian.
seed : int

Returns
-------
numpy.ndarray
    uint32 (n, d) observations (mask: v means MASK; soft: the clean tokens), or
    float64 (n, d, v) for gaussian.)");
}

}  // namespace hdiff::python
