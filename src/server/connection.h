#pragma once

// Connection: one accepted TCP connection, from its first byte to its close, served
// on its worker's thread. It reads into a buffer it keeps for its whole life, parses
// requests with a RequestParser constructed in place per request, dispatches them
// through the Router, and writes the response head (from a reused string) and body in
// one gathered write, tried at once and only queued when the socket cannot take it all. Keep-alive
// and pipelining follow HTTP/1.1; requests are answered one at a time, in order.
//
// A request for a streaming route (router.h, body_sink.h) is routed as soon as its
// header has arrived, and its body is handed to the route's BodySink piece by piece
// (connection_stream.cc). The sink's calls run on the server's BlockingPool, never on
// this thread, because they may block for long (disk writes; a Finish that adds a
// dataset of many GiB takes seconds) and this thread serves other connections
// meanwhile; each call's outcome is posted back here. Backpressure: while the sink
// appends one piece, at most one more piece is parsed and one read buffer filled, then
// reading stops until the sink catches up, so the memory a connection holds stays
// bounded (three 256 KiB buffers) whatever the body's size.
//
// A response with a body_file (body_file.h) is written as its head and then the file,
// one piece at a time through a 256 KiB buffer the connection keeps once it has used
// it (connection_file.cc): memory stays bounded whatever the file's size, and the write
// deadline is renewed for every piece, so a slow client that keeps reading is not cut
// off. The file is released once the response is written or the connection closes.
//
// HTTPS: when the server has a TLS context, the connection first completes the TLS
// handshake (within request_timeout, as state kReading), then reads and writes through
// the TLS stream; responses are then always written asynchronously, and a closing
// connection sends TLS's close_notify instead of lingering.
//
// States and their deadlines (enforced by the worker's sweeper):
//   kIdle      waiting for the first byte of a request     idle_timeout
//   kReading   reading a request's header and body         request_timeout from its first byte;
//                                                          for a streamed body, from the last
//                                                          read issued (none while only the
//                                                          sink is behind)
//   kFinishing a streamed body is complete and the sink's  none (the server's own work)
//              Finish runs on the blocking pool
//   kWriting   writing a response                          request_timeout (for a file
//                                                          body: per piece)
//   kLingering response sent with "Connection: close",     request_timeout
//              write side shut, draining what the client
//              still sends so it reads the response instead of a reset
//   kClosed
// A request that breaks the protocol or a limit is answered (400, 413, 431) with
// "Connection: close" where the connection allows it; a client that closes mid-request
// is simply dropped. Whatever ends a streamed body early (those, a timeout, a closed
// connection, shutdown's force-close) aborts its sink.
//
// Thread-safety: none; every method runs on the worker's thread. The object is owned
// by shared_ptrs held by its pending asynchronous operations, blocking-pool tasks
// included, and is destroyed on the worker's thread.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/asio.h"  // first: see asio.h
#include "server/body_sink.h"
#include "server/http_message.h"
#include "server/request_parser.h"
#include "server/worker.h"

namespace ferry::server {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Worker& worker, tcp::socket socket);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start();
  // The worker's sweeper: closes the connection if its current deadline has passed.
  void CloseIfExpired(Clock::time_point now);
  // Server shutdown: an idle connection closes now; one in the middle of a request
  // finishes it, answers with "Connection: close" and closes.
  void OnShutdown();
  // Closes the socket now; pending operations complete with operation_aborted.
  void Close();

  // The worker's bookkeeping.
  size_t index_in_worker = 0;

 private:
  enum class State { kIdle, kReading, kFinishing, kWriting, kLingering, kClosed };
  // Whether a write finished inside WriteResponse or later, from the io_context's queue.
  enum class Completion { kInline, kQueued };

  void ReadMore();
  void OnRead(const ErrorCode& ec, size_t bytes);
  void ParseBuffered();
  void BeginRequest(Clock::time_point now);
  void HandleRequest();
  void Reject(int http_status, std::string_view code, std::string_view message);
  void Reject(Response response);
  // Answers a parse error (from the header or the body) with 400, 413 or 431.
  void RejectMalformed(const ErrorCode& ec);
  // Feeds the buffered bytes to the parser once.
  enum class Parsed { kSome, kNeedMore, kRejected };  // kRejected: an error was answered
  Parsed ParseOnce();
  void WriteResponse();
  void OnWritten(const ErrorCode& ec, Completion completion);
  void WriteContinue();
  // File bodies (connection_file.cc): writes the head and the file's first piece, then
  // each next piece once the previous one is written.
  void WriteFilePiece();
  void OnFilePieceWritten(const ErrorCode& ec);
  void WaitForNextRequest();
  void Linger();
  void LogAccess() const;
  void OnHandshake(const ErrorCode& ec);
  // True from the moment HttpServer::Shutdown is called (before this worker hears).
  bool Stopping() const;
  // Makes room for reading at the end of buffer_; false when the buffer is full and
  // may not grow.
  bool MakeRoom();

  // Streaming bodies (connection_stream.cc).
  // Once the header is parsed: routes a streaming route's request to its sink and sets
  // the body limit of the route's kind. False when the request was answered or its
  // body now streams (ParseBuffered stops), true to go on reading it whole.
  bool RouteHeader();
  void StartStreaming(BodySinkPtr sink);
  // Moves a streamed body along: parses buffered bytes into staging_, hands staging_
  // to the sink when it is free, finishes once the body is complete, and reads more
  // while there is room.
  void PumpBody();
  void StartAppend();
  void OnAppended(absl::Status status);
  void StartFinish();
  void OnFinished(absl::StatusOr<Response> response);
  // Aborts the sink (on the blocking pool), now or once its running Append returns.
  void AbortSink(std::string_view reason);
  // Runs work on the blocking pool, exceptions caught, and then done(result) here.
  template <typename Result>
  void RunBlocking(std::function<Result()> work, void (Connection::*done)(Result));
  Worker& worker_;
  tcp::socket socket_;
  // HTTPS: the TLS stream over socket_; null for plain HTTP.
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  State state_ = State::kIdle;
  Clock::time_point deadline_;
  Clock::time_point request_start_;

  // Read buffer: bytes [begin_, end_) are received but not yet parsed.
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;

  Request request_;
  std::optional<RequestParser> parser_;
  bool continue_sent_ = false;
  bool reading_ = false;          // a read is pending
  bool header_routed_ = false;    // RouteHeader ran for this request
  uint64_t body_limit_ = 0;       // of this request, for the 413 message
  bool streaming_route_ = false;  // the request is for a streaming route

  // A streamed body. sink_ is shared only to hand it to a blocking-pool task, which
  // then owns it; while sink_busy_ the pool runs a call on it (or on Finish).
  std::shared_ptr<BodySink> sink_;
  bool streaming_ = false;
  bool sink_busy_ = false;
  std::optional<std::string> pending_abort_;  // why, once the running Append returns
  bool finish_keep_alive_ = false;
  std::string staging_;    // parsed body bytes waiting for the sink
  std::string appending_;  // the bytes the sink is appending now

  // A file body: the buffer its pieces go through (allocated on first use, then kept,
  // like the read buffer a streamed upload grows), the bytes of the file written so far
  // and the size of the piece being written.
  std::unique_ptr<char[]> file_buffer_;
  uint64_t file_written_ = 0;
  size_t file_piece_ = 0;

  Response response_;
  std::string head_;
  size_t body_bytes_ = 0;  // for the access log
  bool keep_alive_ = true;
};

}  // namespace ferry::server
