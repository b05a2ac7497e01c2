// Sub-family registrations of the text (string) ops; register_text_kernels (cpu_provider.h)
// calls each once.
#pragma once

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

void register_string_normalizer_kernels(KernelRegistry& r);  // text/string_normalizer.cc
void register_string_kernels(KernelRegistry& r);  // text/strings.cc: StringConcat StringSplit RegexFullMatch
void register_tfidf_kernels(KernelRegistry& r);   // text/tfidf_vectorizer.cc: TfIdfVectorizer

}  // namespace ferry::ep::cpu
