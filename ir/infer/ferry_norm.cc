#include "ir/infer/common.h"

namespace ferry::ir::infer {

void register_ferry_norm() {
}

}  // namespace ferry::ir::infer
