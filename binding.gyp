{
  # CPU build of the heatmap addon (npm ci -> scripts/build-native.js -> node-gyp). The C++ sources are read
  # from native/sources.json, which CMakeLists.txt (the CUDA build) reads too, so the two lists cannot drift.
  "targets": [
    {
      "target_name": "lmk_heatmaps",
      "sources": ["<!@(node -p \"require('./native/sources.json').cpp.join(' ')\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O3"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "GCC_OPTIMIZATION_LEVEL": "3" },
      "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17"] } }
    }
  ]
}
