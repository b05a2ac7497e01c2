// Attributes shared by Conv and the pooling ops, parsed once per node into a typed struct, with
// the spec's defaults beside the names. Provider-neutral: CPU and CUDA kernels both use it.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ferry/error.h"
#include "ir/graph.h"

namespace ferry::ep {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

struct ConvPoolAttributes {
  std::vector<int64_t> kernel_shape;  // "kernel_shape": required for pools; Conv: from W
  std::vector<int64_t> strides;       // "strides": 1 per spatial dim
  std::vector<int64_t> pads;          // "pads": 0s; [begin..., end...]
  std::vector<int64_t> dilations;     // "dilations": 1 per spatial dim
  AutoPad auto_pad = AutoPad::kNotSet;  // "auto_pad": "NOTSET"
  int64_t group = 1;                  // "group" (Conv): 1
  bool ceil_mode = false;             // "ceil_mode" (pools, opset 10+): 0
  bool count_include_pad = false;     // "count_include_pad" (AveragePool): 0
  int64_t storage_order = 0;          // "storage_order" (MaxPool, opset 8+): 0 = row major

  explicit ConvPoolAttributes(const ir::Node& n)
      : kernel_shape(n.get_ints("kernel_shape")),
        strides(n.get_ints("strides")),
        pads(n.get_ints("pads")),
        dilations(n.get_ints("dilations")),
        group(n.get_int("group", 1)),
        ceil_mode(n.get_int("ceil_mode", 0) != 0),
        count_include_pad(n.get_int("count_include_pad", 0) != 0),
        storage_order(n.get_int("storage_order", 0)) {
    const std::string ap = n.get_string("auto_pad", "NOTSET");
    if (ap == "NOTSET" || ap.empty()) auto_pad = AutoPad::kNotSet;
    else if (ap == "SAME_UPPER") auto_pad = AutoPad::kSameUpper;
    else if (ap == "SAME_LOWER") auto_pad = AutoPad::kSameLower;
    else if (ap == "VALID") auto_pad = AutoPad::kValid;
    else
      throw Error(ErrorCode::kInvalidModel, n.describe() + ": attribute 'auto_pad' is '" + ap +
                                                "' (valid: NOTSET, SAME_UPPER, SAME_LOWER, VALID)");
    if (group < 1)
      throw Error(ErrorCode::kInvalidModel, n.describe() + ": attribute 'group' must be >= 1, got " +
                                                std::to_string(group));
  }
};

/// Spatial geometry of one Conv/pool application, resolved against concrete input dims.
struct SpatialGeometry {
  std::vector<int64_t> in, kernel, stride, dilation, pad_begin, pad_end, out;
  int64_t in_size() const { return prod(in); }
  int64_t out_size() const { return prod(out); }
  int64_t kernel_size() const { return prod(kernel); }
  static int64_t prod(const std::vector<int64_t>& v) {
    int64_t p = 1;
    for (int64_t x : v) p *= x;
    return p;
  }
};

/// Resolves strides/dilations/pads (auto_pad included) and output dims for `in` spatial dims
/// and `kernel`. Pools pass use_ceil = ceil_mode; a ceil-mode window that would start in the
/// end padding is dropped (as onnxruntime and PyTorch do). Throws kInvalidArgument naming the
/// node when the attributes disagree with the input rank or the output would be empty.
inline SpatialGeometry resolve_geometry(const ConvPoolAttributes& a, const std::vector<int64_t>& in,
                                        const std::vector<int64_t>& kernel, bool use_ceil,
                                        const ir::Node& /*node*/) {
  const size_t nd = in.size();
  auto bad = [&](const std::string& what) {
    return Error(ErrorCode::kInvalidArgument, what + " (input spatial rank " +
                                                  std::to_string(nd) + ")");
  };
  if (kernel.size() != nd) throw bad("kernel has " + std::to_string(kernel.size()) + " dims");
  SpatialGeometry g;
  g.in = in;
  g.kernel = kernel;
  g.stride = a.strides.empty() ? std::vector<int64_t>(nd, 1) : a.strides;
  g.dilation = a.dilations.empty() ? std::vector<int64_t>(nd, 1) : a.dilations;
  if (g.stride.size() != nd) throw bad("'strides' has " + std::to_string(g.stride.size()) + " values");
  if (g.dilation.size() != nd) throw bad("'dilations' has " + std::to_string(g.dilation.size()) + " values");
  if (!a.pads.empty() && a.pads.size() != 2 * nd && a.auto_pad == AutoPad::kNotSet)
    throw bad("'pads' has " + std::to_string(a.pads.size()) + " values, expected " + std::to_string(2 * nd));
  g.pad_begin.assign(nd, 0);
  g.pad_end.assign(nd, 0);
  g.out.assign(nd, 0);
  for (size_t d = 0; d < nd; ++d) {
    if (g.stride[d] < 1 || g.dilation[d] < 1 || kernel[d] < 1)
      throw bad("strides, dilations and kernel dims must be >= 1");
    const int64_t eff_k = g.dilation[d] * (kernel[d] - 1) + 1;
    if (a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower) {
      const int64_t target = (in[d] + g.stride[d] - 1) / g.stride[d];
      const int64_t needed = std::max<int64_t>(0, (target - 1) * g.stride[d] + eff_k - in[d]);
      g.pad_begin[d] = a.auto_pad == AutoPad::kSameLower ? (needed + 1) / 2 : needed / 2;
      g.pad_end[d] = needed - g.pad_begin[d];
    } else if (a.auto_pad == AutoPad::kNotSet && !a.pads.empty()) {
      g.pad_begin[d] = a.pads[d];
      g.pad_end[d] = a.pads[d + nd];
    }
    const int64_t span = in[d] + g.pad_begin[d] + g.pad_end[d] - eff_k;
    if (span < 0) throw bad("kernel (dilated " + std::to_string(eff_k) + ") is larger than padded input dim " +
                            std::to_string(d) + " (" + std::to_string(in[d] + g.pad_begin[d] + g.pad_end[d]) + ")");
    int64_t out = span / g.stride[d] + 1;
    if (use_ceil && a.auto_pad == AutoPad::kNotSet) {
      out = (span + g.stride[d] - 1) / g.stride[d] + 1;
      if ((out - 1) * g.stride[d] >= in[d] + g.pad_begin[d]) --out;
    }
    g.out[d] = out;
  }
  return g;
}

}  // namespace ferry::ep
