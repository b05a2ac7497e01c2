// Inference for the string ops StringNormalizer, StringConcat, StringSplit, RegexFullMatch and
// for TfIdfVectorizer. Lengths that depend on the strings (kept elements, substrings per
// element) are fresh dims, as in onnx.
#include <algorithm>
#include <limits>

#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

// [C] -> [C'], [1, C] -> [1, C']: C' counts the elements that are not stop words (C' = C
// without stop words, unless C is 0: then the output is one empty string).
void string_normalizer(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(DataType::kString));
  const auto rows = x->rank() == 2 ? const_of(x->dims[0]) : std::nullopt;
  if (x->rank() != 1 && (x->rank() != 2 || (rows && *rows != 1)))
    ctx.fail("input 'X' has shape " + x->to_string() + ", expected [C] or [1, C]");
  const auto c = const_of(x->dims.back());
  const bool kept_all = ctx.node().get_strings("stopwords").empty() && c && *c > 0;
  const Dim out = kept_all ? Dim(*c) : ctx.fresh_dim();
  ctx.set_output_type(0, Type::tensor(DataType::kString, x->rank() == 1 ? Shape({out}) : Shape({Dim(1), out})));
}

void string_concat(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(DataType::kString,
                                      broadcast_shapes(ctx, {ctx.input_type(0).shape, ctx.input_type(1).shape})));
}

// Y: X's shape plus the most substrings of any element; Z: substrings per element.
void string_split(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  Shape y = Shape::unknown();
  if (x) {
    y = *x;
    y.dims.push_back(ctx.fresh_dim());
  }
  ctx.set_output_type(0, Type::tensor(DataType::kString, y));
  if (ctx.output_count() > 1) ctx.set_output_type(1, Type::tensor(DataType::kInt64, x ? *x : Shape::unknown()));
}

void regex_full_match(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(DataType::kBool, ctx.input_type(0).shape));
}

// [C] -> [max(ngram_indexes) + 1], [N, C] -> [N, max(ngram_indexes) + 1].
void tfidf_vectorizer(InferenceContext& ctx) {
  const std::vector<int64_t> indexes = ctx.node().get_ints("ngram_indexes");
  if (indexes.empty()) ctx.fail("attribute 'ngram_indexes' is missing or empty");
  for (int64_t i : indexes)
    if (i < 0 || i == std::numeric_limits<int64_t>::max())
      ctx.fail("attribute 'ngram_indexes' holds " + std::to_string(i) + ", must be in [0, 2^63 - 1)");
  const Dim columns(*std::max_element(indexes.begin(), indexes.end()) + 1);
  const Shape* x = ranked_shape(ctx, 0);
  Shape y = Shape::unknown();
  if (x) {
    if (x->rank() > 2) ctx.fail("input 'X' has shape " + x->to_string() + ", expected [C] or [N, C]");
    y = x->rank() == 2 ? Shape({x->dims[0], columns}) : Shape({columns});
  }
  ctx.set_output_type(0, Type::tensor(DataType::kFloat, y));
}

}  // namespace

void register_text() {
  register_inference("", "StringNormalizer", 10, string_normalizer);
  register_inference("", "StringConcat", 20, string_concat);
  register_inference("", "StringSplit", 20, string_split);
  register_inference("", "RegexFullMatch", 20, regex_full_match);
  register_inference("", "TfIdfVectorizer", 9, tfidf_vectorizer);
}

}  // namespace ferry::ir::infer
