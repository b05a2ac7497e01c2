// A complex FFT of any length in O(n log n): iterative radix-2 for powers of two, Bluestein's
// chirp-z algorithm (a circular convolution done with radix-2 FFTs) otherwise. Computes in
// double whatever the tensor type. A plan is built once per length and is immutable, so one
// plan serves many threads; each thread passes its own scratch.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace ferry::ep::cpu::signal {

using Complex = std::complex<double>;

class FftPlan {
 public:
  /// n >= 1.
  explicit FftPlan(int64_t n);
  int64_t size() const { return n_; }
  /// In place: data[k] = sum_j data[j] * exp(-+2 pi i jk / n), the sign + when inverse. The
  /// inverse is not scaled by 1/n. `scratch` is resized as needed.
  void run(Complex* data, bool inverse, std::vector<Complex>& scratch) const;

 private:
  void radix2(Complex* data, bool inverse) const;  ///< length m_

  int64_t n_;
  int64_t m_;                        ///< radix-2 length: n_ itself, or >= 2n-1 for Bluestein
  std::vector<Complex> twiddles_;    ///< exp(-2 pi i k / m_), k < m_/2
  std::vector<int64_t> bitrev_;      ///< bit-reversal permutation of m_
  std::vector<Complex> chirp_;       ///< Bluestein: exp(-i pi k^2 / n), k < n
  std::vector<Complex> chirp_fft_;   ///< Bluestein: FFT of the conjugate chirp, wrapped to m_
};

}  // namespace ferry::ep::cpu::signal
