// Measuring a user's denoiser against exact BP from Python (docs/python.md,
// "Bring your own denoiser"): a Python function fn(tokens, noise) → N × d × v
// probabilities becomes a TokenDenoiser; the measurements run without the GIL
// and take it only while fn runs.

#include <pybind11/stl.h>

#include <cmath>

#include <fmt/format.h>

#include "bindings.h"
#include "bp/denoise.h"
#include "common/error.h"
#include "denoiser/measure.h"
#include "denoiser/tables.h"

namespace hdiff::python {
namespace {

// Exact BP for Python: callable on tokens and noise levels like any denoiser,
// and run in C++ directly when handed to the measurements as is.
struct BPDenoiser {
  Grammar grammar;
  Channel channel;
};

// The channel a denoiser measurement takes: mask or uniform.
Channel denoiser_channel(const std::string& name) {
  const Channel channel = parse_channel(name);
  if (channel != Channel::mask && channel != Channel::uniform)
    fail("channel {} cannot be measured with a token denoiser; choose mask or uniform", name);
  return channel;
}

// BPDenoiser.__call__: probabilities N × d × v of noisy tokens N × d.
py::array bp_probabilities(const BPDenoiser& oracle, const py::object& tokens_object, const py::object& noise_object) {
  const auto& p = oracle.grammar.params;
  const int64_t d = sequence_length(p);
  const py::array tokens_array = as_array(tokens_object, "tokens");
  check_observation_shape(p, oracle.channel, shape_of(tokens_array), "tokens");
  const InputTokens tokens = read_tokens(tokens_array, "tokens", max_observed_token(p, oracle.channel));
  const int64_t count = tokens.shape[0];
  // One level for all strings, or one per string.
  const py::array noise_array = py::module_::import("numpy").attr("broadcast_to")(
      as_array(noise_object, "noise").attr("astype")("float64"), py::make_tuple(count));
  const InputValues noise = read_values(noise_array, "noise");
  std::vector<double> values(static_cast<size_t>(count * d * p.v));
  without_gil([&] {
    const NoisyTokens batch{oracle.channel, p.v, count, d, tokens.tokens, noise.values};
    bp_token_denoiser(oracle.grammar)(batch, values);
    for (double& value : values) value = std::exp(value);
  });
  return owned_array(std::move(values), {count, d, p.v});
}

// The first (string, position, token) of a flat N × d × v index, for messages.
std::string where(size_t k, int64_t d, int v) {
  const auto row = k / static_cast<size_t>(v);
  return fmt::format("string {}, position {}, token {}", row / static_cast<size_t>(d), row % static_cast<size_t>(d),
                     k % static_cast<size_t>(v));
}

// fn(tokens, noise) as a TokenDenoiser: called with the GIL, its output
// checked (shape, finite, non-negative, rows summing to 1 within 1e-4) and
// renormalised; a bad output is one ValueError naming the first bad value.
TokenDenoiser python_denoiser(py::object fn, bool check_signals) {
  return [fn = std::move(fn), check_signals](const NoisyTokens& batch, std::span<double> out) {
    py::gil_scoped_acquire gil;
    if (check_signals && PyErr_CheckSignals() != 0) throw py::error_already_set();
    const int64_t count = batch.count, d = batch.length;
    const int v = batch.v;
    std::vector<int64_t> tokens(batch.tokens.begin(), batch.tokens.end());
    std::vector<double> noise(batch.noise.begin(), batch.noise.end());
    const py::object result = fn(owned_array(std::move(tokens), {count, d}), owned_array(std::move(noise), {count}));
    py::array array;
    try {
      array = py::module_::import("numpy").attr("asarray")(result, "float64");
    } catch (const py::error_already_set& e) {
      fail("fn returned a {} that NumPy cannot read as float64 probabilities ({}); return an array of shape "
           "(N, d, v) = ({}, {}, {})",
           py::str(py::type::of(result).attr("__name__")).cast<std::string>(), e.what(), count, d, v);
    }
    const std::vector<int64_t> shape = shape_of(array);
    if (shape != std::vector<int64_t>{count, d, v})
      fail("fn returned an array of shape ({}); it must be (N, d, v) = ({}, {}, {}) probabilities", fmt::join(shape, ", "),
           count, d, v);
    const InputValues values = [&] {
      try {
        return read_values(array, "fn's output");
      } catch (const Error&) {
        // read_values names non-finite values without their place: find it.
        const auto flat = array.attr("ravel")().cast<py::array_t<double>>();
        for (py::ssize_t k = 0; k < flat.size(); ++k)
          if (!std::isfinite(flat.at(k)))
            fail("fn returned {} at {}; probabilities must be finite", flat.at(k), where(static_cast<size_t>(k), d, v));
        throw;
      }
    }();
    const auto width = static_cast<size_t>(v);
    for (size_t row = 0; row < static_cast<size_t>(count * d); ++row) {
      double total = 0;
      for (size_t a = 0; a < width; ++a) {
        const double p = values.values[row * width + a];
        if (p < 0) fail("fn returned the negative probability {} at {}", p, where(row * width + a, d, v));
        total += p;
      }
      if (!(std::abs(total - 1.0) <= 1e-4))
        fail("fn's probabilities at string {}, position {} sum to {}; each row over the v tokens must sum to 1 "
             "(within 1e-4)", row / static_cast<size_t>(d), row % static_cast<size_t>(d), total);
      for (size_t a = 0; a < width; ++a) {
        const double p = values.values[row * width + a] / total;
        out[row * width + a] = p > 0 ? std::log(p) : -INFINITY;
      }
    }
  };
}

// The TokenDenoiser of what the user passed: exact BP in C++ for a BPDenoiser
// (whose channel must be the measurement's), else the Python function.
TokenDenoiser token_denoiser(const py::object& fn, Channel channel) {
  if (py::isinstance<BPDenoiser>(fn)) {
    const auto& oracle = fn.cast<const BPDenoiser&>();
    if (oracle.channel != channel)
      fail("the BP denoiser was made for channel {}, not {}", channel_name(oracle.channel), channel_name(channel));
    return bp_token_denoiser(oracle.grammar);
  }
  if (!PyCallable_Check(fn.ptr()))
    fail("fn must be a callable fn(tokens, noise) -> (N, d, v) probabilities, not {}",
         py::str(py::type::of(fn).attr("__name__")).cast<std::string>());
  const py::module_ threading = py::module_::import("threading");
  return python_denoiser(fn, threading.attr("current_thread")().is(threading.attr("main_thread")()));
}

std::string run_denoiser_phase(const Grammar& grammar, const py::object& fn, const std::string& channel,
                               std::vector<double> noise, int64_t samples, int trajectories, uint64_t seed,
                               int uniform_steps, int threads, const py::object& progress) {
  DenoiserPhaseConfig config;
  config.channel = denoiser_channel(channel);
  config.noise = std::move(noise);
  config.samples = samples;
  config.trajectories = trajectories;
  config.seed = seed;
  config.uniform_steps = uniform_steps;
  validate(config, grammar.params);
  const TokenDenoiser denoiser = token_denoiser(fn, config.channel);
  const int64_t total = samples * trajectories * static_cast<int64_t>(config.noise.size());
  const std::function<void()> check_signals = python_signal_check();
  ThreadScope thread_scope(threads);
  return without_gil([&] {
    const auto rows = denoiser_phase(grammar, denoiser, config, [&](int64_t done) {
      check_signals();
      if (progress.is_none()) return;
      py::gil_scoped_acquire gil;
      progress(done, total);
    });
    return denoiser_phase_csv(config.channel, rows);
  });
}

std::string run_compare_losses(const Grammar& grammar, const py::object& fn, const std::string& channel_name_,
                               std::vector<double> noise, const py::object& clean_object, uint64_t seed, int threads) {
  const Channel channel = denoiser_channel(channel_name_);
  const TokenDenoiser denoiser = token_denoiser(fn, channel);
  const py::array clean_array = as_array(clean_object, "clean");
  check_observation_shape(grammar.params, Channel::uniform, shape_of(clean_array), "clean");
  const InputTokens clean = read_tokens(clean_array, "clean", static_cast<uint64_t>(grammar.params.v - 1));
  ThreadScope thread_scope(threads);
  return without_gil([&] { return loss_csv(channel, compare_losses(grammar, denoiser, channel, noise, clean.tokens, seed)); });
}

py::array run_generate(const Grammar& grammar, const py::object& fn, const std::string& channel_name_, int64_t count,
                       int uniform_steps, uint64_t seed, int threads, const py::object& dtype_request) {
  const Channel channel = denoiser_channel(channel_name_);
  const py::dtype dtype = token_dtype(dtype_request, static_cast<uint64_t>(grammar.params.v - 1));
  const TokenDenoiser denoiser = token_denoiser(fn, channel);
  ThreadScope thread_scope(threads);
  std::vector<uint32_t> strings =
      without_gil([&] { return generate(grammar.params, denoiser, channel, count, uniform_steps, seed); });
  return token_array(std::move(strings), {count, sequence_length(grammar.params)}, dtype);
}

py::dict run_sample_quality(const Grammar& grammar, const py::object& generated_object, const py::object& training_object) {
  const auto& p = grammar.params;
  const py::array generated_array = as_array(generated_object, "generated");
  check_observation_shape(p, Channel::uniform, shape_of(generated_array), "generated");
  const InputTokens generated = read_tokens(generated_array, "generated", static_cast<uint64_t>(p.v - 1));
  InputTokens training;
  if (!training_object.is_none()) {
    const py::array training_array = as_array(training_object, "training");
    check_observation_shape(p, Channel::uniform, shape_of(training_array), "training");
    training = read_tokens(training_array, "training", static_cast<uint64_t>(p.v - 1));
  }
  const SampleQuality quality = without_gil([&] { return sample_quality(grammar, generated.tokens, training.tokens); });
  py::dict out;
  out["validity"] = owned_array(std::vector<double>(quality.validity), {static_cast<py::ssize_t>(quality.validity.size())});
  out["valid"] = quality.valid;
  out["copied"] = quality.copied;
  out["valid_new"] = quality.valid_new;
  return out;
}

}  // namespace

void register_denoiser(py::module_& module) {
  py::class_<BPDenoiser>(module, "BPDenoiser",
                         "Exact BP as a denoiser (the oracle): called as oracle(tokens, noise) it returns the exact token "
                         "marginals, (N, d, v) float64; handed as is to denoiser_phase, compare_losses or generate it "
                         "runs in C++.")
      .def("__call__", &bp_probabilities, py::arg("tokens"), py::arg("noise"),
           "Exact token marginals p(x0_i = a | tokens), (N, d, v) float64, of noisy tokens (N, d) at noise levels (N,) "
           "or one level for all.")
      .def_property_readonly("channel", [](const BPDenoiser& oracle) { return channel_name(oracle.channel); },
                             "The channel the noisy tokens come from: 'mask' or 'uniform'.")
      .def("__repr__", [](const BPDenoiser& oracle) {
        return fmt::format("hdiff.BPDenoiser(channel={}, d={}, v={})", channel_name(oracle.channel),
                           sequence_length(oracle.grammar.params), oracle.grammar.params.v);
      });
  module.def(
      "bp_denoiser",
      [](const Grammar& grammar, const std::string& channel) { return BPDenoiser{grammar, denoiser_channel(channel)}; },
      py::arg("grammar"), py::arg("channel") = "mask",
      "Exact BP as a denoiser of `channel` ('mask' or 'uniform'): oracle(tokens, noise) -> (N, d, v) probabilities.");
  module.def("_denoiser_phase", &run_denoiser_phase, py::arg("grammar"), py::arg("fn"), py::arg("channel"),
             py::arg("noise"), py::arg("samples"), py::arg("trajectories"), py::arg("seed"), py::arg("uniform_steps"),
             py::arg("threads") = 0, py::arg("progress") = py::none(),
             "The comparison table as CSV text; see hdiff.denoiser_phase.");
  module.def("_compare_losses", &run_compare_losses, py::arg("grammar"), py::arg("fn"), py::arg("channel"),
             py::arg("noise"), py::arg("clean"), py::arg("seed"), py::arg("threads") = 0,
             "The loss table as CSV text; see hdiff.compare_losses.");
  module.def("generate", &run_generate, py::arg("grammar"), py::arg("fn"), py::arg("channel") = "mask",
             py::arg("count") = 1000, py::arg("uniform_steps") = 100, py::arg("seed") = 0, py::arg("threads") = 0,
             py::arg("dtype") = py::none(),
             R"(Generate strings from pure noise with a denoiser.

mask: from all-MASK strings, one uniformly chosen masked position is unmasked
at a time, its token drawn from fn's row at noise (masked positions)/d.
uniform: from uniform tokens at step T = uniform_steps, the ancestral chain
k = T..1 draws x_{k-1} from fn's prediction of x0 at noise 1 - alpha_bar_k.
fn is called with batches of up to 4096 strings (fewer for long strings).

Returns int64 tokens (count, d) (or the dtype asked for). Identical for any
thread count and seed-determined.)");
  module.def("sample_quality", &run_sample_quality, py::arg("grammar"), py::arg("generated"),
             py::arg("training") = py::none(),
             "How good generated strings (n, d) are: {'validity': float64 per level 0..L-1 (fraction of valid nodes, a "
             "node valid when its whole subtree parses), 'valid': fraction valid at the root, 'copied': fraction equal "
             "to a training string, 'valid_new': fraction valid and not copied}.");
}

}  // namespace hdiff::python
