// Per-heatmap arithmetic shared by the CPU code and the CUDA kernels (one implementation, two compilers).
// Everything here works on one heatmap and trusts its arguments: the binding validates them first.
// Coordinates are (x, y) = (column, row), pixel centres at integers. Sums are in double so that the
// CPU, CUDA and TypeScript versions agree to well under 1e-5.
#pragma once

#include <math.h>
#include <cstdint>

#ifdef __CUDACC__
#define LMK_HD __host__ __device__
#else
#define LMK_HD
#endif

namespace lmk {

enum DecodeMethod : int { kArgmax = 0, kSoftArgmax = 1, kGaussianFit = 2 };

struct RenderParams {
  int64_t count;  // heatmaps to render: one per (x, y) pair of points
  int64_t height;
  int64_t width;
  double sigma;
  double radius;  // truncation radius in pixels: zero where the distance to the landmark exceeds it
  bool zeroed;    // the output is known to hold zeros (freshly allocated): only the windows are written
};

struct DecodeParams {
  int64_t count;  // heatmaps to decode
  int64_t height;
  int64_t width;
  int method;      // DecodeMethod
  int64_t window;  // half-width of the refinement window in pixels
};

// Inclusive pixel range [lo, hi] of the image covered by [centre - radius, centre + radius]; lo > hi when
// empty. Clamped in double before the cast, so that far-away (but finite) landmarks cannot overflow.
struct Span {
  int64_t lo;
  int64_t hi;
};

LMK_HD inline Span clippedSpan(double centre, double radius, int64_t size) {
  const double lo = fmax(ceil(centre - radius), 0.0);
  const double hi = fmin(floor(centre + radius), static_cast<double>(size - 1));
  if (!(lo <= hi)) return Span{1, 0};
  return Span{static_cast<int64_t>(lo), static_cast<int64_t>(hi)};
}

// One factor of the separable Gaussian: exp(-d^2 / (2 sigma^2)). The heatmap value at (x, y) is
// gaussianFactor(x - px) * gaussianFactor(y - py) where (x - px)^2 + (y - py)^2 <= radius^2, else 0.
LMK_HD inline double gaussianFactor(double d, double inv2Sigma2) { return exp(-d * d * inv2Sigma2); }

struct Peak {
  int64_t index;  // -1 when the heatmap holds no comparable value (all NaN)
  float value;
};

LMK_HD inline int64_t min3(int64_t a, int64_t b, int64_t c) { return a < b ? (a < c ? a : c) : (b < c ? b : c); }

// Soft-argmax: mean of the pixel coordinates in the (2 window + 1)^2 square around the peak, weighted by
// the heatmap clamped at 0 (network outputs can be negative). Near a border the window shrinks on both
// sides alike, as a one-sided cut would pull the mean inwards. Falls back to the peak pixel itself when
// no weight is positive.
LMK_HD inline void softArgmax(const float* hm, int64_t height, int64_t width, int64_t px, int64_t py, int64_t window,
                              double* outX, double* outY) {
  const int64_t halfX = min3(window, px, width - 1 - px);
  const int64_t halfY = min3(window, py, height - 1 - py);
  const int64_t x0 = px - halfX, x1 = px + halfX, y0 = py - halfY, y1 = py + halfY;
  double sw = 0, swx = 0, swy = 0;
  for (int64_t y = y0; y <= y1; ++y) {
    const float* row = hm + y * width;
    double rowW = 0, rowWx = 0;
    for (int64_t x = x0; x <= x1; ++x) {
      const double v = row[x] > 0.0f ? static_cast<double>(row[x]) : 0.0;
      rowW += v;
      rowWx += v * static_cast<double>(x);
    }
    sw += rowW;
    swx += rowWx;
    swy += rowW * static_cast<double>(y);
  }
  if (sw > 0) {
    *outX = swx / sw;
    *outY = swy / sw;
  } else {
    *outX = static_cast<double>(px);
    *outY = static_cast<double>(py);
  }
}

// Gaussian fit: weighted least squares of log(v) = a + b dx + c dy + d (dx^2 + dy^2) over the positive
// pixels of the window (dx, dy relative to the peak), weights v^2 (Guo 2011: the weight undoes the noise
// amplification of the log at small values). An isotropic Gaussian's log is exactly this quadratic, so the
// fit recovers the centre without the truncation bias of a windowed mean; the same log-domain model is what
// DARK (Zhang et al., CVPR 2020) uses for heatmap decoding. Returns false (the caller falls back to
// soft-argmax) when the system is singular, the curvature is not negative, or the centre leaves the window.
LMK_HD inline bool gaussianFit(const float* hm, int64_t height, int64_t width, int64_t px, int64_t py, int64_t window,
                               double* outX, double* outY) {
  const int64_t x0 = px - window < 0 ? 0 : px - window;
  const int64_t x1 = px + window >= width ? width - 1 : px + window;
  const int64_t y0 = py - window < 0 ? 0 : py - window;
  const int64_t y1 = py + window >= height ? height - 1 : py + window;
  double m[4][5] = {};  // normal equations [A^T W A | A^T W log v]
  for (int64_t y = y0; y <= y1; ++y) {
    const float* row = hm + y * width;
    for (int64_t x = x0; x <= x1; ++x) {
      const float v = row[x];
      if (!(v > 0.0f && v <= 3.402823466e+38f)) continue;  // positive and finite
      const double w = static_cast<double>(v) * static_cast<double>(v);
      const double dx = static_cast<double>(x - px);
      const double dy = static_cast<double>(y - py);
      const double basis[4] = {1.0, dx, dy, dx * dx + dy * dy};
      const double target = log(static_cast<double>(v));
      for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 4; ++j) m[i][j] += w * basis[i] * basis[j];
        m[i][4] += w * basis[i] * target;
      }
    }
  }
  // Gaussian elimination with partial pivoting; a pivot below 1e-12 of the largest diagonal is singular.
  const double scale = fmax(fmax(m[0][0], m[1][1]), fmax(m[2][2], m[3][3]));
  if (!(scale > 0)) return false;
  for (int col = 0; col < 4; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 4; ++r)
      if (fabs(m[r][col]) > fabs(m[pivot][col])) pivot = r;
    if (!(fabs(m[pivot][col]) > 1e-12 * scale)) return false;
    if (pivot != col)
      for (int j = 0; j < 5; ++j) {
        const double t = m[col][j];
        m[col][j] = m[pivot][j];
        m[pivot][j] = t;
      }
    for (int r = col + 1; r < 4; ++r) {
      const double f = m[r][col] / m[col][col];
      for (int j = col; j < 5; ++j) m[r][j] -= f * m[col][j];
    }
  }
  double coef[4];
  for (int r = 3; r >= 0; --r) {
    double s = m[r][4];
    for (int j = r + 1; j < 4; ++j) s -= m[r][j] * coef[j];
    coef[r] = s / m[r][r];
  }
  if (!(coef[3] < 0)) return false;
  const double cx = -coef[1] / (2 * coef[3]);
  const double cy = -coef[2] / (2 * coef[3]);
  const double limit = static_cast<double>(window) + 0.5;
  if (!(fabs(cx) <= limit && fabs(cy) <= limit)) return false;
  *outX = static_cast<double>(px) + cx;
  *outY = static_cast<double>(py) + cy;
  return true;
}

// Sub-pixel position of one heatmap given its peak; NaN when there is no peak.
LMK_HD inline void refinePeak(const float* hm, int64_t height, int64_t width, Peak peak, int method, int64_t window,
                              float* point) {
  if (peak.index < 0) {
    point[0] = point[1] = NAN;
    return;
  }
  const int64_t px = peak.index % width;
  const int64_t py = peak.index / width;
  double x = static_cast<double>(px), y = static_cast<double>(py);
  if (method == kSoftArgmax) {
    softArgmax(hm, height, width, px, py, window, &x, &y);
  } else if (method == kGaussianFit) {
    if (!gaussianFit(hm, height, width, px, py, window, &x, &y)) softArgmax(hm, height, width, px, py, window, &x, &y);
  }
  point[0] = static_cast<float>(x);
  point[1] = static_cast<float>(y);
}

}  // namespace lmk
