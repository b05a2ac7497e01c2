// Implementation of simd/vmath.h with GCC vector extensions: one source, 16 floats per step,
// compiled by target_clones into an AVX-512 (x86-64-v4), an AVX2+FMA (x86-64-v3) and a
// baseline version; the loader picks one per function from the CPU it runs on. The vector
// helpers are always_inline so that each clone gets them in its own instruction set.
//
// fp-contract=fast lets the polynomials use FMA where the clone has it (the accuracy bounds in
// the header hold with and without).
#pragma GCC optimize("fp-contract=fast")
#pragma GCC diagnostic ignored "-Wpsabi"
// GCC 12 warns inside its own AVX-512 intrinsics (the unused merge operand __Y) when the
// AVX-512 clone expands these vectors: a false positive, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "execution_providers/cpu/simd/vmath.h"

#include <cmath>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FERRY_SIMD_NO_CLONES)
#define FERRY_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FERRY_SIMD_CLONES
#endif
#define FERRY_AI inline __attribute__((always_inline))

namespace ferry::ep::cpu::simd {
namespace {

constexpr int kW = 16;  // floats per vector step
typedef float V __attribute__((vector_size(kW * sizeof(float))));
typedef int32_t VI __attribute__((vector_size(kW * sizeof(int32_t))));
typedef float V8 __attribute__((vector_size(8 * sizeof(float))));
typedef double VD __attribute__((vector_size(8 * sizeof(double))));

FERRY_AI V splat(float c) { return c - V{}; }  // c - (+0) is c, -0 included (0 + -0 is +0)
FERRY_AI VI splati(int32_t c) { return VI{} + c; }
FERRY_AI V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
FERRY_AI void store(float* p, V v) { std::memcpy(p, &v, sizeof(V)); }
FERRY_AI V bits(VI v) { return reinterpret_cast<V>(v); }
FERRY_AI VI ibits(V v) { return reinterpret_cast<VI>(v); }
FERRY_AI V select(VI mask, V a, V b) { return mask ? a : b; }  // mask lanes are 0 or -1
/// select() as bit operations, for the transcendental kernels: GCC lowers `mask ? a : b` of
/// 16-float vectors to scalar max / min / blends on AVX2 and SSE2 (this made those clones 1.4-2x
/// faster); on AVX-512 it is one vpternlogd. (GCC still scalarises the 16-lane float compares
/// themselves on AVX2 / SSE2, which leaves the AVX2 clone several times slower than AVX-512.)
FERRY_AI V blend(VI mask, V a, V b) { return bits((mask & ibits(a)) | (~mask & ibits(b))); }
/// -1 in the lanes whose sign bit is set (x < 0, and -0 and negative NaNs), else 0: a shift, which
/// GCC keeps vectorised on every instruction set (unlike a 16-lane float compare).
FERRY_AI VI sign_mask(V x) { return ibits(x) >> 31; }
FERRY_AI V vabs(V x) { return bits(ibits(x) & 0x7fffffff); }
FERRY_AI V copysign_of(V mag, V sign) { return bits((ibits(mag) & 0x7fffffff) | (ibits(sign) & int32_t(0x80000000))); }

/// e^r for r = x - n ln2 with n the integer nearest x / ln2 (|r| <= ln2/2): Cephes' expf
/// polynomial, ln2 split in two so that r keeps its low bits.
FERRY_AI V exp_reduced(V x, V n) {
  V r = x - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  const V z = r * r;
  V y = splat(1.9875691500e-4f);
  y = y * r + splat(1.3981999507e-3f);
  y = y * r + splat(8.3334519073e-3f);
  y = y * r + splat(4.1665795894e-2f);
  y = y * r + splat(1.6666665459e-1f);
  y = y * r + splat(5.0000001201e-1f);
  y = y * z + r;
  y = y + splat(1.f);
  return y;
}

/// e^x: exp_reduced, times 2^n applied in two steps so that subnormal results and overflow
/// round once.
FERRY_AI V vexp(V x) {
  x = blend(x < splat(-104.f), splat(-104.f), x);  // e^-104 rounds to 0; NaN passes
  x = blend(x > splat(89.f), splat(89.f), x);      // e^89 overflows to +inf
  const V magic = splat(12582912.f);                 // 1.5 * 2^23: adding it rounds to integer
  const V fxm = x * splat(1.44269504088896341f) + magic;
  const V fx = fxm - magic;
  const V y = exp_reduced(x, fx);
  const VI n = ibits(fxm) - ibits(magic);  // the integer fx (NaN: anything, y is NaN anyway)
  const VI n1 = n >> 1, n2 = n - n1;
  return y * bits((n1 + 127) << 23) * bits((n2 + 127) << 23);
}

constexpr float kTwoM32 = 2.3283064365386963e-10f;  // 2^-32

/// 2^32 e^u for u <= 0 (or NaN), a normal float or 0 (so a caller may multiply it by another
/// value before scaling by 2^-32, and a subnormal product then rounds once): vexp's polynomial,
/// times 2^(n+32). About 16 vector operations against vexp's 27 (no overflow side, no
/// float-to-int conversion: n is read from the rounding constant's low bits).
FERRY_AI V vexp_neg_2p32(V u) {
  // From -110.5 on, n + 159 is 0 and so is the result (e^u, and e^u times any |x| <= 110.5, round
  // to 0 there); NaN passes.
  u = blend(u < splat(-110.5f), splat(-110.5f), u);
  const V magic = splat(12583071.f);  // 1.5 * 2^23 + 159: rounds, and biases n by 159
  const V fx = u * splat(1.44269504088896341f) + magic;
  const V n = fx - magic;
  const V y = exp_reduced(u, n);
  // The low bits of fx hold n + 159 in [0, 159]: shifted into the exponent field, 2^(n + 32)
  // (0 for n = -159).
  return y * bits(ibits(fx) << 23);
}

/// e^u for u <= 0 (or NaN), the exponential the sigmoid, tanh and erf kernels need; a subnormal
/// result rounds once.
FERRY_AI V vexp_neg(V u) { return vexp_neg_2p32(u) * splat(kTwoM32); }

/// -|x|.
FERRY_AI V neg_abs(V x) { return bits(ibits(x) | int32_t(0x80000000)); }

/// sigmoid(x) = 1 / (1 + t) for x >= 0 and t / (1 + t) for x < 0, t = e^-|x| (never overflows),
/// computed as 2^32 / (2^32 + 2^32 t) or 2^32 t / (2^32 + 2^32 t): one rounding for a subnormal.
FERRY_AI V vsigmoid(V x) {
  const V t32 = vexp_neg_2p32(neg_abs(x)), two32 = splat(4294967296.f);
  return blend(sign_mask(x), t32, two32) / (two32 + t32);
}

/// x sigmoid(x), in the same way: x / (1 + t) for x >= 0, x 2^32 t / (2^32 + 2^32 t) for x < 0
/// (one rounding for a subnormal; x 2^32 would overflow for x >= 0).
FERRY_AI V vsilu(V x) {
  const V t32 = vexp_neg_2p32(neg_abs(x));
  const VI neg = sign_mask(x);  // -0 goes this way too: -0 t / (1 + t) = -0
  return blend(neg, x * t32, x) / blend(neg, splat(4294967296.f) + t32, t32 * splat(kTwoM32) + splat(1.f));
}

/// tanh: Cephes' odd polynomial below 0.625, (1 - t) / (1 + t) = (2^32 - 2^32 t) / (2^32 + 2^32 t)
/// with t = e^-2|x| above.
FERRY_AI V vtanh(V x) {
  const V ax = vabs(x), z = x * x;
  V p = splat(-5.70498872745e-3f);
  p = p * z + splat(2.06390887954e-2f);
  p = p * z + splat(-5.37397155531e-2f);
  p = p * z + splat(1.33314422036e-1f);
  p = p * z + splat(-3.33332819422e-1f);
  const V small = copysign_of(p * z * x + x, x);  // keeps tanh(-0) = -0
  const V t32 = vexp_neg_2p32(splat(-2.f) * ax), two32 = splat(4294967296.f);
  const V big = copysign_of((two32 - t32) / (two32 + t32), x);
  return blend(ax < splat(0.625f), small, big);
}

/// erf: Norbert Juffa's faithfully rounded erff (max error below 1 ulp with FMA).
FERRY_AI V verf(V a) {
  const V t = vabs(a), s = a * a;
  V r = splat(-1.72853470e-5f) * t + splat(3.83197126e-4f);
  const V u = splat(-3.88396438e-3f) * t + splat(2.42546219e-2f);
  r = r * s + u;
  r = r * t + splat(-1.06777877e-1f);
  r = r * t + splat(-6.34846687e-1f);
  r = r * t + splat(-1.28717512e-1f);
  r = r * t - t;
  const V big = copysign_of(splat(1.f) - vexp_neg(r), a);  // r < 0 where it is selected
  V q = splat(-5.96761703e-4f);
  q = q * s + splat(4.99119423e-3f);
  q = q * s + splat(-2.67681349e-2f);
  q = q * s + splat(1.12819925e-1f);
  q = q * s + splat(-3.76125336e-1f);
  q = q * s + splat(1.28379166e-1f);
  const V small = q * a + a;
  return blend(t > splat(0.927734375f), big, small);
}

/// log(1 + t) for t in [0, 1] (or NaN): w = 1 + t is 2^e m with m in [sqrt(1/2), sqrt(2)), log m
/// Cephes' logf polynomial, plus (t - (w - 1)) / w, the rounding error of w (exact, by Fast2Sum)
/// over w, so that small t keep their digits (the result is t itself below 2^-24).
FERRY_AI V vlog1p_unit(V t) {
  const V one = splat(1.f), w = one + t;
  const VI big = ibits(w) > splati(0x3fb504f3);  // w > sqrt(2)
  const V e = blend(big, one, splat(0.f));
  const V f = blend(big, w * splat(0.5f), w) - one;  // exact: m and w - 1 are representable
  const V z = f * f;
  V p = splat(7.0376836292e-2f);
  p = p * f + splat(-1.1514610310e-1f);
  p = p * f + splat(1.1676998740e-1f);
  p = p * f + splat(-1.2420140846e-1f);
  p = p * f + splat(1.4249322787e-1f);
  p = p * f + splat(-1.6668057665e-1f);
  p = p * f + splat(2.0000714765e-1f);
  p = p * f + splat(-2.4999993993e-1f);
  p = p * f + splat(3.3333331174e-1f);
  V y = p * f * z + (t - (w - one)) / w;
  y = y + e * splat(-2.12194440e-4f);
  y = y - splat(0.5f) * z;
  return (f + y) + e * splat(0.693359375f);
}

/// softplus(x) = max(x, 0) + log(1 + e^-|x|), which cannot overflow; NaN and +-inf as in <cmath>
/// (softplus(-inf) = 0, softplus(+inf) = +inf).
FERRY_AI V vsoftplus(V x) {
  const V pos = bits(~sign_mask(x) & ibits(x));  // x for x >= +0, else +0
  return pos + vlog1p_unit(vexp_neg(neg_abs(x)));
}

FERRY_AI V vgelu_erf(V x) { return splat(0.5f) * x * (splat(1.f) + verf(x * splat(0.70710678118654752f))); }
FERRY_AI V vgelu_tanh(V x) {
  const V inner = splat(0.7978845608028654f) * (x + splat(0.044715f) * x * x * x);
  return splat(0.5f) * x * (splat(1.f) + vtanh(inner));
}

/// y = f(x) over n elements (f acts lane by lane). The tail of n >= kW is the last kW elements,
/// loaded before the loop writes y (which may be x) and stored after it, rewriting the lanes the
/// loop wrote with the same values; shorter n go through a zero-padded vector.
template <typename F>
FERRY_AI void map(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  if (n >= kW && n % kW != 0) {
    const V last = load(x + n - kW);
    for (; i + kW <= n; i += kW) store(y + i, f(load(x + i)));
    store(y + n - kW, f(last));
    return;
  }
  for (; i + kW <= n; i += kW) store(y + i, f(load(x + i)));
  if (i < n) {
    float buf[kW] = {};
    const size_t bytes = static_cast<size_t>(n - i) * sizeof(float);
    std::memcpy(buf, x + i, bytes);
    store(buf, f(load(buf)));
    std::memcpy(y + i, buf, bytes);
  }
}

/// The lanes' sum, added pairwise (halves folded onto each other).
FERRY_AI float hsum(V v) {
  const V8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
               __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  typedef float V4 __attribute__((vector_size(4 * sizeof(float))));
  const V4 q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
  return (q[0] + q[2]) + (q[1] + q[3]);
}

/// Lane indices 0..kW-1.
FERRY_AI VI lane_index() { return VI{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; }

}  // namespace

FERRY_SIMD_CLONES void exp(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V v) __attribute__((always_inline)) { return vexp(v); });
}
FERRY_SIMD_CLONES void tanh(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V v) __attribute__((always_inline)) { return vtanh(v); });
}
FERRY_SIMD_CLONES void sigmoid(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V v) __attribute__((always_inline)) { return vsigmoid(v); });
}
FERRY_SIMD_CLONES void erf(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V v) __attribute__((always_inline)) { return verf(v); });
}
FERRY_SIMD_CLONES void relu(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V v) __attribute__((always_inline)) { return select(v < splat(0.f), splat(0.f), v); });
}
FERRY_SIMD_CLONES void silu(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V v) __attribute__((always_inline)) { return vsilu(v); });
}
FERRY_SIMD_CLONES void softplus(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V v) __attribute__((always_inline)) { return vsoftplus(v); });
}
FERRY_SIMD_CLONES void gelu_erf(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V v) __attribute__((always_inline)) { return vgelu_erf(v); });
}
FERRY_SIMD_CLONES void gelu_tanh(const float* x, float* y, int64_t n) {
  map(x, y, n, [](V v) __attribute__((always_inline)) { return vgelu_tanh(v); });
}

