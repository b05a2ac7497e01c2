#include "runtime/providers.h"

#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::runtime {

namespace {
ep::cpu::CpuProvider& cpu_provider() {
  static ep::cpu::CpuProvider provider;  // thread-safe initialisation
  return provider;
}
}  // namespace

std::vector<std::string> provider_names() { return {"CPUExecutionProvider"}; }

ep::ExecutionProvider* find_provider(const std::string& name) {
  if (name == "CPUExecutionProvider") return &cpu_provider();
  return nullptr;
}

}  // namespace ferry::runtime
