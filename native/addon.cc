// Node-API binding of the heatmap kernels. Every argument is checked here, before any memory is touched,
// so that a wrong call from JavaScript is a TypeError or RangeError naming the argument and never a crash.
// Outputs are allocated by the caller (JavaScript) and passed in, so that this file never allocates JS
// memory from a worker thread and the async forms can hold plain references.
//
//   render(points, height, width, sigma, radius, out, outZeroed, threads, useCuda) -> out
//   decode(heatmaps, count, height, width, method, window, points, scores, threads, useCuda) -> undefined
//   renderAsync(...same...) -> Promise<out>;  decodeAsync(...same...) -> Promise<undefined>
//   info() -> { cuda: boolean, cudaDevices: number, cudaError?: string }
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "heatmaps_cpu.h"
#ifdef LMK_WITH_CUDA
#include "heatmaps_cuda.h"
#endif

namespace {

constexpr int64_t kMaxDim = 0x7fffffff;  // a dimension must fit CUDA's grid and an int index
constexpr int kMaxThreads = 1024;

struct View {
  float* data;
  size_t length;
};

View float32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Float32Array");
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  return View{a.Data(), a.ElementLength()};
}

double numberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t integerArg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max) {
  const double d = numberArg(info, i, name);
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer from " + std::to_string(min) +
                                                " to " + std::to_string(max));
  return static_cast<int64_t>(d);
}

double positiveArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const double d = numberArg(info, i, name);
  if (!(d > 0 && d <= 1e300)) throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a positive finite number");
  return d;
}

bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// count x height x width, or a RangeError when it overflows or differs from the array's length.
void requireLength(const Napi::Env& env, const View& v, const char* name, int64_t count, int64_t height, int64_t width) {
  // Each factor is below 2^31, so height x width cannot overflow 64 bits; the count is checked by division.
  const uint64_t plane = static_cast<uint64_t>(height) * static_cast<uint64_t>(width);
  if (static_cast<uint64_t>(count) > UINT64_MAX / plane) throw Napi::RangeError::New(env, "count x height x width overflows");
  const uint64_t n = static_cast<uint64_t>(count) * plane;
  if (v.length != n)
    throw Napi::RangeError::New(env, std::string(name) + " has " + std::to_string(v.length) + " values; expected " +
                                         std::to_string(n));
}

void requireDisjoint(const Napi::Env& env, const View& a, const char* aName, const View& b, const char* bName) {
  const auto aStart = reinterpret_cast<uintptr_t>(a.data), bStart = reinterpret_cast<uintptr_t>(b.data);
  if (a.length && b.length && aStart < bStart + b.length * sizeof(float) && bStart < aStart + a.length * sizeof(float))
    throw Napi::RangeError::New(env, std::string(aName) + " must not share memory with " + bName);
}

void requireCuda(const Napi::Env& env, bool useCuda) {
#ifndef LMK_WITH_CUDA
  if (useCuda) throw Napi::Error::New(env, "this lmk addon was built without CUDA (npm run build:cuda)");
#else
  (void)env;
  (void)useCuda;
#endif
}

// A validated call, with the JavaScript arrays it reads and writes held alive while it runs.
struct RenderJob {
  View points, out;
  lmk::RenderParams params;
  int threads;
  bool useCuda;

  static RenderJob parse(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    RenderJob job{};
    job.points = float32Arg(info, 0, "points");
    if (job.points.length == 0 || job.points.length % 2 != 0)
      throw Napi::RangeError::New(env, "points must hold one or more (x, y) pairs (got " + std::to_string(job.points.length) +
                                           " values)");
    for (size_t k = 0; k < job.points.length; ++k) {
      const float c = job.points.data[k];
      if (!(c >= -3.402823466e+38f && c <= 3.402823466e+38f))
        throw Napi::RangeError::New(env, "points[" + std::to_string(k) + "] is not a finite number");
    }
    job.params.count = static_cast<int64_t>(job.points.length / 2);
    if (job.params.count > kMaxDim) throw Napi::RangeError::New(env, "points holds too many landmarks");
    job.params.height = integerArg(info, 1, "height", 1, kMaxDim);
    job.params.width = integerArg(info, 2, "width", 1, kMaxDim);
    job.params.sigma = positiveArg(info, 3, "sigma");
    job.params.radius = positiveArg(info, 4, "radius");
    job.out = float32Arg(info, 5, "out");
    requireLength(env, job.out, "out", job.params.count, job.params.height, job.params.width);
    requireDisjoint(env, job.out, "out", job.points, "points");
    job.params.zeroed = boolArg(info, 6, "outZeroed");
    job.threads = static_cast<int>(integerArg(info, 7, "threads", 1, kMaxThreads));
    job.useCuda = boolArg(info, 8, "useCuda");
    requireCuda(env, job.useCuda);
    return job;
  }

  // "" on success, else the message of a runtime (CUDA) failure.
  std::string run() const {
#ifdef LMK_WITH_CUDA
    if (useCuda) return lmk::cuda::render(points.data, params, out.data);
#endif
    lmk::renderCpu(points.data, params, out.data, threads);
    return "";
  }
};

