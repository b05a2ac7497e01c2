#include "ir/infer/common.h"

namespace ferry::ir::infer {

void register_ferry_attention() {
}

}  // namespace ferry::ir::infer
