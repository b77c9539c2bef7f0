#pragma once

// The dashboard's files (ui/, built by Vite), embedded in the binary at build time by
// ui/scripts/embed.mjs into a generated ui_assets.cc: nothing is read from disk or
// fetched at runtime. Each asset's ETag is the SHA-256 of its bytes; text types carry a
// gzip copy compressed at build time (empty when compression would not shrink it).
// With FERRY_BUILD_UI=OFF the table is empty.
//
// Thread-safety: immutable static data.

#include <span>
#include <string_view>

namespace ferry::ui {

struct UiAsset {
  std::string_view path;          // relative to the build's root: "index.html", "assets/x.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // "\"sha256-HEX\"", quoted as sent
  std::string_view body;
  std::string_view gzip_body;  // empty: send body as is
};

// Every embedded file, sorted by path.
std::span<const UiAsset> UiAssets();

// The asset at `path` ("assets/index-abc.js"), or nullptr.
const UiAsset* FindUiAsset(std::string_view path);

}  // namespace ferry::ui
