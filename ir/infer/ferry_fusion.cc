#include "ir/infer/common.h"

namespace ferry::ir::infer {

void register_ferry_fusion() {
}

}  // namespace ferry::ir::infer