namespace {
template <typename Op>
FERRY_AI void binary_loop(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n, Op op) {
  if (sa && sb) {
    int64_t i = 0;
    for (; i + kW <= n; i += kW) store(out + i, op(load(a + i), load(b + i)));
    for (; i < n; ++i) out[i] = op(splat(a[i]), splat(b[i]))[0];
  } else if (sa) {
    const V vb = splat(b[0]);
    map(a, out, n, [&](V v) __attribute__((always_inline)) { return op(v, vb); });
  } else if (sb) {
    const V va = splat(a[0]);
    map(b, out, n, [&](V v) __attribute__((always_inline)) { return op(va, v); });
  } else {
    const float v = op(splat(a[0]), splat(b[0]))[0];
    for (int64_t i = 0; i < n; ++i) out[i] = v;
  }
}
}  // namespace

FERRY_SIMD_CLONES void binary(BinaryOp op, const float* a, int64_t sa, const float* b, int64_t sb, float* out,
                              int64_t n) {
  switch (op) {
    case BinaryOp::kAdd:
      binary_loop(a, sa, b, sb, out, n, [](V x, V y) __attribute__((always_inline)) { return x + y; });
      break;
    case BinaryOp::kSub:
      binary_loop(a, sa, b, sb, out, n, [](V x, V y) __attribute__((always_inline)) { return x - y; });
      break;
    case BinaryOp::kMul:
      binary_loop(a, sa, b, sb, out, n, [](V x, V y) __attribute__((always_inline)) { return x * y; });
      break;
    case BinaryOp::kDiv:
      binary_loop(a, sa, b, sb, out, n, [](V x, V y) __attribute__((always_inline)) { return x / y; });
      break;
  }
}

