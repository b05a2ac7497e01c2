#include "ir/ferry_schemas.h"

namespace ferry::ir {

std::vector<OpSchema> ferry_norm_schemas() {
  return {
  };
}

}  // namespace ferry::ir
