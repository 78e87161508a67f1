// The extension module hdiff._hdiff; the package hdiff (python/hdiff) re-exports it.
// hdiff's user errors become ValueError, its file errors OSError.

#include "bindings.h"
#include "common/error.h"
#include "common/version.h"

PYBIND11_MODULE(_hdiff, module) {
  namespace py = pybind11;
  module.doc() = "hdiff core: the Random Hierarchy Model, exact denoising, the phase experiment and its theory.";
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const hdiff::FileError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const hdiff::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  module.attr("__version__") = hdiff::version();
  hdiff::python::register_grammar(module);
  hdiff::python::register_denoise(module);
  hdiff::python::register_experiment(module);
  hdiff::python::register_denoiser(module);
}