FERRY_SIMD_CLONES float reduce_max(const float* x, int64_t n) {
  const float ninf = -std::numeric_limits<float>::infinity();
  V m = splat(ninf);
  VI nan = splati(0);
  int64_t i = 0;
  for (; i + kW <= n; i += kW) {
    const V v = load(x + i);
    m = select(v > m, v, m);
    nan |= v != v;
  }
  if (i < n && n >= kW) {  // the last kW elements: lanes seen already change nothing
    const V v = load(x + n - kW);
    m = select(v > m, v, m);
    nan |= v != v;
    i = n;
  }
  float r = ninf;
  bool any_nan = false;
  for (int k = 0; k < kW; ++k) {
    r = m[k] > r ? m[k] : r;
    any_nan |= nan[k] != 0;
  }
  for (; i < n; ++i) {
    r = x[i] > r ? x[i] : r;
    any_nan |= x[i] != x[i];
  }
  return any_nan ? std::numeric_limits<float>::quiet_NaN() : r;
}

FERRY_SIMD_CLONES float reduce_sum(const float* x, int64_t n) {
  V s = splat(0.f);
  int64_t i = 0;
  for (; i + kW <= n; i += kW) s += load(x + i);
  float r = hsum(s);
  for (; i < n; ++i) r += x[i];
  return r;
}

