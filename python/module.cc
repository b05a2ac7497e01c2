// The _ferry extension: a thin layer over ferry::Session plus a few internal helpers that
// other modules' tests use (infer_types, load_and_serialize, print_model). The onnxruntime-
// style API lives in python/ferry/__init__.py on top of this.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "ferry/ferry.h"
#include "ir/printer.h"
#include "ir/schema.h"
#include "ir/shape_inference.h"
#include "numpy_tensor.h"
#include "onnx_import/onnx_import.h"
#include "optimizer/pipeline.h"

namespace py = pybind11;
using namespace ferry;

namespace ferry::python {
void bind_registry(py::module_& m);  // registry.cc
}

namespace {

PyObject* g_ferry_error = nullptr;
PyObject* g_invalid_argument = nullptr;
PyObject* g_invalid_model = nullptr;
PyObject* g_not_implemented = nullptr;
PyObject* g_runtime_error = nullptr;
PyObject* g_io_error = nullptr;

PyObject* make_exception(py::module_& m, const char* name, std::vector<PyObject*> bases,
                         const char* doc) {
  py::tuple b(bases.size());
  for (size_t i = 0; i < bases.size(); ++i) b[i] = py::reinterpret_borrow<py::object>(bases[i]);
  std::string qualified = std::string("ferry.") + name;  // shown as ferry.InvalidArgument
  PyObject* exc = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, b.ptr(), nullptr);
  if (!exc) throw py::error_already_set();
  m.add_object(name, py::handle(exc));
  return exc;
}

py::object shape_to_python(const ir::Shape& s) {
  if (!s.has_rank) return py::none();
  py::list dims;
  for (const ir::Dim& d : s.dims) {
    if (d.is_constant()) dims.append(d.value());
    else dims.append(d.to_string());
  }
  return dims;
}

py::list value_info_shape(const ValueInfo& v) {
  py::list dims;
  for (const DimInfo& d : v.shape) {
    if (d.is_fixed()) dims.append(d.value);
    else dims.append(d.symbol);
  }
  return dims;
}

std::unique_ptr<ir::Model> load_bytes(const py::bytes& b) {
  std::string data = b;
  py::gil_scoped_release release;
  return onnx_import::load_model_from_bytes(data.data(), data.size());
}

std::unique_ptr<Session> make_session(py::object path_or_bytes, const SessionOptions& options) {
  if (py::isinstance<py::bytes>(path_or_bytes) || py::isinstance<py::bytearray>(path_or_bytes) ||
      py::isinstance<py::memoryview>(path_or_bytes)) {
    std::string data = py::bytes(py::module_::import("builtins").attr("bytes")(path_or_bytes));
    py::gil_scoped_release release;
    return std::make_unique<Session>(Session::from_bytes(data.data(), data.size(), options));
  }
  py::object fspath = py::module_::import("os").attr("fspath");
  std::string path;
  try {
    path = py::str(fspath(path_or_bytes));
  } catch (const py::error_already_set&) {
    throw Error(ErrorCode::kInvalidArgument,
                "expected a model path or the model's bytes, got " +
                    std::string(py::str(py::type::of(path_or_bytes).attr("__name__"))));
  }
  py::gil_scoped_release release;
  return std::make_unique<Session>(path, options);
}

// Python -> Value by the input's declared type: a sequence takes a list of arrays, an optional
// takes None (empty) or what it may hold; anything else is a tensor.
Value value_from_python(const std::string& name, const std::string& declared, py::handle obj,
                        std::vector<py::object>& keep) {
  const bool optional = declared.rfind("optional(", 0) == 0;
  if (optional && obj.is_none()) return Value::none();
  const std::string inner = optional ? declared.substr(9, declared.size() - 10) : declared;
  if (inner.rfind("seq(", 0) == 0) {
    if (!py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj))
      throw Error(ErrorCode::kInvalidArgument, "input '" + name + "' is " + declared +
                                                   ": expected a list of arrays, got " +
                                                   std::string(py::str(py::type::of(obj).attr("__name__"))));
    std::vector<Value> items;
    DataType elem = DataType::kUndefined;
    size_t i = 0;
    for (py::handle item : obj) {
      Tensor t = python::tensor_from_python(name + "[" + std::to_string(i++) + "]", item, keep);
      elem = t.dtype();
      items.emplace_back(std::move(t));
    }
    if (items.empty()) {
      // seq(tensor(float)) -> float
      const size_t open = inner.find("tensor(");
      if (open != std::string::npos) {
        const std::string dt = inner.substr(open + 7, inner.find(')', open) - open - 7);
        for (int code = 0; code <= kMaxDataTypeCode; ++code)
          if (dtype_name(static_cast<DataType>(code)) == dt) elem = static_cast<DataType>(code);
      }
    }
    return Value::sequence(elem, std::move(items));
  }
  return python::tensor_from_python(name, obj, keep);
}

