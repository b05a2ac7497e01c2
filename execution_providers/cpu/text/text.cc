#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/text/text.h"

namespace ferry::ep::cpu {

void register_text_kernels(KernelRegistry& r) {
  register_string_normalizer_kernels(r);
  register_string_kernels(r);
  register_tfidf_kernels(r);
}

}  // namespace ferry::ep::cpu
