#include "ir/ferry_schemas.h"

namespace ferry::ir {

std::vector<OpSchema> ferry_attention_schemas() {
  return {
  };
}

}  // namespace ferry::ir
