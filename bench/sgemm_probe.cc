// ferry_sgemm_probe: the machine's practical fp32 GEMM peak, the yardstick bench/ divides each
// model's achieved GFLOP/s by.
//
// Times oneDNN's dnnl_sgemm (run-time ISA dispatch, so the fastest sgemm on this CPU) on square
// row-major C = A * B for each size and thread count, best of several repetitions after a
// warm-up, and prints one JSON object on stdout:
//   {"isa": "...", "results": [{"threads": 1, "n": 1024, "seconds": ..., "gflops": ...}, ...],
//    "peak_gflops": {"1": ..., "2": ...}}
// peak_gflops is the best over sizes for each thread count.
//
// Usage: ferry_sgemm_probe [--threads 1,2] [--sizes 512,1024,2048] [--reps 10]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

namespace {

std::vector<int> parse_list(const char* text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(std::atoi(item.c_str()));
  }
  return out;
}

const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

// Best wall time of `reps` calls of C = A * B (n x n, fp32) on `threads` OpenMP threads.
double time_sgemm(int n, int threads, int reps) {
  omp_set_num_threads(threads);
  std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = float((i * 7) % 13) / 13.0f - 0.5f;
    b[i] = float((i * 5) % 11) / 11.0f - 0.5f;
  }
  auto run = [&] {
    return dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  };
  if (run() != dnnl_success) {
    std::fprintf(stderr, "ferry_sgemm_probe: dnnl_sgemm failed for n=%d\n", n);
    std::exit(1);
  }
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads{1, 2}, sizes{512, 1024, 2048};
  int reps = 10;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 == argc) flag = "";  // a flag without its value: usage
    if (flag == "--threads") threads = parse_list(argv[i + 1]);
    else if (flag == "--sizes") sizes = parse_list(argv[i + 1]);
    else if (flag == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
    else {
      std::fprintf(stderr, "usage: %s [--threads 1,2] [--sizes 512,1024,2048] [--reps 10]\n", argv[0]);
      return 2;
    }
  }
  std::map<int, double> peak;
  std::string results;
  for (int t : threads) {
    for (int n : sizes) {
      double s = time_sgemm(n, t, reps);
      double gflops = 2.0 * n * double(n) * n / s / 1e9;
      peak[t] = std::max(peak[t], gflops);
      char row[160];
      std::snprintf(row, sizeof row, "%s{\"threads\": %d, \"n\": %d, \"seconds\": %.6g, \"gflops\": %.4g}",
                    results.empty() ? "" : ", ", t, n, s, gflops);
      results += row;
    }
  }
  std::printf("{\"isa\": \"%s\", \"results\": [%s], \"peak_gflops\": {", isa_name(dnnl_get_effective_cpu_isa()),
              results.c_str());
  bool first = true;
  for (auto& [t, g] : peak) {
    std::printf("%s\"%d\": %.4g", first ? "" : ", ", t, g);
    first = false;
  }
  std::printf("}}\n");
  return 0;
}
