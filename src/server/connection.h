#pragma once

// Connection: one accepted TCP connection, from its first byte to its close, served
// on its worker's thread. It reads into a buffer it keeps for its whole life, parses
// requests with a RequestParser constructed in place per request, dispatches them
// through the Router, and writes the response head (from a reused string) and body in
// one gathered write, tried at once and only queued when the socket cannot take it all. Keep-alive
// and pipelining follow HTTP/1.1; requests are answered one at a time, in order.
//
// States and their deadlines (enforced by the worker's sweeper):
//   kIdle      waiting for the first byte of a request     idle_timeout
//   kReading   reading a request's header and body         request_timeout from its first byte
//   kWriting   writing a response                          request_timeout
//   kLingering response sent with "Connection: close",     request_timeout
//              write side shut, draining what the client
//              still sends so it reads the response instead of a reset
//   kClosed
// A request that breaks the protocol or a limit is answered (400, 413, 431) with
// "Connection: close" where the connection allows it; a client that closes mid-request
// is simply dropped.
//
// Thread-safety: none; every method runs on the worker's thread. The object is owned
// by shared_ptrs held by its pending asynchronous operations.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/asio.h"  // first: see asio.h
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
  enum class State { kIdle, kReading, kWriting, kLingering, kClosed };
  // Whether a write finished inside WriteResponse or later, from the io_context's queue.
  enum class Completion { kInline, kQueued };

  void ReadMore();
  void OnRead(const ErrorCode& ec, size_t bytes);
  void ParseBuffered();
  void BeginRequest(Clock::time_point now);
  void HandleRequest();
  void Reject(int http_status, std::string_view code, std::string_view message);
  void WriteResponse();
  void OnWritten(const ErrorCode& ec, Completion completion);
  void WriteContinue();
  void WaitForNextRequest();
  void Linger();
  void LogAccess() const;
  // True from the moment HttpServer::Shutdown is called (before this worker hears).
  bool Stopping() const;
  // Makes room for reading at the end of buffer_; false when the buffer is full and
  // may not grow.
  bool MakeRoom();

  Worker& worker_;
  tcp::socket socket_;
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

  Response response_;
  std::string head_;
  size_t body_bytes_ = 0;  // for the access log
  bool keep_alive_ = true;
};

}  // namespace ferry::server