py::object value_to_python(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kTensor: return python::tensor_to_numpy(v.tensor());
    case Value::Kind::kSequence: {
      py::list out;
      for (const Value& x : v.items()) out.append(value_to_python(x));
      return out;
    }
    case Value::Kind::kOptional: return v.has_element() ? value_to_python(v.element()) : py::none();
    case Value::Kind::kMap: {
      py::dict out;
      py::list keys = python::tensor_to_numpy(v.map_keys()).attr("tolist")();
      py::list values = python::tensor_to_numpy(v.map_values()).attr("tolist")();
      for (size_t i = 0; i < keys.size(); ++i) out[keys[i]] = values[i];
      return out;
    }
    default: return py::none();
  }
}

py::list run_session(const Session& s, py::object output_names, py::dict feeds) {
  std::vector<std::string> names;
  if (!output_names.is_none()) {
    for (py::handle h : output_names) names.push_back(py::str(h));
  }
  std::vector<py::object> keep;  // arrays viewed by the feeds; released with the GIL held
  std::vector<NamedValue> inputs;
  for (auto [k, v] : feeds) {
    std::string name = py::str(k);
    std::string declared;
    for (const ValueInfo& info : s.inputs())
      if (info.name == name) declared = info.type;
    inputs.push_back({name, value_from_python(name, declared, v, keep)});
  }
  std::vector<Value> results;
  {
    py::gil_scoped_release release;
    results = s.run_values(inputs, names);
  }
  py::list out;
  for (const Value& v : results) out.append(value_to_python(v));
  return out;
}

}  // namespace

