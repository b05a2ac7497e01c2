// _ferry.registered_kernels(): every kernel registration of every provider in this build, for
// tools/gen_supported_ops.py (docs/supported_ops.md) and tests; _ferry.winograd_conv_runs(tile=0):
// how many convolutions ran on the Winograd path with that output tile (2 or 4; 0: either;
// execution_providers/cpu/dnnl/conv_winograd.h), for tests.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/dnnl/conv_winograd.h"

namespace py = pybind11;

namespace ferry::python {

void bind_registry(py::module_& m) {
  m.def("winograd_conv_runs", [](int tile) { return ep::cpu::winograd_conv_runs(tile); }, py::arg("tile") = 0);
  m.def("registered_kernels", [] {
    py::list out;
    ep::cpu::CpuProvider cpu;
    for (const ep::ExecutionProvider* provider : {static_cast<const ep::ExecutionProvider*>(&cpu)}) {
      for (const ep::KernelDef& def : provider->registry().all()) {
        py::list types;
        for (DataType t : def.types) types.append(std::string(dtype_name(t)));
        py::dict d;
        d["provider"] = provider->name();
        d["domain"] = def.domain;
        d["op_type"] = def.op_type;
        d["versions"] = def.versions;
        d["types"] = types;
        d["has_capability_check"] = static_cast<bool>(def.supports);
        out.append(d);
      }
    }
    return out;
  }, "Every kernel registration: provider, domain, op_type, versions, types.");
}

}  // namespace ferry::python
