// Reading NumPy inputs in place or converting them once, and the thread-count
// and signal helpers of the bindings.

#include <omp.h>

#include "bindings.h"
#include "common/error.h"
#include "common/parallel.h"

namespace hdiff::python {
namespace {

// The hdiff dtype of a NumPy dtype; false for dtypes hdiff does not read.
bool hdiff_dtype(const py::dtype& dtype, DType& out) {
  const char kind = dtype.kind();
  const auto size = dtype.itemsize();
  if (kind == 'u' || kind == 'i') {
    const bool is_signed = kind == 'i';
    switch (size) {
      case 1: out = is_signed ? DType::i8 : DType::u8; return true;
      case 2: out = is_signed ? DType::i16 : DType::u16; return true;
      case 4: out = is_signed ? DType::i32 : DType::u32; return true;
      case 8: out = is_signed ? DType::i64 : DType::u64; return true;
      default: return false;
    }
  }
  if (kind == 'f' && (size == 4 || size == 8)) {
    out = size == 4 ? DType::f32 : DType::f64;
    return true;
  }
  return false;
}

// The array in C order, aligned and in native byte order: the caller's array
// when it is so already, else one copy (numpy.require copies only when needed).
py::array c_contiguous(const py::array& array) {
  py::module_ numpy = py::module_::import("numpy");
  return numpy.attr("require")(array, array.dtype().attr("newbyteorder")("="), "CA");
}

DType checked_dtype(const py::array& array, const std::string& what, const char* expected) {
  DType dtype{};
  if (!hdiff_dtype(array.dtype(), dtype))
    fail("{}: dtype {} is not {}", what, py::str(array.dtype()).cast<std::string>(), expected);
  return dtype;
}

}  // namespace

py::array as_array(const py::object& object, const std::string& what) {
  auto array = py::array::ensure(object);
  if (!array) fail("{}: cannot be read as an array; give a NumPy array or nested lists of numbers", what);
  return array;
}

std::vector<int64_t> shape_of(const py::array& array) {
  std::vector<int64_t> shape;
  for (py::ssize_t axis = 0; axis < array.ndim(); ++axis) shape.push_back(static_cast<int64_t>(array.shape(axis)));
  return shape;
}

InputTokens read_tokens(const py::array& array, const std::string& what, uint64_t max_value) {
  InputTokens input;
  input.shape = shape_of(array);
  input.keep_alive = c_contiguous(array);
  const DType dtype = checked_dtype(input.keep_alive, what, "an integer type; tokens must be integers");
  const auto count = static_cast<size_t>(input.keep_alive.size());
  if (dtype == DType::u32) {
    input.tokens = {static_cast<const uint32_t*>(input.keep_alive.data()), count};
    check_token_range(input.tokens, what, max_value);
  } else {
    input.converted = elements_to_u32(dtype, input.keep_alive.data(), count, what, max_value);
    input.tokens = input.converted;
  }
  return input;
}

InputValues read_values(const py::array& array, const std::string& what) {
  InputValues input;
  input.shape = shape_of(array);
  input.keep_alive = c_contiguous(array);
  const DType dtype = checked_dtype(input.keep_alive, what, "float32 or float64");
  const auto count = static_cast<size_t>(input.keep_alive.size());
  if (dtype == DType::f64) {
    input.values = {static_cast<const double*>(input.keep_alive.data()), count};
    check_finite(input.values, what);
  } else {
    input.converted = elements_to_f64(dtype, input.keep_alive.data(), count, what);
    input.values = input.converted;
  }
  return input;
}

py::dtype token_dtype(const py::object& requested, uint64_t max_value) {
  if (requested.is_none()) return py::dtype::of<int64_t>();
  py::dtype dtype;
  try {
    dtype = py::dtype::from_args(requested);
  } catch (const py::error_already_set&) {
    fail("dtype {} is not a NumPy dtype; give an integer dtype such as numpy.int64",
         py::repr(requested).cast<std::string>());
  }
  const std::string name = py::str(dtype).cast<std::string>();
  if (dtype.kind() != 'i' && dtype.kind() != 'u')
    fail("dtype {} is not an integer type; tokens are integers (e.g. numpy.int64, the default, or numpy.uint32)", name);
  const auto largest = py::module_::import("numpy").attr("iinfo")(dtype).attr("max").cast<uint64_t>();
  if (largest < max_value) fail("dtype {} cannot hold the token {}; give a wider integer type", name, max_value);
  return dtype;
}

py::array token_array(std::vector<uint32_t>&& values, const std::vector<py::ssize_t>& shape, const py::dtype& dtype) {
  const bool native = dtype.byteorder() == '=' || dtype.byteorder() == '|';
  if (native && dtype.num() == py::dtype::of<uint32_t>().num()) return owned_array(std::move(values), shape);
  if (native && dtype.num() == py::dtype::of<int64_t>().num()) {
    std::vector<int64_t> wide(values.begin(), values.end());
    values = {};
    return owned_array(std::move(wide), shape);
  }
  return owned_array(std::move(values), shape).attr("astype")(dtype);
}

ThreadScope::ThreadScope(int threads) : previous_(omp_get_max_threads()) {
  if (threads < 0 || threads > 1024) fail("threads '{}' must be an integer in [0, 1024] (0 = all cores)", threads);
  set_thread_count(threads);
}

ThreadScope::~ThreadScope() { omp_set_num_threads(previous_); }

void check_python_signals() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

std::function<void()> python_signal_check() {
  const py::module_ threading = py::module_::import("threading");
  if (threading.attr("current_thread")().is(threading.attr("main_thread")())) return check_python_signals;
  return [] {};
}

}  // namespace hdiff::python
