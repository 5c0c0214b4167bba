// CUDA heatmap rendering and decoding (compiled only by the cmake-js build, which defines LMK_WITH_CUDA).
// All pointers are host pointers; each call copies to the device, runs, and copies back.
#pragma once

#include <string>

#include "heatmap_core.h"

namespace lmk {
namespace cuda {

// Number of usable CUDA devices; 0 (and *error set) when there is no driver or device.
int deviceCount(std::string* error);

// Same contracts as renderCpu / decodeCpu. Return "" on success, else the CUDA error message.
std::string render(const float* points, const RenderParams& params, float* out);
std::string decode(const float* heatmaps, const DecodeParams& params, float* points, float* scores);

}  // namespace cuda
}  // namespace lmk