struct DecodeJob {
  View heatmaps, points, scores;
  lmk::DecodeParams params;
  int threads;
  bool useCuda;

  static DecodeJob parse(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    DecodeJob job{};
    job.heatmaps = float32Arg(info, 0, "heatmaps");
    job.params.count = integerArg(info, 1, "count", 1, kMaxDim);
    job.params.height = integerArg(info, 2, "height", 1, kMaxDim);
    job.params.width = integerArg(info, 3, "width", 1, kMaxDim);
    requireLength(env, job.heatmaps, "heatmaps", job.params.count, job.params.height, job.params.width);
    job.params.method = static_cast<int>(integerArg(info, 4, "method", lmk::kArgmax, lmk::kGaussianFit));
    job.params.window = integerArg(info, 5, "window", 1, kMaxDim);
    job.points = float32Arg(info, 6, "points");
    job.scores = float32Arg(info, 7, "scores");
    if (job.points.length != static_cast<size_t>(2 * job.params.count))
      throw Napi::RangeError::New(env, "points must hold 2 x count values");
    if (job.scores.length != static_cast<size_t>(job.params.count))
      throw Napi::RangeError::New(env, "scores must hold count values");
    requireDisjoint(env, job.points, "points", job.heatmaps, "heatmaps");
    requireDisjoint(env, job.scores, "scores", job.heatmaps, "heatmaps");
    requireDisjoint(env, job.scores, "scores", job.points, "points");
    job.threads = static_cast<int>(integerArg(info, 8, "threads", 1, kMaxThreads));
    job.useCuda = boolArg(info, 9, "useCuda");
    requireCuda(env, job.useCuda);
    return job;
  }

  std::string run() const {
#ifdef LMK_WITH_CUDA
    if (useCuda) return lmk::cuda::decode(heatmaps.data, params, points.data, scores.data);
#endif
    lmk::decodeCpu(heatmaps.data, params, points.data, scores.data, threads);
    return "";
  }
};

void requireArgs(const Napi::CallbackInfo& info, size_t n) {
  if (info.Length() != n)
    throw Napi::TypeError::New(info.Env(), "expected " + std::to_string(n) + " arguments, got " + std::to_string(info.Length()));
}

Napi::Value Render(const Napi::CallbackInfo& info) {
  requireArgs(info, 9);
  const RenderJob job = RenderJob::parse(info);
  const std::string err = job.run();
  if (!err.empty()) throw Napi::Error::New(info.Env(), err);
  return info[5];
}

Napi::Value Decode(const Napi::CallbackInfo& info) {
  requireArgs(info, 10);
  const DecodeJob job = DecodeJob::parse(info);
  const std::string err = job.run();
  if (!err.empty()) throw Napi::Error::New(info.Env(), err);
  return info.Env().Undefined();
}

// Runs a job on the libuv thread pool (which then fans out over its own threads) and settles a promise
// with `result`. The references keep the arrays, and so the memory the job points into, alive until then.
template <class Job>
class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(const Napi::Env& env, Job job, const Napi::CallbackInfo& info, size_t arrays[], size_t arrayCount, Napi::Value result)
      : Napi::AsyncWorker(env, "lmkHeatmaps"), job_(job), deferred_(Napi::Promise::Deferred::New(env)) {
    for (size_t k = 0; k < arrayCount; ++k) held_.push_back(Napi::Persistent(info[arrays[k]].As<Napi::Object>()));
    result_ = Napi::Persistent(Napi::Object::New(env));
    result_.Set("value", result);
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    const std::string err = job_.run();
    if (!err.empty()) SetError(err);
  }
  void OnOK() override { deferred_.Resolve(result_.Get("value")); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Job job_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> held_;
  Napi::ObjectReference result_;
};

Napi::Value RenderAsync(const Napi::CallbackInfo& info) {
  requireArgs(info, 9);
  const RenderJob job = RenderJob::parse(info);
  size_t arrays[] = {0, 5};
  auto* worker = new JobWorker<RenderJob>(info.Env(), job, info, arrays, 2, info[5]);
  worker->Queue();
  return worker->promise();
}

Napi::Value DecodeAsync(const Napi::CallbackInfo& info) {
  requireArgs(info, 10);
  const DecodeJob job = DecodeJob::parse(info);
  size_t arrays[] = {0, 6, 7};
  auto* worker = new JobWorker<DecodeJob>(info.Env(), job, info, arrays, 3, info.Env().Undefined());
  worker->Queue();
  return worker->promise();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
#ifdef LMK_WITH_CUDA
  std::string error;
  const int devices = lmk::cuda::deviceCount(&error);
  o.Set("cuda", true);
  o.Set("cudaDevices", devices);
  if (!error.empty()) o.Set("cudaError", error);
#else
  o.Set("cuda", false);
  o.Set("cudaDevices", 0);
#endif
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("render", Napi::Function::New(env, Render, "render"));
  exports.Set("decode", Napi::Function::New(env, Decode, "decode"));
  exports.Set("renderAsync", Napi::Function::New(env, RenderAsync, "renderAsync"));
  exports.Set("decodeAsync", Napi::Function::New(env, DecodeAsync, "decodeAsync"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(lmk_heatmaps, Init)