FERRY_SIMD_CLONES double reduce_sum_double(const float* x, int64_t n) {
  VD s = VD{} + 0.0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V8 v;
    std::memcpy(&v, x + i, sizeof(V8));
    s += __builtin_convertvector(v, VD);
  }
  double t = 0.0;
  for (int k = 0; k < 8; ++k) t += s[k];
  for (; i < n; ++i) t += static_cast<double>(x[i]);
  return t;
}

namespace {
/// The sum of exp(x - mx) over n >= 1 elements, stored in y (which may be x) when kStore. The
/// tail of n > kW is the last kW elements, read before y is written; the lanes the loop covered
/// already are left out of the sum and rewritten with the same values.
template <bool kStore>
FERRY_AI float exp_shifted_sum(const float* x, float* y, int64_t n, float mx) {
  const V vm = splat(mx);
  V acc = splat(0.f);
  int64_t i = 0;
  const bool overlap = n > kW && n % kW != 0;
  const V last = overlap ? load(x + n - kW) : splat(0.f);
  for (; i + kW <= n; i += kW) {
    const V e = vexp(load(x + i) - vm);
    if (kStore) store(y + i, e);
    acc += e;
  }
  if (overlap) {
    const V e = vexp(last - vm);
    acc += select(lane_index() >= splati(static_cast<int32_t>(i - (n - kW))), e, splat(0.f));
    if (kStore) store(y + n - kW, e);
    return hsum(acc);
  }
  float sum = hsum(acc);
  if (i < n) {
    float buf[kW] = {};
    const int64_t rest = n - i;
    std::memcpy(buf, x + i, static_cast<size_t>(rest) * sizeof(float));
    const V e = vexp(load(buf) - vm);
    for (int64_t k = 0; k < rest; ++k) {
      sum += e[k];
      if (kStore) y[i + k] = e[k];
    }
  }
  return sum;
}
}  // namespace

