#include <cuda_runtime.h>

#include "heatmaps_cuda.h"

namespace lmk {
namespace cuda {
namespace {

constexpr int kThreads = 256;

// Device allocation released on every path out of a call.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  cudaError_t allocate(size_t bytes) { return cudaMalloc(&ptr_, bytes); }
  float* get() const { return static_cast<float*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

std::string describe(cudaError_t err, const char* what) {
  return std::string("CUDA ") + what + " failed: " + cudaGetErrorString(err);
}

// One block per heatmap; its threads cover the truncation window (the rest was zeroed by cudaMemset).
__global__ void renderKernel(const float* points, RenderParams p, float* out) {
  const int64_t i = blockIdx.x;
  const double px = points[2 * i], py = points[2 * i + 1];
  const Span xs = clippedSpan(px, p.radius, p.width);
  const Span ys = clippedSpan(py, p.radius, p.height);
  if (xs.lo > xs.hi || ys.lo > ys.hi) return;
  const double inv2Sigma2 = 1.0 / (2.0 * p.sigma * p.sigma);
  const double radius2 = p.radius * p.radius;
  const int64_t spanW = xs.hi - xs.lo + 1;
  const int64_t area = spanW * (ys.hi - ys.lo + 1);
  float* hm = out + i * p.height * p.width;
  for (int64_t k = threadIdx.x; k < area; k += blockDim.x) {
    const int64_t x = xs.lo + k % spanW, y = ys.lo + k / spanW;
    const double dx = static_cast<double>(x) - px, dy = static_cast<double>(y) - py;
    if (dx * dx + dy * dy <= radius2)
      hm[y * p.width + x] = static_cast<float>(gaussianFactor(dx, inv2Sigma2) * gaussianFactor(dy, inv2Sigma2));
  }
}

// Larger value wins; equal values go to the earlier pixel, as in the CPU scan.
__device__ bool better(float v, int64_t idx, float bv, int64_t bidx) {
  if (idx < 0) return false;
  if (bidx < 0) return true;
  return v > bv || (v == bv && idx < bidx);
}

// One block per heatmap: block-wide argmax, then one thread refines it with the shared per-heatmap code.
__global__ void decodeKernel(const float* heatmaps, DecodeParams p, float* points, float* scores) {
  __shared__ float values[kThreads];
  __shared__ int64_t indices[kThreads];
  const int64_t i = blockIdx.x;
  const int64_t plane = p.height * p.width;
  const float* hm = heatmaps + i * plane;
  float bv = -INFINITY;
  int64_t bidx = -1;
  for (int64_t k = threadIdx.x; k < plane; k += blockDim.x) {
    if (hm[k] > bv) {  // strict, and false for NaN: the first occurrence in this thread's stride wins
      bv = hm[k];
      bidx = k;
    }
  }
  values[threadIdx.x] = bv;
  indices[threadIdx.x] = bidx;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s && better(values[threadIdx.x + s], indices[threadIdx.x + s], values[threadIdx.x],
                                  indices[threadIdx.x])) {
      values[threadIdx.x] = values[threadIdx.x + s];
      indices[threadIdx.x] = indices[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const Peak peak{indices[0], values[0]};
    scores[i] = peak.index < 0 ? NAN : peak.value;
    refinePeak(hm, p.height, p.width, peak, p.method, p.window, points + 2 * i);
  }
}

}  // namespace

int deviceCount(std::string* error) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    *error = cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error so later calls report their own
    return 0;
  }
  return count;
}

std::string render(const float* points, const RenderParams& p, float* out) {
  const size_t outBytes = static_cast<size_t>(p.count * p.height * p.width) * sizeof(float);
  const size_t pointBytes = static_cast<size_t>(2 * p.count) * sizeof(float);
  DeviceBuffer dPoints, dOut;
  cudaError_t err;
  if ((err = dPoints.allocate(pointBytes)) != cudaSuccess) return describe(err, "cudaMalloc (points)");
  if ((err = dOut.allocate(outBytes)) != cudaSuccess) return describe(err, "cudaMalloc (heatmaps)");
  if ((err = cudaMemcpy(dPoints.get(), points, pointBytes, cudaMemcpyHostToDevice)) != cudaSuccess)
    return describe(err, "cudaMemcpy (points)");
  if ((err = cudaMemset(dOut.get(), 0, outBytes)) != cudaSuccess) return describe(err, "cudaMemset");  // even when params.zeroed: whole planes are copied back over out
  renderKernel<<<static_cast<unsigned>(p.count), kThreads>>>(dPoints.get(), p, dOut.get());
  if ((err = cudaGetLastError()) != cudaSuccess) return describe(err, "render kernel launch");
  if ((err = cudaMemcpy(out, dOut.get(), outBytes, cudaMemcpyDeviceToHost)) != cudaSuccess)
    return describe(err, "render");
  return "";
}

std::string decode(const float* heatmaps, const DecodeParams& p, float* points, float* scores) {
  const size_t inBytes = static_cast<size_t>(p.count * p.height * p.width) * sizeof(float);
  DeviceBuffer dIn, dPoints, dScores;
  cudaError_t err;
  if ((err = dIn.allocate(inBytes)) != cudaSuccess) return describe(err, "cudaMalloc (heatmaps)");
  if ((err = dPoints.allocate(static_cast<size_t>(2 * p.count) * sizeof(float))) != cudaSuccess)
    return describe(err, "cudaMalloc (points)");
  if ((err = dScores.allocate(static_cast<size_t>(p.count) * sizeof(float))) != cudaSuccess)
    return describe(err, "cudaMalloc (scores)");
  if ((err = cudaMemcpy(dIn.get(), heatmaps, inBytes, cudaMemcpyHostToDevice)) != cudaSuccess)
    return describe(err, "cudaMemcpy (heatmaps)");
  decodeKernel<<<static_cast<unsigned>(p.count), kThreads>>>(dIn.get(), p, dPoints.get(), dScores.get());
  if ((err = cudaGetLastError()) != cudaSuccess) return describe(err, "decode kernel launch");
  if ((err = cudaMemcpy(points, dPoints.get(), static_cast<size_t>(2 * p.count) * sizeof(float),
                        cudaMemcpyDeviceToHost)) != cudaSuccess)
    return describe(err, "decode");
  if ((err = cudaMemcpy(scores, dScores.get(), static_cast<size_t>(p.count) * sizeof(float),
                        cudaMemcpyDeviceToHost)) != cudaSuccess)
    return describe(err, "cudaMemcpy (scores)");
  return "";
}

}  // namespace cuda
}  // namespace lmk
