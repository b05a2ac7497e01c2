#include "numpy_tensor.h"

#include <cstring>
#include <string>

namespace ferry::python {

namespace {

struct MlDtype {
  const char* name;
  DataType dtype;
};
// ml_dtypes' extension types, by numpy dtype name.
constexpr MlDtype kMlDtypes[] = {
    {"bfloat16", DataType::kBFloat16},           {"float8_e4m3fn", DataType::kFloat8E4M3FN},
    {"float8_e4m3fnuz", DataType::kFloat8E4M3FNUZ}, {"float8_e5m2", DataType::kFloat8E5M2},
    {"float8_e5m2fnuz", DataType::kFloat8E5M2FNUZ}, {"float8_e8m0fnu", DataType::kFloat8E8M0},
    {"int4", DataType::kInt4},                   {"uint4", DataType::kUInt4},
    {"float4_e2m1fn", DataType::kFloat4E2M1},    {"int2", DataType::kInt2},
    {"uint2", DataType::kUInt2},
};

bool is_packed(DataType t) { return dtype_bits(t) < 8; }

[[noreturn]] void invalid(const std::string& msg) { throw Error(ErrorCode::kInvalidArgument, msg); }

}  // namespace

DataType dtype_from_numpy(const py::dtype& dt) {
  std::string name = py::str(dt);
  for (const MlDtype& m : kMlDtypes)
    if (name == m.name) return m.dtype;
  char kind = dt.kind();
  auto size = dt.itemsize();
  switch (kind) {
    case 'f':
      return size == 2 ? DataType::kFloat16 : size == 4 ? DataType::kFloat : size == 8 ? DataType::kDouble
                                                                                    : DataType::kUndefined;
    case 'i':
      return size == 1 ? DataType::kInt8 : size == 2 ? DataType::kInt16 : size == 4 ? DataType::kInt32
             : size == 8 ? DataType::kInt64 : DataType::kUndefined;
    case 'u':
      return size == 1 ? DataType::kUInt8 : size == 2 ? DataType::kUInt16 : size == 4 ? DataType::kUInt32
             : size == 8 ? DataType::kUInt64 : DataType::kUndefined;
    case 'b': return DataType::kBool;
    case 'c': return size == 8 ? DataType::kComplex64 : size == 16 ? DataType::kComplex128 : DataType::kUndefined;
    case 'U': case 'S': case 'O': return DataType::kString;
    default: return DataType::kUndefined;
  }
}

py::dtype numpy_dtype(DataType t) {
  switch (t) {
    case DataType::kFloat: return py::dtype("float32");
    case DataType::kDouble: return py::dtype("float64");
    case DataType::kFloat16: return py::dtype("float16");
    case DataType::kInt8: return py::dtype("int8");
    case DataType::kInt16: return py::dtype("int16");
    case DataType::kInt32: return py::dtype("int32");
    case DataType::kInt64: return py::dtype("int64");
    case DataType::kUInt8: return py::dtype("uint8");
    case DataType::kUInt16: return py::dtype("uint16");
    case DataType::kUInt32: return py::dtype("uint32");
    case DataType::kUInt64: return py::dtype("uint64");
    case DataType::kBool: return py::dtype("bool");
    case DataType::kComplex64: return py::dtype("complex64");
    case DataType::kComplex128: return py::dtype("complex128");
    case DataType::kString: return py::dtype("object");
    default: break;
  }
  for (const MlDtype& m : kMlDtypes) {
    if (m.dtype != t) continue;
    try {
      py::module_ ml = py::module_::import("ml_dtypes");
      return py::dtype::from_args(ml.attr(m.name));
    } catch (const py::error_already_set&) {
      throw Error(ErrorCode::kNotImplemented,
                  std::string("numpy has no ") + std::string(dtype_name(t)) +
                      " type; install the ml_dtypes package to exchange such tensors");
    }
  }
  throw Error(ErrorCode::kNotImplemented,
              "no numpy type for Ferry type " + std::string(dtype_name(t)));
}

Tensor tensor_from_python(const std::string& name, py::handle obj, std::vector<py::object>& keep) {
  py::module_ np = py::module_::import("numpy");
  py::array arr;
  if (py::isinstance<py::array>(obj)) arr = py::reinterpret_borrow<py::array>(obj);
  else arr = np.attr("asarray")(obj);

  std::vector<int64_t> shape(arr.shape(), arr.shape() + arr.ndim());
  DataType dt = dtype_from_numpy(arr.dtype());
  if (dt == DataType::kUndefined)
    invalid("input '" + name + "': numpy dtype " + std::string(py::str(arr.dtype())) +
            " has no ONNX equivalent");

  if (dt == DataType::kString) {
    Tensor t = Tensor::empty(DataType::kString, shape);
    py::list items = arr.attr("reshape")(-1).attr("tolist")();
    std::string* out = t.data<std::string>();
    for (size_t i = 0; i < items.size(); ++i) {
      py::handle item = items[i];
      if (py::isinstance<py::str>(item)) out[i] = item.cast<std::string>();
      else if (py::isinstance<py::bytes>(item)) out[i] = std::string(py::reinterpret_borrow<py::bytes>(item));
      else
        invalid("input '" + name + "': element " + std::to_string(i) + " of the string array is a " +
                std::string(py::str(py::type::of(item).attr("__name__"))) + ", not str or bytes");
    }
    return t;
  }

  int flags = py::detail::array_proxy(arr.ptr())->flags;
  bool contiguous = (flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) &&
                    (flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_);
  if (!contiguous) arr = np.attr("ascontiguousarray")(arr);

  if (is_packed(dt)) {
    // ml_dtypes stores one 4-/2-bit value per byte; ONNX packs them, low bits first.
    Tensor t = Tensor::zeros(dt, shape);
    size_t bits = dtype_bits(dt);
    auto* in = static_cast<const uint8_t*>(arr.data());
    auto* out = static_cast<uint8_t*>(t.raw_data());
    for (int64_t i = 0; i < t.element_count(); ++i) {
      size_t bit = static_cast<size_t>(i) * bits;
      out[bit / 8] |= static_cast<uint8_t>((in[i] & ((1u << bits) - 1)) << (bit % 8));
    }
    return t;
  }
  keep.push_back(arr);
  return Tensor::view(dt, shape, const_cast<void*>(arr.data()));
}

py::object tensor_to_numpy(const Tensor& t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  if (t.dtype() == DataType::kString) {
    py::list flat;
    const std::string* s = t.data<std::string>();
    for (int64_t i = 0; i < t.element_count(); ++i) {
      PyObject* u = PyUnicode_DecodeUTF8(s[i].data(), static_cast<py::ssize_t>(s[i].size()), "strict");
      if (u) {
        flat.append(py::reinterpret_steal<py::object>(u));
      } else {
        PyErr_Clear();
        flat.append(py::bytes(s[i]));
      }
    }
    py::module_ np = py::module_::import("numpy");
    py::object result = np.attr("empty")(t.element_count(), py::arg("dtype") = "object");
    for (size_t i = 0; i < flat.size(); ++i) result[py::int_(i)] = flat[i];
    return result.attr("reshape")(py::tuple(py::cast(shape)));
  }
  py::dtype dt = numpy_dtype(t.dtype());
  if (is_packed(t.dtype())) {
    py::array out(dt, shape);
    size_t bits = dtype_bits(t.dtype());
    bool sign = dtype_is_signed(t.dtype()) && dtype_is_integer(t.dtype());
    auto* in = static_cast<const uint8_t*>(t.raw_data());
    auto* o = static_cast<uint8_t*>(out.mutable_data());
    for (int64_t i = 0; i < t.element_count(); ++i) {
      size_t bit = static_cast<size_t>(i) * bits;
      uint8_t v = (in[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
      if (sign && (v & (1u << (bits - 1)))) v |= static_cast<uint8_t>(0xFFu << bits);
      o[i] = v;
    }
    return out;
  }
  // The array reads Ferry's buffer directly; the capsule keeps a handle to it alive.
  auto* holder = new Tensor(t);
  py::capsule keeper(holder, [](void* p) { delete static_cast<Tensor*>(p); });
  void* data = holder->raw_data();
  if (!data) return py::array(dt, shape);
  return py::array(dt, shape, {}, data, keeper);
}

}  // namespace ferry::python