PYBIND11_MODULE(_ferry, m) {
  m.doc() = "Ferry inference engine (internal extension; use the ferry package)";

  g_ferry_error = make_exception(m, "FerryError", {PyExc_RuntimeError}, "An error reported by Ferry.");
  g_invalid_argument = make_exception(m, "InvalidArgument", {g_ferry_error, PyExc_ValueError},
                                      "Bad input from the caller: feeds, options, arguments.");
  g_invalid_model = make_exception(m, "InvalidModel", {g_ferry_error},
                                   "The model file or graph is malformed or violates the spec.");
  g_not_implemented = make_exception(m, "NotImplementedByFerry", {g_ferry_error, PyExc_NotImplementedError},
                                     "A valid model uses something this build cannot run.");
  g_runtime_error = make_exception(m, "RunError", {g_ferry_error}, "A failure while running.");
  g_io_error = make_exception(m, "FileError", {g_ferry_error, PyExc_OSError},
                              "A file could not be read or written.");

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyObject* type = g_ferry_error;
      switch (e.code()) {
        case ErrorCode::kInvalidArgument: type = g_invalid_argument; break;
        case ErrorCode::kInvalidModel: type = g_invalid_model; break;
        case ErrorCode::kNotImplemented: type = g_not_implemented; break;
        case ErrorCode::kRuntime: type = g_runtime_error; break;
        case ErrorCode::kIO: type = g_io_error; break;
      }
      PyErr_SetString(type, e.what());
    }
  });

  py::enum_<GraphOptimizationLevel>(m, "GraphOptimizationLevel")
      .value("ORT_DISABLE_ALL", GraphOptimizationLevel::kDisabled)
      .value("ORT_ENABLE_BASIC", GraphOptimizationLevel::kBasic)
      .value("ORT_ENABLE_EXTENDED", GraphOptimizationLevel::kExtended)
      .value("ORT_ENABLE_ALL", GraphOptimizationLevel::kAll);

  py::class_<SessionOptions>(m, "SessionOptions")
      .def(py::init<>())
      .def_readwrite("intra_op_num_threads", &SessionOptions::intra_op_num_threads)
      .def_readwrite("graph_optimization_level", &SessionOptions::graph_optimization_level)
      .def_readwrite("providers", &SessionOptions::providers)
      .def_readwrite("allow_cpu_fallback", &SessionOptions::allow_cpu_fallback)
      .def_readwrite("disabled_passes", &SessionOptions::disabled_passes)
      .def_readwrite("optimized_model_filepath", &SessionOptions::optimized_model_filepath)
      .def_readwrite("max_cached_plans", &SessionOptions::max_cached_plans)
      .def_readwrite("enable_profiling", &SessionOptions::enable_profiling)
      .def_readwrite("config_entries", &SessionOptions::config_entries)
      .def_readwrite("profile_file_prefix", &SessionOptions::profile_file_prefix);

  py::class_<ValueInfo>(m, "ValueInfo")
      .def_readonly("name", &ValueInfo::name)
      .def_readonly("type", &ValueInfo::type)
      .def_property_readonly("dtype", [](const ValueInfo& v) { return std::string(dtype_name(v.dtype)); })
      .def_property_readonly("shape", [](const ValueInfo& v) -> py::object {
        if (!v.has_rank) return py::none();
        return value_info_shape(v);
      })
      .def("__repr__", [](const ValueInfo& v) { return "ValueInfo('" + v.name + "', " + v.type + ")"; });

  py::class_<Session>(m, "Session")
      .def(py::init(&make_session), py::arg("path_or_bytes"), py::arg("options") = SessionOptions())
      .def("run", &run_session, py::arg("output_names"), py::arg("feeds"))
      .def_property_readonly("inputs", &Session::inputs)
      .def_property_readonly("outputs", &Session::outputs)
      .def("providers", &Session::providers)
      .def("model_info", [](const Session& s) {
        const ModelInfo& i = s.model_info();
        py::dict d;
        d["path"] = i.path;
        d["ir_version"] = i.ir_version;
        d["opset_imports"] = i.opset_imports;
        d["producer_name"] = i.producer_name;
        d["producer_version"] = i.producer_version;
        d["domain"] = i.domain;
        d["model_version"] = i.model_version;
        d["graph_name"] = i.graph_name;
        d["graph_doc_string"] = i.graph_doc_string;
        d["doc_string"] = i.doc_string;
        py::dict meta;
        for (const auto& [k, v] : i.metadata) meta[py::str(k)] = v;
        d["metadata"] = meta;
        d["op_histogram"] = i.op_histogram;
        d["node_count"] = i.node_count;
        d["parameter_count"] = i.parameter_count;
        d["parameter_bytes"] = i.parameter_bytes;
        d["released_parameter_bytes"] = i.released_parameter_bytes;
        return d;
      })
      .def("timings", [](const Session& s) {
        const SessionTimings& t = s.timings();
        py::dict d;
        d["load_ms"] = t.load_ms;
        d["infer_shapes_ms"] = t.infer_shapes_ms;
        d["optimize_ms"] = t.optimize_ms;
        d["partition_ms"] = t.partition_ms;
        d["prepare_kernels_ms"] = t.prepare_kernels_ms;
        d["total_ms"] = t.total_ms;
        return d;
      })
      .def("optimizer_report", [](const Session& s) {
        OptimizerReport r = s.optimizer_report();
        py::list passes;
        for (const OptimizerPassReport& p : r.passes) {
          py::dict d;
          d["name"] = p.name;
          d["ms"] = p.ms;
          d["nodes_before"] = p.nodes_before;
          d["nodes_after"] = p.nodes_after;
          d["changed_rounds"] = p.changed_rounds;
          passes.append(d);
        }
        py::dict d;
        d["passes"] = passes;
        d["rounds"] = r.rounds;
        d["nodes_before"] = r.nodes_before;
        d["nodes_after"] = r.nodes_after;
        d["total_ms"] = r.total_ms;
        return d;
      })
      .def("memory_plan", [](const Session& s, const std::map<std::string, std::vector<int64_t>>& shapes) {
        MemoryPlanReport r = s.memory_plan(shapes);
        py::dict d;
        d["peak_bytes"] = r.peak_bytes;
        d["total_bytes"] = r.total_bytes;
        d["planned_values"] = r.planned_values;
        d["dynamic_values"] = r.dynamic_values;
        d["in_place_values"] = r.in_place_values;
        d["view_values"] = r.view_values;
        return d;
      }, py::arg("input_shapes"))
      .def("cached_plan_count", &Session::cached_plan_count)
      .def("end_profiling", &Session::end_profiling)
      .def("profiling_start_time_ns", &Session::profiling_start_time_ns);

  m.def("available_providers", &available_providers);
  python::bind_registry(m);
  m.attr("__version__") = version();

  m.def("optimizer_pipeline", [] {
    py::list out;
    for (auto level : {GraphOptimizationLevel::kDisabled, GraphOptimizationLevel::kBasic,
                       GraphOptimizationLevel::kExtended, GraphOptimizationLevel::kAll}) {
      py::list names;
      for (const optimizer::Pass& p : optimizer::pipeline(level)) names.append(p.name);
      out.append(py::make_tuple(static_cast<int>(level), names));
    }
    return out;
  }, "Each optimization level's passes in order: [(level, [pass names])], levels ascending.");

  m.def("schemas", [](const std::string& domain) {
    py::list out;
    auto param = [](const ir::FormalParameter& f) {
      static const char* options[] = {"single", "optional", "variadic"};
      py::dict d;
      d["name"] = f.name;
      d["option"] = options[static_cast<int>(f.option)];
      d["type_constraint"] = f.type_constraint;
      d["min_arity"] = f.min_arity;
      return d;
    };
    for (const ir::OpSchema& s : ir::all_schemas()) {
      if (s.domain != domain) continue;
      py::dict d;
      d["domain"] = s.domain;
      d["name"] = s.name;
      d["since_version"] = s.since_version;
      d["deprecated"] = s.deprecated;
      d["doc"] = s.doc;
      py::list inputs, outputs, attributes, constraints;
      for (const auto& f : s.inputs) inputs.append(param(f));
      for (const auto& f : s.outputs) outputs.append(param(f));
      for (const ir::AttributeSpec& a : s.attributes) {
        py::dict ad;
        ad["name"] = a.name;
        ad["type"] = std::string(ir::attribute_type_name(a.type));
        ad["required"] = a.required;
        ad["default"] = a.default_value ? py::object(py::str(a.default_value->value_to_string())) : py::object(py::none());
        attributes.append(ad);
      }
      for (const auto& [name, allowed] : s.type_constraints) constraints.append(py::make_tuple(name, allowed));
      d["inputs"] = inputs;
      d["outputs"] = outputs;
      d["attributes"] = attributes;
      d["type_constraints"] = constraints;
      out.append(d);
    }
    return out;
  }, py::arg("domain"), "Every schema version of a domain (\"\" = ai.onnx, \"ferry\"), as dicts.");

  m.def("infer_types", [](const py::bytes& model_bytes) {
    std::unique_ptr<ir::Model> model = load_bytes(model_bytes);
    {
      py::gil_scoped_release release;
      ir::infer_shapes(*model);
    }
    py::dict out;
    for (const ir::Value* v : model->graph().values()) {
      const ir::Type& t = v->type();
      bool shaped = t.is_tensor() || t.kind == ir::Type::Kind::kSparseTensor;
      out[py::str(v->name())] = py::make_tuple(t.to_string(), shaped ? shape_to_python(t.shape) : py::none());
    }
    return out;
  }, py::arg("model_bytes"), "Every value of the main graph after shape inference: name -> (type, shape or None).");

  m.def("load_and_serialize", [](const py::bytes& model_bytes) {
    std::unique_ptr<ir::Model> model = load_bytes(model_bytes);
    std::string out;
    {
      py::gil_scoped_release release;
      out = onnx_import::serialize_model(*model);
    }
    return py::bytes(out);
  }, py::arg("model_bytes"), "Imports the model and exports it again as ONNX bytes.");

  m.def("print_model", [](const py::bytes& model_bytes) {
    std::unique_ptr<ir::Model> model = load_bytes(model_bytes);
    return ir::print_model(*model);
  }, py::arg("model_bytes"), "The model's textual IR.");
}
