// numpy <-> ferry::Tensor for the bindings.
//
// Feeds: a C-contiguous, aligned numpy array of a matching dtype becomes a borrowed
// Tensor::view over the array's own buffer (zero copy; the array is kept alive in `keep` for
// the run). Anything else is converted once (non-contiguous arrays copied, str/object arrays
// turned into string tensors, ml_dtypes' 4-/2-bit types packed).
// Results: a numeric tensor becomes a numpy array over Ferry's buffer that keeps that buffer
// alive (no copy); strings become object arrays of str.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <vector>

#include "ferry/tensor.h"

namespace ferry::python {

namespace py = pybind11;

/// Ferry dtype of a numpy dtype; kUndefined when there is none.
DataType dtype_from_numpy(const py::dtype& dt);
/// numpy dtype for a Ferry dtype (ml_dtypes for bfloat16/float8/int4...). Throws
/// ferry::Error(kNotImplemented) when numpy has none (e.g. complex types without support).
py::dtype numpy_dtype(DataType t);

/// `name` is used in error messages.
Tensor tensor_from_python(const std::string& name, py::handle obj, std::vector<py::object>& keep);
py::object tensor_to_numpy(const Tensor& t);

}  // namespace ferry::python
