// SPDX-License-Identifier: Apache-2.0
// web_assets.hpp — the dashboard's files, built into the binary at build time
// (cmake/embed_assets.cmake writes web_assets.cpp from web/ and uPlot's npm package).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace swarmkeeper::monitor {

struct WebAsset {
  const char* path;  ///< "/index.html"
  const char* type;  ///< its Content-Type
  const unsigned char* data;
  std::size_t size;
};

/// The built-in asset at `path`, or nullptr.
const WebAsset* find_web_asset(std::string_view path);
/// The Content-Type for a file name.
std::string asset_type(std::string_view path);

}  // namespace swarmkeeper::monitor
