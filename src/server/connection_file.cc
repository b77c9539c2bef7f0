// Connection, file bodies: a response whose body is a BodyFile goes out as its head and
// then the file, piece by piece through one reused buffer (see connection.h).

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "server/body_file.h"
#include "server/connection.h"

namespace ferry::server {
namespace {

constexpr size_t kFilePieceBytes = 256 << 10;

}  // namespace

void Connection::WriteFilePiece() {
  if (!file_buffer_) file_buffer_ = std::make_unique<char[]>(kFilePieceBytes);
  const bool first = file_written_ == 0;
  const size_t want =
      static_cast<size_t>(std::min<uint64_t>(kFilePieceBytes, body_bytes_ - file_written_));
  // pread on the IO thread, not the blocking pool: the files answered this way were just
  // written by the handler, so a piece comes from the page cache in tens of
  // microseconds, less than the round trip to another thread and back would cost per
  // piece. A file on a slow disk would stall this thread's other connections meanwhile.
  absl::StatusOr<size_t> got = response_.body_file->ReadAt(file_written_, file_buffer_.get(), want);
  if (!got.ok() || *got == 0) {
    // The head (sent, or about to be with nothing after it) promised more bytes than
    // there are: closing is the only way left to tell the client.
    spdlog::error("{}: {} {}: cannot read the response body at byte {} of {}: {}",
                  request_.remote_address(), request_.method_name(), request_.path(), file_written_,
                  body_bytes_,
                  got.ok() ? "the file is shorter" : std::string(got.status().message()));
    Close();
    return;
  }
  file_piece_ = *got;
  deadline_ = Clock::now() + worker_.context().request_timeout;
  std::array<asio::const_buffer, 2> buffers = {first ? asio::buffer(head_) : asio::const_buffer(),
                                               asio::const_buffer(file_buffer_.get(), file_piece_)};
  auto done = [self = shared_from_this()](const ErrorCode& ec, size_t) {
    self->OnFilePieceWritten(ec);
  };
  if (tls_) {
    asio::async_write(*tls_, buffers, std::move(done));
  } else {
    asio::async_write(socket_, buffers, std::move(done));
  }
}

void Connection::OnFilePieceWritten(const ErrorCode& ec) {
  if (state_ == State::kClosed) return;
  if (ec) {
    spdlog::debug("{}: {} {}: the client left after {} of {} bytes: {}", request_.remote_address(),
                  request_.method_name(), request_.path(), file_written_, body_bytes_,
                  ec.message());
    Close();
    return;
  }
  file_written_ += file_piece_;
  if (file_written_ < body_bytes_) {
    WriteFilePiece();
    return;
  }
  OnWritten(ErrorCode(), Completion::kQueued);
}

}  // namespace ferry::server
