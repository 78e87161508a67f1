#pragma once
// Shared pieces of the Python module's bindings: the registration of each part
// and the scopes every long call runs in.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cxxabi.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/npy.h"
#include "grammar/grammar.h"

namespace hdiff::python {

namespace py = pybind11;

// Registers Grammar, Samples, corrupt and sample.
void register_grammar(py::module_& module);
// Registers denoise and its result type.
void register_denoise(py::module_& module);
// Registers the phase experiment and the theory functions.
void register_experiment(py::module_& module);
// Registers the measurements of a user's denoiser against exact BP (denoiser_bindings.cpp).
void register_denoiser(py::module_& module);

// A NumPy array viewing `values` without a copy: a capsule owns the moved vector
// and is the array's base, so the array outlives whatever returned it.
template <typename T>
py::array owned_array(std::vector<T>&& values, const std::vector<py::ssize_t>& shape) {
  auto* owner = new std::vector<T>(std::move(values));
  py::capsule capsule(owner, [](void* pointer) { delete static_cast<std::vector<T>*>(pointer); });
  return py::array_t<T>(shape, owner->data(), capsule);
}

// The dtype of returned tokens: int64 when `requested` is None (what
// torch.from_numpy and most ML code take), else the integer dtype asked for,
// which must hold values up to max_value; ValueError otherwise. Called before
// the work, so that a bad dtype fails at once.
py::dtype token_dtype(const py::object& requested, uint64_t max_value);

// Tokens computed as uint32 handed over as `dtype` (from token_dtype): uint32
// and int64 arrays view a buffer their capsule owns; other dtypes are one cast.
py::array token_array(std::vector<uint32_t>&& values, const std::vector<py::ssize_t>& shape, const py::dtype& dtype);

// Integer or float input as read by a computation: a view of the caller's array
// when it already has the fitting layout and dtype, else one converted copy.
struct InputTokens {
  py::array keep_alive;            // the array viewed, held while the view is used
  std::vector<uint32_t> converted; // the copy, when one was needed
  std::span<const uint32_t> tokens;
  std::vector<int64_t> shape;
};

// Floats input, as InputTokens.
struct InputValues {
  py::array keep_alive;
  std::vector<double> converted;
  std::span<const double> values;
  std::vector<int64_t> shape;
};

// `object` as a NumPy array (an array as is, a list converted); `what` names it in errors.
py::array as_array(const py::object& object, const std::string& what);
// The shape of a NumPy array.
std::vector<int64_t> shape_of(const py::array& array);
// Reads integer tokens (any integer dtype) with values in [0, max_value]; `what` names the array in errors.
InputTokens read_tokens(const py::array& array, const std::string& what, uint64_t max_value);
// Reads finite float32 or float64 values; `what` names the array in errors.
InputValues read_values(const py::array& array, const std::string& what);

// Sets the OpenMP thread count for the life of the scope (0 = the default) and restores it after.
class ThreadScope {
 public:
  // `threads` must lie in [0, 1024], as for --threads.
  explicit ThreadScope(int threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
};

// Called by long computations between units of work (GIL released): takes the GIL
// and throws py::error_already_set when Python has a pending signal (Ctrl-C).
// Only for Python's main thread: see python_signal_check.
void check_python_signals();

// The signal check a long computation started now (GIL held) calls between units
// of work: check_python_signals on Python's main thread; nothing on any other
// thread, where Python runs no signal handler and where taking the GIL while the
// interpreter shuts down (a daemon thread still running when Python exits) makes
// Python end the thread with pthread_exit, whose unwinding through a parallel
// loop's catch (...) aborts the process ("terminate called without an active
// exception").
std::function<void()> python_signal_check();

// Runs work() with the GIL released and returns its result (or rethrows its
// error) with the GIL held again. Unlike py::gil_scoped_release, the GIL is taken
// back in plain code, not in a destructor: if the interpreter shuts down
// meanwhile, Python ends this (daemon) thread with pthread_exit there, and its
// unwinding passes through plain frames cleanly where, out of a destructor, it
// would abort the process.
template <typename Work>
auto without_gil(Work&& work) -> decltype(work()) {
  using Result = decltype(work());
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<Result>, bool, Result>> result;
  PyThreadState* state = PyEval_SaveThread();
  try {
    if constexpr (std::is_void_v<Result>) {
      work();
      result.emplace(true);
    } else {
      result.emplace(work());
    }
  } catch (abi::__forced_unwind&) {
    throw;  // a thread being ended is never stopped
  } catch (...) {
    error = std::current_exception();
  }
  PyEval_RestoreThread(state);
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<Result>) return std::move(*result);
}

}  // namespace hdiff::python
