#include "api/upload_sink.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <optional>

#include "core/file.h"
#include "core/status.h"
#include "core/strings.h"

namespace ferry::api {
namespace {

namespace fs = std::filesystem;

class FileUploadSink final : public server::BodySink {
 public:
  FileUploadSink(std::string what, UploadFinish finish, core::AtomicFile file)
      : what_(std::move(what)), finish_(std::move(finish)), file_(std::move(file)) {}

  absl::Status Append(std::string_view bytes) override {
    absl::Status written = file_->Append(bytes);
    if (written.ok()) return written;
    return absl::Status(written.code(), core::Cat("storing the upload in ",
                                                  file_->temp_path().parent_path().string(), ": ",
                                                  core::View(written.message())));
  }

  absl::StatusOr<server::Response> Finish() override {
    absl::StatusOr<server::Response> response = finish_(file_->temp_path());
    file_.reset();
    return response;
  }

  void Abort(std::string_view reason) override {
    spdlog::info("upload to {} abandoned: {}", what_, reason);
    file_.reset();
  }

 private:
  const std::string what_;
  const UploadFinish finish_;
  std::optional<core::AtomicFile> file_;  // never committed: resetting removes the file
};

class NoBodySink final : public server::BodySink {
 public:
  explicit NoBodySink(std::function<absl::StatusOr<server::Response>()> finish)
      : finish_(std::move(finish)) {}

  absl::Status Append(std::string_view) override {
    return absl::InvalidArgumentError("this request takes no body");
  }
  absl::StatusOr<server::Response> Finish() override { return finish_(); }
  void Abort(std::string_view) override {}

 private:
  const std::function<absl::StatusOr<server::Response>()> finish_;
};

}  // namespace

server::BodySinkPtr CreateNoBodySink(std::function<absl::StatusOr<server::Response>()> finish) {
  return std::make_unique<NoBodySink>(std::move(finish));
}

absl::StatusOr<server::BodySinkPtr> CreateFileUploadSink(const fs::path& folder, std::string what,
                                                         UploadFinish finish) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return core::ErrnoToStatus(ec.value(), core::Cat("create ", folder.string()));
  ASSIGN_OR_RETURN(core::AtomicFile file, core::AtomicFile::Create(folder / "upload"));
  // Private: what is uploaded is the user's data, readable by no one else meanwhile.
  if (::fchmod(file.fd(), 0600) != 0) {
    return core::ErrnoToStatus(errno, core::Cat("chmod ", file.temp_path().string()));
  }
  return server::BodySinkPtr(
      new FileUploadSink(std::move(what), std::move(finish), std::move(file)));
}

}  // namespace ferry::api
