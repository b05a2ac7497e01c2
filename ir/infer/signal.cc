// Inference for the spectral ops (DFT, STFT, MelWeightMatrix) and ImageDecoder.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

/// The single element of a scalar integer input as a dim, when known.
std::optional<Dim> scalar_dim(const InferenceContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return std::nullopt;
  const std::optional<std::vector<Dim>> v = ctx.input_value(i);
  if (!v || v->size() != 1) return std::nullopt;
  return (*v)[0];
}

void check_complex_dim(const InferenceContext& ctx, const Shape& s, const std::string& name) {
  const std::optional<int64_t> last = s.rank() ? const_of(s.dims.back()) : std::nullopt;
  if (s.rank() == 0 || (last && *last != 1 && *last != 2))
    ctx.fail("input '" + name + "' has shape " + s.to_string() + ", expected a last dimension of 1 (real) or 2 (complex)");
}

void dft(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(dt));
  check_complex_dim(ctx, *x, "input");
  const int64_t rank = static_cast<int64_t>(x->rank());
  const Node& n = ctx.node();
  const bool inverse = n.get_int("inverse", 0) != 0, onesided = n.get_int("onesided", 0) != 0;
  int64_t axis = ctx.opset() >= 20 ? -2 : n.get_int("axis", 1);
  bool axis_known = true;
  if (ctx.opset() >= 20 && ctx.has_input(2)) {
    const std::optional<std::vector<int64_t>> a = input_ints(ctx, 2);
    axis_known = a && a->size() == 1;
    if (axis_known) axis = (*a)[0];
  }
  std::vector<Dim> out = x->dims;
  out.back() = inverse && onesided ? 1 : 2;
  if (!axis_known) {  // the axis is data: every signal dim may change, unless no length changes
    if (!onesided && !ctx.has_input(1)) return ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
    for (int64_t i = 0; i + 1 < rank; ++i) out[i] = ctx.fresh_dim();
    return ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
  }
  if (rank < 2 || axis < -rank || axis > rank - 2 || axis == -1)
    ctx.fail("axis " + std::to_string(axis) + " is out of range for input " + x->to_string() + " (valid: [" +
             std::to_string(-rank) + ", -2] or [0, " + std::to_string(rank - 2) + "])");
  const size_t ax = static_cast<size_t>(axis < 0 ? axis + rank : axis);
  std::optional<Dim> len = scalar_dim(ctx, 1);
  if (!len && !ctx.has_input(1)) len = inverse && onesided ? (x->dims[ax] - 1) * 2 : x->dims[ax];
  if (!len) out[ax] = ctx.fresh_dim();
  else out[ax] = onesided && !inverse ? floor_div(*len, 2) + 1 : *len;
  ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
}

void stft(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(dt, Shape({ctx.fresh_dim(), ctx.fresh_dim(), ctx.fresh_dim(), 2})));
  if (x->rank() != 3) ctx.fail("input 'signal' has shape " + x->to_string() + ", expected [batch, signal_length, 1 or 2]");
  check_complex_dim(ctx, *x, "signal");
  const Shape* w = ctx.has_input(2) ? ranked_shape(ctx, 2) : nullptr;
  if (w && w->rank() != 1) ctx.fail("input 'window' has shape " + w->to_string() + ", expected rank 1");
  std::optional<Dim> fl = scalar_dim(ctx, 3);
  if (!fl && !ctx.has_input(3)) {
    if (w) fl = w->dims[0];
    else if (!ctx.has_input(2)) fl = x->dims[1];
  }
  const std::optional<Dim> step = scalar_dim(ctx, 1);
  const bool onesided = ctx.node().get_int("onesided", 1) != 0;
  const Dim frames = fl && step ? floor_div(x->dims[1] - *fl, *step) + 1 : ctx.fresh_dim();
  const Dim bins = fl ? (onesided ? floor_div(*fl, 2) + 1 : *fl) : ctx.fresh_dim();
  ctx.set_output_type(0, Type::tensor(dt, Shape({x->dims[0], frames, bins, 2})));
}

void mel_weight_matrix(InferenceContext& ctx) {
  const DataType dt = static_cast<DataType>(ctx.node().get_int("output_datatype", 1));
  const std::optional<Dim> mel_bins = scalar_dim(ctx, 0);
  const std::optional<Dim> dft_length = scalar_dim(ctx, 1);
  ctx.set_output_type(0, Type::tensor(dt, Shape({dft_length ? floor_div(*dft_length, 2) + 1 : ctx.fresh_dim(),
                                                 mel_bins ? *mel_bins : ctx.fresh_dim()})));
}

void image_decoder(InferenceContext& ctx) {
  const std::string f = ctx.node().get_string("pixel_format", "RGB");
  if (f != "RGB" && f != "BGR" && f != "Grayscale")
    ctx.fail("attribute 'pixel_format' is '" + f + "', expected RGB, BGR or Grayscale");
  ctx.set_output_type(0, Type::tensor(DataType::kUInt8,
                                      Shape({ctx.fresh_dim(), ctx.fresh_dim(), f == "Grayscale" ? 1 : 3})));
}

}  // namespace

void register_signal() {
  register_inference("", "DFT", 17, dft);
  register_inference("", "STFT", 17, stft);
  register_inference("", "MelWeightMatrix", 17, mel_weight_matrix);
  register_inference("", "ImageDecoder", 20, image_decoder);
}

}  // namespace ferry::ir::infer
