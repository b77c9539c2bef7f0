#include "api/file_answer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <random>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::api {

namespace fs = std::filesystem;

absl::StatusOr<std::shared_ptr<server::BodyFile>> BuildFileAnswer(
    const fs::path& folder, std::string_view name,
    const std::function<absl::Status(const fs::path&)>& write) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), core::Cat("create ", folder.string()));
  // Random: concurrent answers never share a name.
  thread_local std::mt19937_64 rng(std::random_device{}());
  const fs::path path = folder / fmt::format(".{}-{}-{:016x}", name, ::getpid(), rng());
  absl::Status written = write(path);
  if (!written.ok()) {
    fs::remove(path, ec);
    return written;
  }
  absl::StatusOr<std::shared_ptr<server::BodyFile>> file = server::BodyFile::Open(path);
  fs::remove(path, ec);  // the open descriptor keeps the bytes until the response is sent
  return file;
}

server::Response VerifiedFileResponse(std::shared_ptr<server::BodyFile> file,
                                      std::string_view content_type, std::string_view sha256_hex) {
  server::Response response;
  response.body_file = std::move(file);
  response.content_type = content_type;
  response.headers.emplace_back("ETag", core::Cat("\"sha256:", sha256_hex, "\""));
  response.headers.emplace_back("X-Ferry-Sha256", std::string(sha256_hex));
  return response;
}

}  // namespace ferry::api
