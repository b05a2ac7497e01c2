// Inference for the extended nn ops: Resize/Upsample, ConvTranspose, the normalizations, pools
// beyond the foundation's, Einsum, GridSample, AffineGrid, RoiAlign, NonMaxSuppression.
#include <cmath>
#include <map>

#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

void same_as_input(InferenceContext& ctx) { ctx.set_output_type(0, ctx.input_type(0)); }

/// Input i's floats when it is a constant float/double initializer.
std::optional<std::vector<double>> constant_floats(const InferenceContext& ctx, size_t i) {
  if (i >= ctx.input_count() || !ctx.has_input(i)) return std::nullopt;
  const Tensor* t = ctx.constant_input(i);
  if (t == nullptr) return std::nullopt;
  std::vector<double> v;
  if (t->dtype() == DataType::kFloat) for (float f : t->span<float>()) v.push_back(f);
  else if (t->dtype() == DataType::kDouble) for (double f : t->span<double>()) v.push_back(f);
  else return std::nullopt;
  return v;
}

void resize(InferenceContext& ctx, bool upsample) {
  const Node& n = ctx.node();
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(dt));
  const size_t rank = x->rank();
  std::vector<size_t> axes;
  for (int64_t a : n.get_ints("axes", {}))
    axes.push_back(static_cast<size_t>(normalize_axis(ctx, a, static_cast<int64_t>(rank), "axis")));
  if (axes.empty())
    for (size_t d = 0; d < rank; ++d) axes.push_back(d);
  std::vector<Dim> out(rank);
  for (size_t d = 0; d < rank; ++d) out[d] = x->dims[d];
  std::optional<std::vector<double>> scales;
  std::optional<std::vector<int64_t>> sizes;
  if (upsample && ctx.opset() < 9) {
    const std::vector<float> s = n.get_floats("scales", {});
    scales = std::vector<double>(s.begin(), s.end());
  } else {
    const size_t si = upsample || ctx.opset() < 11 ? 1 : 2;
    scales = constant_floats(ctx, si);
    if (scales && scales->empty()) scales.reset();
    if (!upsample && ctx.opset() >= 11 && ctx.input_count() > 3 && ctx.has_input(3)) sizes = input_ints(ctx, 3);
  }
  const std::string policy = n.get_string("keep_aspect_ratio_policy", "stretch");
  if (sizes && sizes->size() == axes.size() && policy == "stretch") {
    for (size_t i = 0; i < axes.size(); ++i) out[axes[i]] = Dim((*sizes)[i]);
  } else if (!sizes && scales && scales->size() == axes.size()) {
    for (size_t i = 0; i < axes.size(); ++i) {
      const Dim& d = x->dims[axes[i]];
      if (d.is_constant()) out[axes[i]] = Dim(static_cast<int64_t>((*scales)[i] * static_cast<double>(d.value())));
      else if ((*scales)[i] != 1.0) out[axes[i]] = ctx.fresh_dim();
    }
  } else {
    for (size_t d : axes) out[d] = ctx.fresh_dim();
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

void layer_norm(InferenceContext& ctx) {
  const Type& x = ctx.input_type(0);
  ctx.set_output_type(0, x);
  const DataType stat = x.elem == DataType::kDouble ? DataType::kDouble : DataType::kFloat;
  Shape s = Shape::unknown();
  if (x.shape.has_rank && x.shape.rank() > 0) {
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    const size_t axis = static_cast<size_t>(normalize_axis(ctx, ctx.node().get_int("axis", -1), rank, "axis"));
    std::vector<Dim> d = x.shape.dims;
    for (size_t i = axis; i < d.size(); ++i) d[i] = Dim(1);
    s = Shape(std::move(d));
  }
  for (size_t i = 1; i < ctx.output_count() && i < 3; ++i) ctx.set_output_type(i, Type::tensor(stat, s));
}


void conv_transpose(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* w = ranked_shape(ctx, 1);
  if (!x) return ctx.set_output_type(0, Type::tensor(dt));
  if (x->rank() < 3) ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank >= 3 (N, C, spatial dims)");
  const size_t nd = x->rank() - 2;
  const int64_t group = n.get_int("group", 1);
  std::vector<Dim> out = {x->dims[0]};
  if (w && w->rank() == x->rank()) out.push_back(w->dims[1] * Dim(group));
  else out.push_back(ctx.fresh_dim());
  const std::vector<int64_t> output_shape = n.get_ints("output_shape", {});
  std::vector<int64_t> kernel = n.get_ints("kernel_shape", {});
  if (kernel.empty() && w && w->rank() == x->rank()) {
    for (size_t i = 0; i < nd; ++i) {
      if (!w->dims[2 + i].is_constant()) {
        kernel.clear();
        break;
      }
      kernel.push_back(w->dims[2 + i].value());
    }
  }
  auto get = [&](const char* name, size_t count, int64_t dflt) {
    std::vector<int64_t> v = n.get_ints(name, {});
    if (v.empty()) v.assign(count, dflt);
    if (v.size() != count)
      ctx.fail(std::string("attribute '") + name + "' has " + std::to_string(v.size()) + " values, expected " +
               std::to_string(count));
    return v;
  };
  const std::vector<int64_t> strides = get("strides", nd, 1), dil = get("dilations", nd, 1),
                             pads = get("pads", 2 * nd, 0), opad = get("output_padding", nd, 0);
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  for (size_t i = 0; i < nd; ++i) {
    if (!output_shape.empty()) {
      const size_t off = output_shape.size() == nd + 2 ? 2 : 0;
      if (output_shape.size() != nd + off) ctx.fail("attribute 'output_shape' has " + std::to_string(output_shape.size()) + " values");
      out.push_back(Dim(output_shape[i + off]));
      continue;
    }
    if (kernel.size() != nd) {
      out.push_back(ctx.fresh_dim());
      continue;
    }
    const Dim& in = x->dims[2 + i];
    const int64_t eff = (kernel[i] - 1) * dil[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out.push_back(in * Dim(strides[i]));
    } else {
      const int64_t p = auto_pad == "VALID" ? 0 : pads[i] + pads[i + nd];
      if (in.is_constant()) {
        const int64_t o = strides[i] * (in.value() - 1) + opad[i] + eff - p;
        if (o < 0) ctx.fail("output spatial dim " + std::to_string(i) + " would be negative (" + std::to_string(o) + ")");
        out.push_back(Dim(o));
      } else {
        out.push_back(ctx.fresh_dim());
      }
    }
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}


/// Einsum: output rank and dims from the equation (letters, ellipsis right-aligned).
void einsum(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  std::string eq;
  for (char c : ctx.node().get_string("equation", "")) if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = arrow == std::string::npos ? eq : eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ctx.input_count())
    ctx.fail("equation '" + eq + "' has " + std::to_string(terms.size()) + " operands but the node has " +
             std::to_string(ctx.input_count()) + " inputs");
  std::map<char, Dim> dims;
  std::map<char, int> count;
  std::vector<Dim> ell;
  for (size_t i = 0; i < terms.size(); ++i) {
    const Shape* s = ranked_shape(ctx, i);
    if (!s) return ctx.set_output_type(0, Type::tensor(dt));
    const std::string& t = terms[i];
    const size_t e = t.find("...");
    const std::string letters = e == std::string::npos ? t : t.substr(0, e) + t.substr(e + 3);
    if (s->rank() < letters.size() || (e == std::string::npos && s->rank() != letters.size()))
      ctx.fail("input " + std::to_string(i) + " " + s->to_string() + " does not match term '" + t + "'");
    const size_t extra = s->rank() - letters.size();
    size_t d = 0;
    for (size_t k = 0; k < t.size(); ++k) {
      if (t.compare(k, 3, "...") == 0) {
        if (extra > ell.size()) ell.insert(ell.begin(), extra - ell.size(), Dim(1));
        for (size_t j = 0; j < extra; ++j) {
          Dim& slot = ell[ell.size() - extra + j];
          const Dim& v = s->dims[d + j];
          if (slot.is_constant() && slot.value() == 1) slot = v;
        }
        d += extra;
        k += 2;
        continue;
      }
      const Dim& v = s->dims[d++];
      auto it = dims.find(t[k]);
      if (it == dims.end() || (it->second.is_constant() && it->second.value() == 1)) dims[t[k]] = v;
      ++count[t[k]];
    }
  }
  std::vector<Dim> out;
  if (arrow != std::string::npos) {
    const std::string o = eq.substr(arrow + 2);
    for (size_t k = 0; k < o.size(); ++k) {
      if (o.compare(k, 3, "...") == 0) {
        out.insert(out.end(), ell.begin(), ell.end());
        k += 2;
        continue;
      }
      auto it = dims.find(o[k]);
      if (it == dims.end()) ctx.fail("output label '" + o.substr(k, 1) + "' appears in no input");
      out.push_back(it->second);
    }
  } else {
    out = ell;
    for (const auto& [c, n] : count)
      if (n == 1) out.push_back(dims[c]);
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}


void grid_sample(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* g = ranked_shape(ctx, 1);
  if (!x || !g) return ctx.set_output_type(0, Type::tensor(dt));
  if (g->rank() != x->rank() || x->rank() < 3)
    ctx.fail("grid " + g->to_string() + " must have the rank of X " + x->to_string() + " (>= 3)");
  std::vector<Dim> out = {x->dims[0], x->dims[1]};
  for (size_t d = 1; d + 1 < g->rank(); ++d) out.push_back(g->dims[d]);
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

void affine_grid(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  auto size = ctx.input_value(1);
  if (!size) {
    // Unknown sizes, known count: the rank is known, N is theta's first dim, the rest are open.
    const Shape* s = ranked_shape(ctx, 1);
    if (!s || s->rank() != 1 || !s->dims[0].is_constant()) return ctx.set_output_type(0, Type::tensor(dt));
    const Shape* theta = ranked_shape(ctx, 0);
    size.emplace();
    for (int64_t i = 0; i < s->dims[0].value() && i < 6; ++i)
      size->push_back(i == 0 && theta && theta->rank() == 3 ? theta->dims[0] : ctx.fresh_dim());
  }
  if (size->size() != 4 && size->size() != 5) return ctx.set_output_type(0, Type::tensor(dt));
  std::vector<Dim> out = {(*size)[0]};
  for (size_t d = 2; d < size->size(); ++d) out.push_back((*size)[d]);
  out.push_back(Dim(static_cast<int64_t>(size->size() - 2)));
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}


void lp_pool(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(dt));
  if (x->rank() < 3) ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank >= 3");
  const size_t nd = x->rank() - 2;
  const std::vector<int64_t> kernel = n.get_ints("kernel_shape", {});
  if (kernel.size() != nd) ctx.fail("attribute 'kernel_shape' must have " + std::to_string(nd) + " values");
  auto get = [&](const char* name, size_t count, int64_t dflt) {
    std::vector<int64_t> v = n.get_ints(name, {});
    return v.size() == count ? v : std::vector<int64_t>(count, dflt);
  };
  const std::vector<int64_t> strides = get("strides", nd, 1), pads = get("pads", 2 * nd, 0);
  const std::vector<int64_t> dil = ctx.opset() >= 18 ? get("dilations", nd, 1) : std::vector<int64_t>(nd, 1);
  const bool ceil_mode = ctx.opset() >= 18 && n.get_int("ceil_mode", 0) != 0;
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  std::vector<Dim> out = {x->dims[0], x->dims[1]};
  for (size_t i = 0; i < nd; ++i) {
    const Dim& in = x->dims[2 + i];
    const int64_t eff = (kernel[i] - 1) * dil[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out.push_back(ceil_div(in, Dim(strides[i])));
    } else if (!in.is_constant()) {
      out.push_back(ctx.fresh_dim());
    } else {
      const int64_t p = auto_pad == "VALID" ? 0 : pads[i] + pads[i + nd];
      const int64_t span = in.value() + p - eff;
      if (span < 0) ctx.fail("input X " + x->to_string() + " is too small for kernel_shape on spatial axis " + std::to_string(i));
      int64_t o = span / strides[i] + 1;
      if (ceil_mode) {
        o = (span + strides[i] - 1) / strides[i] + 1;
        if ((o - 1) * strides[i] >= in.value() + pads[i]) --o;
      }
      out.push_back(Dim(o));
    }
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

void max_unpool(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  if (ctx.input_count() > 2 && ctx.has_input(2)) {
    if (auto v = ctx.input_value(2)) return ctx.set_output_type(0, Type::tensor(dt, Shape(*v)));
    if (x) {
      std::vector<Dim> out;
      for (size_t i = 0; i < x->rank(); ++i) out.push_back(ctx.fresh_dim());
      return ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
    }
    return ctx.set_output_type(0, Type::tensor(dt));
  }
  if (!x) return ctx.set_output_type(0, Type::tensor(dt));
  if (x->rank() < 3) ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank >= 3");
  const size_t nd = x->rank() - 2;
  const std::vector<int64_t> kernel = n.get_ints("kernel_shape", {});
  if (kernel.size() != nd) ctx.fail("attribute 'kernel_shape' must have " + std::to_string(nd) + " values");
  std::vector<int64_t> strides = n.get_ints("strides", {}), pads = n.get_ints("pads", {});
  if (strides.size() != nd) strides.assign(nd, 1);
  if (pads.size() != 2 * nd) pads.assign(2 * nd, 0);
  std::vector<Dim> out = {x->dims[0], x->dims[1]};
  for (size_t i = 0; i < nd; ++i)
    out.push_back((x->dims[2 + i] - Dim(1)) * Dim(strides[i]) + Dim(kernel[i]) - Dim(pads[i] + pads[i + nd]));
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

void roi_align(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* rois = ranked_shape(ctx, 1);
  const Dim r = rois && rois->rank() == 2 ? rois->dims[0] : ctx.fresh_dim();
  const Dim c = x && x->rank() == 4 ? x->dims[1] : ctx.fresh_dim();
  ctx.set_output_type(0, Type::tensor(dt, Shape({r, c, Dim(ctx.node().get_int("output_height", 1)),
                                                 Dim(ctx.node().get_int("output_width", 1))})));
}

void non_max_suppression(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(DataType::kInt64, Shape({ctx.fresh_dim(), Dim(3)})));
}

}  // namespace

void register_nn_ext() {
  register_inference("", "Resize", 10, [](InferenceContext& c) { resize(c, false); });
  register_inference("", "Upsample", 7, [](InferenceContext& c) { resize(c, true); });
  register_inference("", "LayerNormalization", 17, layer_norm);
  for (const char* op : {"RMSNormalization", "InstanceNormalization", "GroupNormalization", "MeanVarianceNormalization",
                         "LpNormalization", "LRN"})
    register_inference("", op, 1, same_as_input);
  register_inference("", "GlobalLpPool", 1, global_pool);
  register_inference("", "LpPool", 1, lp_pool);
  register_inference("", "MaxUnpool", 9, max_unpool);
  register_inference("", "RoiAlign", 10, roi_align);
  register_inference("", "NonMaxSuppression", 10, non_max_suppression);
  register_inference("", "ConvTranspose", 1, conv_transpose);
  register_inference("", "Einsum", 12, einsum);
  register_inference("", "GridSample", 16, grid_sample);
  register_inference("", "AffineGrid", 20, affine_grid);
}

}  // namespace ferry::ir::infer