FERRY_SIMD_CLONES float softmax_exp(const float* x, float* y, int64_t n) {
  return exp_shifted_sum<true>(x, y, n, reduce_max(x, n));
}

FERRY_SIMD_CLONES void softmax(const float* x, float* y, int64_t n, bool log) {
  const float mx = reduce_max(x, n);
  if (!log) {
    const V inv = splat(1.f / exp_shifted_sum<true>(x, y, n, mx));
    map(y, y, n, [&](V v) __attribute__((always_inline)) { return v * inv; });
    return;
  }
  const V sub = splat(mx + std::log(exp_shifted_sum<false>(x, y, n, mx)));
  map(x, y, n, [&](V v) __attribute__((always_inline)) { return v - sub; });
}

FERRY_SIMD_CLONES void moments(const float* x, int64_t n, bool rms, double eps, double* mean_out,
                               double* inv_std_out) {
  const double mean = rms ? 0.0 : reduce_sum_double(x, n) / static_cast<double>(n);
  const VD vm = VD{} + mean;
  VD s = VD{} + 0.0;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V8 v;
    std::memcpy(&v, x + i, sizeof(V8));
    const VD d = __builtin_convertvector(v, VD) - vm;
    s += d * d;
  }
  double sq = 0.0;
  for (int k = 0; k < 8; ++k) sq += s[k];
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    sq += d * d;
  }
  *mean_out = mean;
  *inv_std_out = 1.0 / std::sqrt(sq / static_cast<double>(n) + eps);
}

