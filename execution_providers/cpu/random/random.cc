// Random generators: RandomNormal, RandomUniform, RandomNormalLike, RandomUniformLike,
// Bernoulli, Multinomial.
//
// Seeding: with a "seed" attribute every run starts the same std::mt19937_64 stream from that
// seed, so the same model gives the same output in every run and every session. Without one,
// each run draws a fresh stream (a random_device seed mixed with a per-process counter).
// numpy's streams are not reproduced: conformance checks these outputs by their properties.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <random>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {
namespace {

using RealTypes = Types<float, double, Float16, BFloat16>;
using BernoulliOutTypes = Types<float, double, Float16, BFloat16, int8_t, uint8_t, int16_t, uint16_t, int32_t,
                                uint32_t, int64_t, uint64_t, bool>;

/// The "seed" attribute as a stream: fixed when given, fresh per run otherwise.
class Seed {
 public:
  explicit Seed(const ir::Node& n) {
    if (const ir::Attribute* a = n.find_attribute("seed")) {
      fixed_ = true;
      uint32_t bits;
      std::memcpy(&bits, &a->f, 4);
      value_ = bits;
    }
  }
  std::mt19937_64 stream() const {
    if (fixed_) return std::mt19937_64(value_);
    static std::atomic<uint64_t> counter{0};
    static const uint64_t base = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
    // splitmix64 of base + counter: distinct, well-mixed seeds for successive runs.
    uint64_t z = base + 0x9e3779b97f4a7c15ull * (counter.fetch_add(1, std::memory_order_relaxed) + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return std::mt19937_64(z ^ (z >> 31));
  }

 private:
  bool fixed_ = false;
  uint64_t value_ = 0;
};

template <typename T> T from_double(double v) {
  if constexpr (std::is_same_v<T, Float16>) return to_float16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return to_bfloat16(static_cast<float>(v));
  else return static_cast<T>(v);
}
template <typename T> double to_double(T v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) return to_float(v);
  else return static_cast<double>(v);
}

DataType dtype_attr(const ir::Node& n, DataType dflt) {
  const ir::Attribute* a = n.find_attribute("dtype");
  return a ? static_cast<DataType>(a->i) : dflt;
}

/// Output element type and shape: from the attributes (RandomNormal/Uniform) or input 0 (*Like).
struct Target {
  DataType dtype;
  std::vector<int64_t> shape;
};

enum class Dist { kNormal, kUniform };

/// RandomNormal / RandomUniform (from_input = false) and their *Like forms (from_input = true).
template <Dist D, bool FromInput>
class RandomTensor final : public Kernel {
 public:
  explicit RandomTensor(const KernelInfo& info)
      : seed_(info.node()),
        dtype_(dtype_attr(info.node(), FromInput ? DataType::kUndefined : DataType::kFloat)),
        shape_(info.node().get_ints("shape")) {
    const ir::Node& n = info.node();
    if constexpr (D == Dist::kNormal) {
      a_ = n.get_float("mean", 0.0f);   // "mean": 0
      b_ = n.get_float("scale", 1.0f);  // "scale": 1
    } else {
      a_ = n.get_float("low", 0.0f);    // "low": 0
      b_ = n.get_float("high", 1.0f);   // "high": 1
      if (!(a_ <= b_)) fail_model(info, "attribute 'low' " + std::to_string(a_) + " exceeds 'high' " + std::to_string(b_));
    }
    if (!FromInput && !n.find_attribute("shape")) fail_model(info, "missing required attribute 'shape'");
    for (int64_t d : shape_)
      if (d < 0) fail_model(info, "attribute 'shape' holds a negative dim: " + shape_to_string(shape_));
  }

  void compute(KernelContext& ctx) const override {
    DataType dt = dtype_;
    std::vector<int64_t> shape = shape_;
    if constexpr (FromInput) {
      const Tensor& x = ctx.required_input(0);
      if (dt == DataType::kUndefined) dt = x.dtype();
      shape = x.shape();
    }
    visit_dtype(RealTypes{}, dt, FromInput ? "output (attribute 'dtype' or input)" : "attribute 'dtype'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = ctx.allocate_output(0, dt, shape).template data<T>();
      const int64_t count = product(shape);
      std::mt19937_64 rng = seed_.stream();
      if constexpr (D == Dist::kNormal) {
        std::normal_distribution<double> dist(a_, b_);
        for (int64_t i = 0; i < count; ++i) out[i] = from_double<T>(dist(rng));
      } else {
        for (int64_t i = 0; i < count; ++i) out[i] = uniform<T>(rng, a_, b_);
      }
    });
  }

  /// A value in [low, high): draws again when rounding to T lands on high.
  template <typename T> static T uniform(std::mt19937_64& rng, double low, double high) {
    for (int tries = 0; tries < 64; ++tries) {
      const T v = from_double<T>(low + (high - low) * std::generate_canonical<double, 53>(rng));
      if (to_double(v) < high) return v;
    }
    return from_double<T>(low);  // [low, high) is narrower than T's spacing
  }

