#pragma once

// The dashboard's routes: the single-page app embedded by ui_assets.h, open to anyone
// (static files holding no data; every datum comes from /api/v1 with the user's token).
//
//   GET /ui                  301 to /ui/
//   GET /ui/assets/{file}    an asset of the build (content-hashed names): cached for a
//                            year as immutable; 404 when unknown
//   GET /ui/{path...}        index.html, revalidated each time (Cache-Control: no-cache),
//                            for any client-side route, so pages reload and link
//
// Every answer has an ETag (304 on a matching If-None-Match), is gzip-encoded when the
// client accepts it and a compressed copy exists (Vary: Accept-Encoding), and carries
// security headers: a Content-Security-Policy allowing only the server's own scripts,
// styles and API (no inline script, no framing), nosniff, and no referrer.

#include "absl/status/status.h"
#include "server/router.h"

namespace ferry::ui {

absl::Status AddUiRoutes(server::Router& router);

}  // namespace ferry::ui
