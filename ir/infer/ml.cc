// Inference for the ai.onnx.ml ops (LabelEncoder, TreeEnsemble, Binarizer,
// ArrayFeatureExtractor), the ai.onnx.preview.training optimizers (Adagrad, Adam, Momentum) and
// the random generators (RandomNormal, RandomUniform, *Like, Bernoulli, Multinomial).
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

const char* kMl = "ai.onnx.ml";
const char* kTraining = "ai.onnx.preview.training";

/// Input i's shape as it is (unknown rank stays unknown).
Shape shape_of(const InferenceContext& ctx, size_t i) {
  const Shape* s = ranked_shape(ctx, i);
  return s ? *s : Shape::unknown();
}

DataType dtype_attr(const Node& n, DataType dflt) {
  const Attribute* a = n.find_attribute("dtype");
  return a ? static_cast<DataType>(a->i) : dflt;
}

void same_as_input(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), shape_of(ctx, 0)));
}

void label_encoder(InferenceContext& ctx) {
  const Node& n = ctx.node();
  DataType out = DataType::kUndefined;
  if (ctx.opset() < 2) {
    const DataType in = input_dtype(ctx, 0);
    if (in == DataType::kString) out = DataType::kInt64;
    else if (in == DataType::kInt64) out = DataType::kString;
  } else if (const Attribute* v = n.find_attribute("values_tensor")) {
    out = v->t.dtype();
  } else if (n.find_attribute("values_strings")) {
    out = DataType::kString;
  } else if (n.find_attribute("values_int64s")) {
    out = DataType::kInt64;
  } else if (n.find_attribute("values_floats")) {
    out = DataType::kFloat;
  }
  ctx.set_output_type(0, Type::tensor(out, shape_of(ctx, 0)));
}

void tree_ensemble(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (x && x->rank() != 2) ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank 2 [N, F]");
  const Dim rows = x ? x->dims[0] : ctx.fresh_dim();
  const int64_t targets = ctx.node().get_int("n_targets", 0);
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), Shape({rows, targets > 0 ? Dim(targets) : ctx.fresh_dim()})));
}

void array_feature_extractor(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* y = ranked_shape(ctx, 1);
  Dim count = ctx.fresh_dim();
  if (y && y->is_fully_constant()) {
    int64_t c = 1;
    for (const Dim& d : y->dims) c *= d.value();
    count = Dim(c);
  }
  if (!x) {
    ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0)));
    return;
  }
  std::vector<Dim> dims = x->rank() <= 1 ? std::vector<Dim>{Dim(1)} : x->dims;
  if (x->rank() <= 1) dims.push_back(count);
  else dims.back() = count;
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), Shape(dims)));
}

/// Optimizers: inputs R, T, then `groups` groups of n tensors (X, G, states...); outputs the
/// groups except G, each output typed as the input it updates.
void optimizer(InferenceContext& ctx, size_t groups) {
  const size_t inputs = ctx.input_count();
  if (inputs < 2 + groups || (inputs - 2) % groups != 0)
    ctx.fail("expected R, T and " + std::to_string(groups) + " groups of n tensors, got " + std::to_string(inputs) + " inputs");
  const size_t n = (inputs - 2) / groups;
  for (size_t o = 0; o < ctx.output_count(); ++o) {
    const size_t group = o / n == 0 ? 0 : o / n + 1;  // skip G
    const size_t in = 2 + group * n + o % n;
    if (in < inputs) ctx.set_output_type(o, Type::tensor(input_dtype(ctx, in), shape_of(ctx, in)));
  }
}

void random_from_attrs(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const std::vector<int64_t> shape = n.get_ints("shape");
  for (int64_t d : shape)
    if (d < 0) ctx.fail("attribute 'shape' holds a negative dim " + std::to_string(d));
  ctx.set_output_type(0, Type::tensor(dtype_attr(n, DataType::kFloat), Shape::from_ints(shape)));
}

void random_like(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(dtype_attr(ctx.node(), input_dtype(ctx, 0)), shape_of(ctx, 0)));
}

void multinomial(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (x && x->rank() != 2) ctx.fail("input has shape " + x->to_string() + ", expected rank 2 [batch_size, class_size]");
  const Dim batch = x ? x->dims[0] : ctx.fresh_dim();
  const int64_t samples = ctx.node().get_int("sample_size", 1);
  ctx.set_output_type(0, Type::tensor(dtype_attr(ctx.node(), DataType::kInt32), Shape({batch, Dim(samples)})));
}

}  // namespace

void register_ml_training_random() {
  register_inference(kMl, "LabelEncoder", 1, label_encoder);
  register_inference(kMl, "TreeEnsemble", 5, tree_ensemble);
  register_inference(kMl, "Binarizer", 1, same_as_input);
  register_inference(kMl, "ArrayFeatureExtractor", 1, array_feature_extractor);
  register_inference(kTraining, "Adagrad", 1, [](InferenceContext& c) { optimizer(c, 3); });
  register_inference(kTraining, "Adam", 1, [](InferenceContext& c) { optimizer(c, 4); });
  register_inference(kTraining, "Momentum", 1, [](InferenceContext& c) { optimizer(c, 3); });
  register_inference("", "RandomNormal", 1, random_from_attrs);
  register_inference("", "RandomUniform", 1, random_from_attrs);
  register_inference("", "RandomNormalLike", 1, random_like);
  register_inference("", "RandomUniformLike", 1, random_like);
  register_inference("", "Bernoulli", 15, random_like);
  register_inference("", "Multinomial", 7, multinomial);
}

}  // namespace ferry::ir::infer
