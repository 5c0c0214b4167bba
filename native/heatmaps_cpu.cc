#include "heatmaps_cpu.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define LMK_SSE2 1
#endif

namespace lmk {
namespace {

// Runs fn(i) for i in [0, count) on up to `threads` threads, handing out items one at a time so that a
// thread slowed by other load on the machine does not hold up the rest. If the system refuses a thread,
// the calling thread does the remaining work.
template <class Fn>
void parallelFor(int64_t count, int threads, const Fn& fn) {
  const int64_t workers = std::min<int64_t>(threads, count);
  if (workers <= 1) {
    for (int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<int64_t> next{0};
  auto loop = [&]() {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < count;) fn(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (int64_t t = 1; t < workers; ++t) {
    try {
      pool.emplace_back(loop);
    } catch (const std::system_error&) {
      break;
    }
  }
  loop();
  for (auto& th : pool) th.join();
}

// Largest value of p[0 .. n), ignoring NaNs; -inf when there is none. MAXPS returns its second operand
// when either is NaN, so keeping the accumulator second drops NaN inputs.
float rowMax(const float* p, int64_t n) {
  int64_t j = 0;
  float m = -INFINITY;
#ifdef LMK_SSE2
  __m128 a0 = _mm_set1_ps(-INFINITY), a1 = a0, a2 = a0, a3 = a0;
  for (; j + 16 <= n; j += 16) {
    a0 = _mm_max_ps(_mm_loadu_ps(p + j), a0);
    a1 = _mm_max_ps(_mm_loadu_ps(p + j + 4), a1);
    a2 = _mm_max_ps(_mm_loadu_ps(p + j + 8), a2);
    a3 = _mm_max_ps(_mm_loadu_ps(p + j + 12), a3);
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, _mm_max_ps(_mm_max_ps(a0, a1), _mm_max_ps(a2, a3)));
  for (float v : lanes) m = v > m ? v : m;
#endif
  for (; j < n; ++j) m = p[j] > m ? p[j] : m;
  return m;
}

}  // namespace

Peak findPeak(const float* hm, int64_t size, int64_t width) {
  Peak best{-1, -INFINITY};
  for (int64_t start = 0; start < size; start += width) {
    const int64_t n = std::min(width, size - start);
    const float m = rowMax(hm + start, n);
    if (m > best.value) {
      int64_t j = 0;
      while (hm[start + j] != m) ++j;
      best = Peak{start + j, hm[start + j]};  // the stored value: MAXPS may return -0 for +0
    }
  }
  return best;
}

void renderCpu(const float* points, const RenderParams& p, float* out, int threads) {
  const double inv2Sigma2 = 1.0 / (2.0 * p.sigma * p.sigma);
  const double radius2 = p.radius * p.radius;
  const int64_t plane = p.height * p.width;
  parallelFor(p.count, threads, [&](int64_t i) {
    float* hm = out + i * plane;
    if (!p.zeroed) std::memset(hm, 0, static_cast<size_t>(plane) * sizeof(float));
    const double px = points[2 * i], py = points[2 * i + 1];
    const Span xs = clippedSpan(px, p.radius, p.width);
    const Span ys = clippedSpan(py, p.radius, p.height);
    if (xs.lo > xs.hi || ys.lo > ys.hi) return;
    std::vector<double> gx(static_cast<size_t>(xs.hi - xs.lo + 1)), dx2(gx.size());
    for (int64_t x = xs.lo; x <= xs.hi; ++x) {
      const double dx = static_cast<double>(x) - px;
      dx2[x - xs.lo] = dx * dx;
      gx[x - xs.lo] = gaussianFactor(dx, inv2Sigma2);
    }
    for (int64_t y = ys.lo; y <= ys.hi; ++y) {
      const double dy = static_cast<double>(y) - py;
      const double dy2 = dy * dy;
      const double gy = gaussianFactor(dy, inv2Sigma2);
      float* row = hm + y * p.width;
      for (int64_t x = xs.lo; x <= xs.hi; ++x)
        if (dx2[x - xs.lo] + dy2 <= radius2) row[x] = static_cast<float>(gx[x - xs.lo] * gy);
    }
  });
}

void decodeCpu(const float* heatmaps, const DecodeParams& p, float* points, float* scores, int threads) {
  const int64_t plane = p.height * p.width;
  parallelFor(p.count, threads, [&](int64_t i) {
    const float* hm = heatmaps + i * plane;
    const Peak peak = findPeak(hm, plane, p.width);
    scores[i] = peak.index < 0 ? NAN : peak.value;
    refinePeak(hm, p.height, p.width, peak, p.method, p.window, points + 2 * i);
  });
}

}  // namespace lmk