 private:
  Seed seed_;
  DataType dtype_;              // "dtype": float (1); the *Like ops: the input's type
  std::vector<int64_t> shape_;  // "shape": required (RandomNormal / RandomUniform)
  double a_ = 0, b_ = 1;        // mean, scale or low, high
};

/// Bernoulli: Y = 1 with probability X (elementwise), else 0, in "dtype" (default: X's type).
class Bernoulli final : public Kernel {
 public:
  explicit Bernoulli(const KernelInfo& info) : seed_(info.node()), dtype_(dtype_attr(info.node(), DataType::kUndefined)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const DataType dt = dtype_ == DataType::kUndefined ? x.dtype() : dtype_;
    std::vector<uint8_t> hits(static_cast<size_t>(x.element_count()));
    std::mt19937_64 rng = seed_.stream();
    visit_dtype(RealTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* p = x.data<T>();
      for (size_t i = 0; i < hits.size(); ++i)
        hits[i] = std::generate_canonical<double, 53>(rng) < to_double(p[i]) ? 1 : 0;
    });
    visit_dtype(BernoulliOutTypes{}, dt, "attribute 'dtype'", [&](auto tag) {
      using U = typename decltype(tag)::type;
      U* out = ctx.allocate_output(0, dt, x.shape()).template data<U>();
      for (size_t i = 0; i < hits.size(); ++i) out[i] = from_double<U>(hits[i]);
    });
  }

 private:
  Seed seed_;
  DataType dtype_;  // "dtype": X's type
};

/// Multinomial: for each batch row of unnormalised log-probabilities X [batch, classes], draws
/// sample_size class indices; Y [batch, sample_size] int32 (default) or int64.
class Multinomial final : public Kernel {
 public:
  explicit Multinomial(const KernelInfo& info)
      : seed_(info.node()),
        dtype_(dtype_attr(info.node(), DataType::kInt32)),
        samples_(info.node().get_int("sample_size", 1)) {
    if (dtype_ != DataType::kInt32 && dtype_ != DataType::kInt64)
      fail_model(info, "attribute 'dtype' must be int32 or int64, got '" + std::string(dtype_name(dtype_)) + "'");
    if (samples_ < 0) fail_model(info, "attribute 'sample_size' must be non-negative, got " + std::to_string(samples_));
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() != 2)
      fail(ctx, ErrorCode::kInvalidArgument, "input must be 2-D [batch_size, class_size], got " + x.describe());
    const int64_t batch = x.dim(0), classes = x.dim(1);
    if (classes == 0 && samples_ > 0 && batch > 0)
      fail(ctx, ErrorCode::kInvalidArgument, "input " + x.describe() + " has no classes to draw from");
    Tensor& y = ctx.allocate_output(0, dtype_, {batch, samples_});
    auto put = [&](int64_t i, int64_t v) {
      if (dtype_ == DataType::kInt32) y.data<int32_t>()[i] = static_cast<int32_t>(v);
      else y.data<int64_t>()[i] = v;
    };
    std::mt19937_64 rng = seed_.stream();
    visit_dtype(RealTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x.data<T>();
      std::vector<double> cdf(static_cast<size_t>(classes));
      for (int64_t b = 0; b < batch; ++b) {
        double mx = -INFINITY, total = 0;
        for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, to_double(in[b * classes + c]));
        for (int64_t c = 0; c < classes; ++c) {
          const double e = std::isinf(mx) && mx < 0 ? 1.0 : std::exp(to_double(in[b * classes + c]) - mx);
          total += std::isnan(e) ? 0.0 : e;
          cdf[static_cast<size_t>(c)] = total;
        }
        for (int64_t s = 0; s < samples_; ++s) {
          const double u = std::generate_canonical<double, 53>(rng) * total;
          const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
          put(b * samples_ + s, std::min<int64_t>(it - cdf.begin(), classes - 1));
        }
      }
    });
  }

 private:
  Seed seed_;
  DataType dtype_;   // "dtype": int32 (6)
  int64_t samples_;  // "sample_size": 1
};

}  // namespace

void register_random_kernels(KernelRegistry& r) {
  const auto real = RealTypes::dtypes();
  r.add("RandomNormal", {1, 22}, make_kernel<RandomTensor<Dist::kNormal, false>>, real);
  r.add("RandomUniform", {1, 22}, make_kernel<RandomTensor<Dist::kUniform, false>>, real);
  r.add("RandomNormalLike", {1, 22}, make_kernel<RandomTensor<Dist::kNormal, true>>, real);
  r.add("RandomUniformLike", {1, 22}, make_kernel<RandomTensor<Dist::kUniform, true>>, real);
  r.add("Bernoulli", {15, 22}, make_kernel<Bernoulli>, BernoulliOutTypes::dtypes());
  r.add("Multinomial", {7, 22}, make_kernel<Multinomial>, {DataType::kInt32, DataType::kInt64});
}

}  // namespace ferry::ep::cpu
