// Exact denoising in Python: the computation of `hdiff denoise`, its inputs read
// in place where they fit and its outputs handed over without copies.

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "bindings.h"
#include "bp/denoise.h"
#include "common/error.h"

namespace hdiff::python {
namespace {

// What denoise returns; every array views a buffer its capsule owns.
struct DenoiseOutput {
  py::list marginals;     // level ℓ: n × s^ℓ × n_ℓ float64
  py::array log_evidence; // n float64
  py::object posterior;   // n × K × d tokens (int64 by default), or None when K = 0
  py::object map;         // n × d tokens, or None
};

DenoiseOutput run_denoise(const Grammar& grammar, const py::object& observed_object, const std::string& channel,
                          double noise, int posterior_samples, bool map, uint64_t seed, int threads,
                          const py::object& dtype_request, const std::string& precision) {
  DenoiseRequest request;
  request.noise = {parse_channel(channel), noise};
  request.precision = parse_precision(precision);
  request.posterior_samples = posterior_samples;
  request.map = map;
  request.seed = seed;
  validate(request);
  const auto& p = grammar.params;
  const py::dtype dtype = token_dtype(dtype_request, static_cast<uint64_t>(p.v - 1));
  const py::array observed = as_array(observed_object, "observed");
  check_observation_shape(p, request.noise.channel, shape_of(observed), "observed");
  Observations observations;
  InputTokens tokens;
  InputValues values;
  if (request.noise.channel == Channel::gaussian) {
    values = read_values(observed, "observed");
    observations.values = values.values;
  } else {
    tokens = read_tokens(observed, "observed", max_observed_token(p, request.noise.channel));
    observations.tokens = tokens.tokens;
  }
  observations.count = static_cast<int64_t>(observed.shape(0));

  ThreadScope thread_scope(threads);
  // Without the GIL, taken back in plain code (a daemon thread at exit: bindings.h).
  DenoiseResult result = without_gil([&] { return denoise(grammar, observations, request); });
  const int64_t n = result.count, d = sequence_length(p);
  DenoiseOutput output;
  for (int level = 0; level <= p.L; ++level)
    output.marginals.append(owned_array(std::move(result.marginals[static_cast<size_t>(level)]),
                                        {n, nodes_at_level(p, level), symbols_at_level(p, level)}));
  output.log_evidence = owned_array(std::move(result.log_evidence), {n});
  output.posterior = posterior_samples > 0
                         ? py::object(token_array(std::move(result.posterior_tokens), {n, posterior_samples, d}, dtype))
                         : py::none();
  output.map = map ? py::object(token_array(std::move(result.map_tokens), {n, d}, dtype)) : py::none();
  return output;
}

// Median seconds of `repeats` calls of the C++ denoise on already converted
// inputs: the baseline bench/python_overhead.py compares hdiff.denoise with.
double cpp_denoise_seconds(const Grammar& grammar, const py::array& observed, const std::string& channel,
                           double noise, int repeats, int threads) {
  if (repeats < 1) fail("repeats must be at least 1");
  DenoiseRequest request;
  request.noise = {parse_channel(channel), noise};
  validate(request);
  check_observation_shape(grammar.params, request.noise.channel, shape_of(observed), "observed");
  if (request.noise.channel == Channel::gaussian) fail("the timing takes token observations");
  const InputTokens tokens = read_tokens(observed, "observed", max_observed_token(grammar.params, request.noise.channel));
  const Observations observations{static_cast<int64_t>(observed.shape(0)), tokens.tokens, {}};
  ThreadScope thread_scope(threads);
  return without_gil([&] {
    std::vector<double> seconds;
    for (int r = 0; r < repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      const DenoiseResult result = denoise(grammar, observations, request);
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
  });
}

}  // namespace

void register_denoise(py::module_& module) {
  py::class_<DenoiseOutput>(module, "DenoiseResult", "What hdiff.denoise computed for n observations.")
      .def_readonly("marginals", &DenoiseOutput::marginals,
                    "list over levels 0..L of float64 arrays (n, s**level, symbols): the exact marginals")
      .def_readonly("log_evidence", &DenoiseOutput::log_evidence, "float64 array (n,): log p(observation)")
      .def_readonly("posterior", &DenoiseOutput::posterior,
                    "int64 array (n, K, d) (or the dtype asked for) of exact posterior samples, or None when "
                    "posterior_samples = 0")
      .def_readonly("map", &DenoiseOutput::map, "int64 array (n, d) (or the dtype asked for) of MAP strings, or None "
                    "when map = False")
      .def("__repr__", [](const DenoiseOutput& o) {
        const auto shape = [](const py::object& array) {
          return array.is_none() ? std::string("None") : py::repr(array.attr("shape")).cast<std::string>();
        };
        return fmt::format("hdiff.DenoiseResult(n={}, levels={}, log_evidence mean={:.6g}, posterior={}, map={})",
                           o.log_evidence.shape(0), o.marginals.size(),
                           o.log_evidence.attr("mean")().cast<double>(), shape(o.posterior), shape(o.map));
      });

  module.def("_cpp_denoise_seconds", &cpp_denoise_seconds, py::arg("grammar"), py::arg("observed"),
             py::arg("channel"), py::arg("noise"), py::arg("repeats"), py::arg("threads") = 0,
             "Median seconds of the C++ denoise call alone (token channels); for bench/python_overhead.py.");
  module.def("denoise", &run_denoise, py::arg("grammar"), py::arg("observed"), py::arg("channel"), py::arg("noise"),
             py::arg("posterior_samples") = 0, py::arg("map") = false, py::arg("seed") = 0, py::arg("threads") = 0,
             py::arg("dtype") = py::none(), py::arg("precision") = "float",
             R"(Denoise observations exactly by belief propagation, as `hdiff denoise` does.

The results are bit-identical to `hdiff denoise` on the same inputs and seed,
for any thread count. The GIL is released while computing.

Parameters
----------
grammar : Grammar
observed : array_like
    Integer tokens (n, d) for uniform and mask (mask: the value v means MASK),
    the clean string for soft, or floats (n, d, v) for gaussian. C-contiguous
    uint32 (float64 for gaussian) arrays are read in place; other dtypes and
    layouts are converted once.
channel : {'uniform', 'mask', 'gaussian', 'soft'}
noise : float
    epsilon in [0, 1] for uniform, mask and soft; alpha-bar in [0, 1) for gaussian.
posterior_samples : int, optional
    K exact posterior samples of the string per observation.
map : bool, optional
    Also compute the most probable string.
seed : int, optional
    Seed of the posterior samples.
threads : int, optional
    Threads, 0 = all cores; the results do not depend on it.
dtype : numpy integer dtype, optional
    dtype of the posterior and MAP tokens; default int64.
precision : {'float', 'double'}, optional
    'float' (default): the fast float32 batch path, marginals to about 1e-5
    relative; 'double': the exact double reference path (several times
    slower), as `hdiff denoise --precision double`.

Returns
-------
DenoiseResult
    `.marginals`, `.log_evidence`, `.posterior` and `.map`; the arrays view
    buffers they own (no copies) and stay valid after the result is dropped.

Raises
------
ValueError
    For a bad channel, noise level, shape, dtype or token, or an observation of
    probability 0; the message is that of the command line.)");
}

}  // namespace hdiff::python