FERRY_SIMD_CLONES void normalize(const float* x, float* y, int64_t n, double mean, double inv_std,
                                 const float* scale, const float* bias) {
  const float hi = static_cast<float>(mean), lo = static_cast<float>(mean - static_cast<double>(hi));
  const float inv = static_cast<float>(inv_std);
  const V vh = splat(hi), vl = splat(lo), vi = splat(inv);
  int64_t i = 0;
  if (bias != nullptr) {
    for (; i + kW <= n; i += kW)
      store(y + i, ((load(x + i) - vh) - vl) * vi * load(scale + i) + load(bias + i));
    for (; i < n; ++i) y[i] = ((x[i] - hi) - lo) * inv * scale[i] + bias[i];
  } else {
    for (; i + kW <= n; i += kW) store(y + i, ((load(x + i) - vh) - vl) * vi * load(scale + i));
    for (; i < n; ++i) y[i] = ((x[i] - hi) - lo) * inv * scale[i];
  }
}

FERRY_SIMD_CLONES void scale(const float* x, float* y, int64_t n, float s) {
  const V vs = splat(s);
  map(x, y, n, [&](V v) __attribute__((always_inline)) { return v * vs; });
}

// ---- few rows x packed panels ----------------------------------------------------------------

namespace {

/// One panel for M rows (1 or 2): acc[i][c] over all k, two k steps per iteration in
/// independent chains. No software prefetch: the hardware's stream prefetch does as well here.
template <int M>
FERRY_AI void panel(const float* a, int64_t lda, int64_t k, const float* p, float alpha, const float* bias,
                    float* out, int64_t ldo, int64_t cols) {
  V acc[M][4], acc2[M][4];
  for (int i = 0; i < M; ++i)
    for (int c = 0; c < 4; ++c) acc[i][c] = acc2[i][c] = V{};
  int64_t kk = 0;
  for (; kk + 2 <= k; kk += 2, p += 2 * kGemvPanel) {
    const V w0 = load(p), w1 = load(p + 16), w2 = load(p + 32), w3 = load(p + 48);
    const V u0 = load(p + 64), u1 = load(p + 80), u2 = load(p + 96), u3 = load(p + 112);
    for (int i = 0; i < M; ++i) {
      const V x = splat(a[i * lda + kk]), z = splat(a[i * lda + kk + 1]);
      acc[i][0] += x * w0, acc[i][1] += x * w1, acc[i][2] += x * w2, acc[i][3] += x * w3;
      acc2[i][0] += z * u0, acc2[i][1] += z * u1, acc2[i][2] += z * u2, acc2[i][3] += z * u3;
    }
  }
  if (kk < k) {
    const V w0 = load(p), w1 = load(p + 16), w2 = load(p + 32), w3 = load(p + 48);
    for (int i = 0; i < M; ++i) {
      const V x = splat(a[i * lda + kk]);
      acc[i][0] += x * w0, acc[i][1] += x * w1, acc[i][2] += x * w2, acc[i][3] += x * w3;
    }
  }
  for (int i = 0; i < M; ++i) {
    float r[kGemvPanel];
    for (int c = 0; c < 4; ++c) {
      V v = (acc[i][c] + acc2[i][c]) * splat(alpha);
      std::memcpy(r + 16 * c, &v, sizeof(V));
    }
    float* o = out + i * ldo;
    if (bias)
      for (int64_t c = 0; c < cols; ++c) o[c] = r[c] + bias[c];
    else
      std::memcpy(o, r, cols * sizeof(float));
  }
}

template <int M>
FERRY_AI void panels(const float* a, int64_t lda, int64_t k, const float* w, int64_t kp, int64_t n_total,
                     int64_t begin, int64_t end, float alpha, const float* bias, float* y, int64_t ldy) {
  for (int64_t j = begin; j < end; ++j) {
    const int64_t n0 = j * kGemvPanel;
    const int64_t cols = n_total - n0 < kGemvPanel ? n_total - n0 : kGemvPanel;
    panel<M>(a, lda, k, w + j * kp * kGemvPanel, alpha, bias ? bias + n0 : nullptr, y + n0, ldy, cols);
  }
}

}  // namespace

FERRY_SIMD_CLONES void gemv_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* w,
                                   int64_t kp, int64_t n_total, int64_t begin, int64_t end, float alpha,
                                   const float* bias, float* y, int64_t ldy) {
  switch (m) {
    case 1: panels<1>(a, lda, k, w, kp, n_total, begin, end, alpha, bias, y, ldy); break;
    default: panels<2>(a, lda, k, w, kp, n_total, begin, end, alpha, bias, y, ldy); break;
  }
}

}  // namespace ferry::ep::cpu::simd
