// The execution providers this build offers, by name, in default priority order.
#pragma once

#include <string>
#include <vector>

#include "execution_providers/kernel.h"

namespace ferry::runtime {

/// Names in default priority order ("CPUExecutionProvider" last).
std::vector<std::string> provider_names();

/// The process-wide provider of that name (providers are stateless after construction and
/// shared by sessions); null when this build has none of that name.
ep::ExecutionProvider* find_provider(const std::string& name);

}  // namespace ferry::runtime
