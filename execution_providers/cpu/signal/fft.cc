#include "execution_providers/cpu/signal/fft.h"

#include <cmath>
#include <numbers>
#include <utility>

namespace ferry::ep::cpu::signal {

FftPlan::FftPlan(int64_t n) : n_(n) {
  const bool pow2 = (n & (n - 1)) == 0;
  m_ = 1;
  while (m_ < (pow2 ? n : 2 * n - 1)) m_ *= 2;
  twiddles_.resize(static_cast<size_t>(m_ / 2));
  for (int64_t k = 0; k < m_ / 2; ++k)
    twiddles_[k] = std::polar(1.0, -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(m_));
  bitrev_.resize(static_cast<size_t>(m_));
  int bits = 0;
  while ((int64_t{1} << bits) < m_) ++bits;
  for (int64_t i = 0; i < m_; ++i) {
    int64_t r = 0;
    for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
    bitrev_[i] = r;
  }
  if (pow2) return;
  chirp_.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    // k^2 mod 2n keeps the angle small and exact for large k.
    const int64_t q = static_cast<int64_t>((static_cast<unsigned __int128>(k) * k) % (2 * n));
    chirp_[k] = std::polar(1.0, -std::numbers::pi * static_cast<double>(q) / static_cast<double>(n));
  }
  chirp_fft_.assign(static_cast<size_t>(m_), Complex{});
  chirp_fft_[0] = std::conj(chirp_[0]);
  for (int64_t k = 1; k < n; ++k) chirp_fft_[k] = chirp_fft_[m_ - k] = std::conj(chirp_[k]);
  radix2(chirp_fft_.data(), false);
}

void FftPlan::radix2(Complex* data, bool inverse) const {
  for (int64_t i = 0; i < m_; ++i)
    if (i < bitrev_[i]) std::swap(data[i], data[bitrev_[i]]);
  for (int64_t len = 2; len <= m_; len *= 2) {
    const int64_t half = len / 2, step = m_ / len;
    for (int64_t start = 0; start < m_; start += len) {
      for (int64_t k = 0; k < half; ++k) {
        const Complex w = inverse ? std::conj(twiddles_[k * step]) : twiddles_[k * step];
        const Complex t = w * data[start + k + half];
        data[start + k + half] = data[start + k] - t;
        data[start + k] += t;
      }
    }
  }
}

void FftPlan::run(Complex* data, bool inverse, std::vector<Complex>& scratch) const {
  if (chirp_.empty()) return radix2(data, inverse);
  // Bluestein: X_k = c_k * sum_j (x_j c_j) conj(c_{k-j}), c_k = exp(-i pi k^2 / n). The inverse
  // transform is the conjugate of the forward transform of the conjugate.
  scratch.assign(static_cast<size_t>(m_), Complex{});
  for (int64_t j = 0; j < n_; ++j) scratch[j] = (inverse ? std::conj(data[j]) : data[j]) * chirp_[j];
  radix2(scratch.data(), false);
  for (int64_t k = 0; k < m_; ++k) scratch[k] *= chirp_fft_[k];
  radix2(scratch.data(), true);
  const double scale = 1.0 / static_cast<double>(m_);
  for (int64_t k = 0; k < n_; ++k) {
    const Complex v = scratch[k] * scale * chirp_[k];
    data[k] = inverse ? std::conj(v) : v;
  }
}

}  // namespace ferry::ep::cpu::signal
