// CPU heatmap rendering and decoding, split over heatmaps and threads.
#pragma once

#include <cstdint>

#include "heatmap_core.h"

namespace lmk {

// Writes count x height x width values to out (all of them, or only the windows when params.zeroed).
void renderCpu(const float* points, const RenderParams& params, float* out, int threads);

// Writes 2 x count coordinates to points and count peak values to scores.
void decodeCpu(const float* heatmaps, const DecodeParams& params, float* points, float* scores, int threads);

// First pixel (raster order) holding the largest value of hm[0 .. size); NaNs are ignored.
Peak findPeak(const float* hm, int64_t size, int64_t width);

}  // namespace lmk
