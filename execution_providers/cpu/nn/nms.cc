// NonMaxSuppression (10, 11) in float, with onnxruntime's arithmetic and order: per batch and
// class, boxes scoring above score_threshold (all when absent) are taken best first (equal
// scores: lower box index first) and kept unless their IoU with a box already kept for that
// class exceeds iou_threshold, until max_output_boxes_per_class are kept (none when absent or
// <= 0). Box corners and areas are computed once per batch; candidates are filtered before a
// heap orders them, so only the boxes actually examined are ordered. Classes run in parallel.
#include <algorithm>
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/nn_ext.h"

namespace ferry::ep::cpu {
namespace {

/// One box as onnxruntime's SuppressByIOU sees it: corners ordered per axis, and its area.
struct Corners {
  float x0, x1, y0, y1, area;
};

/// onnxruntime's MaxMin (NaN handling included).
inline void min_max(float a, float b, float& lo, float& hi) {
  if (a >= b) lo = b, hi = a;
  else lo = a, hi = b;
}

Corners corners(const float* b, bool center) {
  Corners c;
  if (center) {
    const float hw = b[2] / 2, hh = b[3] / 2;
    c.x0 = b[0] - hw, c.x1 = b[0] + hw, c.y0 = b[1] - hh, c.y1 = b[1] + hh;
  } else {
    min_max(b[1], b[3], c.x0, c.x1);
    min_max(b[0], b[2], c.y0, c.y1);
  }
  c.area = (c.x1 - c.x0) * (c.y1 - c.y0);
  return c;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FERRY_NMS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FERRY_NMS_CLONES
#endif

/// The boxes kept so far for one class, as columns padded to a multiple of kBlock with boxes of
/// area 0 (which never suppress), so the overlap test runs over whole blocks.
constexpr size_t kBlock = 16;
struct Kept {
  std::vector<float> x0, x1, y0, y1, area;
  size_t count = 0;
  void clear() { count = 0; }
  void push(const Corners& c) {
    if (count % kBlock == 0)  // a fresh block: padding, also over a cleared class's values
      for (auto* v : {&x0, &x1, &y0, &y1, &area}) {
        v->resize(count + kBlock);
        std::fill(v->begin() + static_cast<std::ptrdiff_t>(count), v->end(), 0.f);
      }
    x0[count] = c.x0, x1[count] = c.x1, y0[count] = c.y0, y1[count] = c.y1, area[count] = c.area;
    ++count;
  }
};

/// True when the IoU of `b` (a candidate) with some kept box exceeds the threshold, each test
/// as onnxruntime's SuppressByIOU computes it (float; non-positive areas never suppress). The
/// tests are branch-free over blocks of kept boxes (vectorized); the first block with a hit ends it.
FERRY_NMS_CLONES bool suppressed(const Kept& k, const Corners& b, float iou_threshold) {
  for (size_t k0 = 0; k0 < k.count; k0 += kBlock) {
    int hit = 0;
    for (size_t j = k0; j < k0 + kBlock; ++j) {
      const float ix0 = std::max(k.x0[j], b.x0), ix1 = std::min(k.x1[j], b.x1);
      const float iy0 = std::max(k.y0[j], b.y0), iy1 = std::min(k.y1[j], b.y1);
      const float inter = (ix1 - ix0) * (iy1 - iy0);
      const float uni = k.area[j] + b.area - inter;
      hit |= (ix1 > ix0) & (iy1 > iy0) & (inter > 0.f) & (k.area[j] > 0.f) & (b.area > 0.f) & (uni > 0.f) &
             (inter / uni > iou_threshold);
    }
    if (hit) return true;
  }
  return false;
}

struct Candidate {
  float score;
  int64_t index;
};

/// Heap order: the top is the highest score, the lowest index among equal scores.
inline bool lower_priority(const Candidate& a, const Candidate& b) {
  return a.score < b.score || (a.score == b.score && a.index > b.index);
}

/// Appends (s[i], i) for every s[i] > threshold, in index order. Blocks of scores are tested
/// branch-free (vectorized) and skipped when none passes: detectors' scores are mostly below.
FERRY_NMS_CLONES void candidates_above(const float* s, int64_t n, float threshold, std::vector<Candidate>& out) {
  const int64_t blocks = n / static_cast<int64_t>(kBlock) * static_cast<int64_t>(kBlock);
  for (int64_t i0 = 0; i0 < blocks; i0 += static_cast<int64_t>(kBlock)) {
    int any = 0;
    for (size_t j = 0; j < kBlock; ++j) any |= s[i0 + static_cast<int64_t>(j)] > threshold;
    if (!any) continue;
    for (int64_t i = i0; i < i0 + static_cast<int64_t>(kBlock); ++i)
      if (s[i] > threshold) out.push_back({s[i], i});
  }
  for (int64_t i = blocks; i < n; ++i)
    if (s[i] > threshold) out.push_back({s[i], i});
}

class NonMaxSuppression final : public Kernel {
 public:
  explicit NonMaxSuppression(const KernelInfo& info)
      : center_point_box_(info.node().get_int("center_point_box", 0) != 0) {}  // "center_point_box": 0

  void compute(KernelContext& ctx) const override {
    const Tensor& boxes = ctx.required_input(0);
    const Tensor& scores = ctx.required_input(1);
    if (boxes.rank() != 3 || boxes.dim(2) != 4 || scores.rank() != 3 || scores.dim(0) != boxes.dim(0) ||
        scores.dim(2) != boxes.dim(1))
      fail(ctx, ErrorCode::kInvalidArgument, "expected boxes [B,N,4] and scores [B,C,N], got " + boxes.describe() +
                                                 " and " + scores.describe());
    auto given = [&](size_t i) -> const Tensor* {
      const Tensor* t = ctx.input_count() > i ? ctx.input(i) : nullptr;
      return t != nullptr && t->defined() && t->element_count() > 0 ? t : nullptr;
    };
    int64_t max_out = 0;
    if (const Tensor* t = given(2)) max_out = read_int_list(*t, ctx, "input 'max_output_boxes_per_class'")[0];
    float iou_threshold = 0, score_threshold = 0;
    auto scalar = [&](size_t i, float& v, const char* what) {
      const Tensor* t = given(i);
      if (t == nullptr) return false;
      if (t->dtype() != DataType::kFloat)
        fail(ctx, ErrorCode::kInvalidArgument, std::string("input '") + what + "' must be float, got " + t->describe());
      v = t->data<float>()[0];
      return true;
    };
    scalar(3, iou_threshold, "iou_threshold");
    const bool use_score = scalar(4, score_threshold, "score_threshold");
    const int64_t nb = boxes.dim(0), nc = scores.dim(1), n = boxes.dim(1);
    if (max_out <= 0 || nb * nc * n == 0) {
      ctx.allocate_output(0, DataType::kInt64, {0, 3});
      return;
    }
    const float* pb = boxes.data<float>();
    std::vector<Corners> box(static_cast<size_t>(nb * n));
    for (int64_t i = 0; i < nb * n; ++i) box[static_cast<size_t>(i)] = corners(pb + i * 4, center_point_box_);

    // Kept box indices per (batch, class), in selection order.
    std::vector<std::vector<int64_t>> kept(static_cast<size_t>(nb * nc));
    const float* ps = scores.data<float>();
    ctx.thread_pool().parallel_for(nb * nc, static_cast<double>(n) * 4, [&](int64_t g0, int64_t g1) {
      std::vector<Candidate> heap;
      Kept chosen;
      for (int64_t g = g0; g < g1; ++g) {
        const float* s = ps + g * n;
        const Corners* bb = box.data() + (g / nc) * n;
        heap.clear();
        if (use_score) {
          candidates_above(s, n, score_threshold, heap);
        } else {
          for (int64_t i = 0; i < n; ++i) heap.push_back({s[i], i});
        }
        std::make_heap(heap.begin(), heap.end(), lower_priority);
        std::vector<int64_t>& out = kept[static_cast<size_t>(g)];
        chosen.clear();
        while (!heap.empty() && static_cast<int64_t>(out.size()) < max_out) {
          std::pop_heap(heap.begin(), heap.end(), lower_priority);
          const int64_t i = heap.back().index;
          heap.pop_back();
          if (!suppressed(chosen, bb[i], iou_threshold)) {
            out.push_back(i);
            chosen.push(bb[i]);
          }
        }
      }
    });
    int64_t count = 0;
    for (const auto& k : kept) count += static_cast<int64_t>(k.size());
    int64_t* out = ctx.allocate_output(0, DataType::kInt64, {count, 3}).data<int64_t>();
    for (int64_t g = 0; g < nb * nc; ++g)
      for (int64_t i : kept[static_cast<size_t>(g)]) {
        out[0] = g / nc, out[1] = g % nc, out[2] = i;
        out += 3;
      }
  }

 private:
  bool center_point_box_;
};

}  // namespace

void register_nms_kernels(KernelRegistry& r) {
  r.add("NonMaxSuppression", {10, 11}, make_kernel<NonMaxSuppression>, {DataType::kFloat});
}

}  // namespace ferry::ep::cpu
