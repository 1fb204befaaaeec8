// A small blocking HTTP/1.1 client for one kept-alive connection to writd's Unix socket: what the
// MCP proxy needs on its hot path (one request at a time, JSON bodies, Content-Length answers),
// without an event loop. Measured per tools/call, it costs a fraction of the general client
// (server/client.h, Beast over Asio). Not thread-safe: one connection per thread.
#pragma once
#include <chrono>
#include <functional>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace writ::gateway {

struct RawHttpReply {
  int status = 0;
  std::string body;
};

// While it lives, a UnixHttpConnection request made on this thread that waits for writd's answer also
// watches `fd`: when it turns readable (or hangs up), `*on_readable` runs once, on this thread, and
// the watch ends. Scopes nest (the inner one wins until it ends). `on_readable` is borrowed.
class ScopedReadableWatch {
 public:
  ScopedReadableWatch(int fd, std::function<void()>* on_readable);
  ~ScopedReadableWatch();
  ScopedReadableWatch(const ScopedReadableWatch&) = delete;
  ScopedReadableWatch& operator=(const ScopedReadableWatch&) = delete;

  bool fired() const { return fd_ < 0; }

 private:
  friend class UnixHttpConnection;
  int fd_;
  std::function<void()>* on_readable_;
  ScopedReadableWatch* outer_;
};

class UnixHttpConnection {
 public:
  // Connects lazily, on the first request. Answers larger than `max_response_bytes` are refused.
  explicit UnixHttpConnection(std::string socket_path, size_t max_response_bytes = 16 << 20);
  ~UnixHttpConnection();
  UnixHttpConnection(const UnixHttpConnection&) = delete;
  UnixHttpConnection& operator=(const UnixHttpConnection&) = delete;

  // Sends `method path` with `body` (application/json when not empty) and `headers`, and reads the
  // answer; `timeout` bounds the whole exchange. A kept connection the server has closed meanwhile
  // is reopened and the request sent again, only when nothing of it can have been read.
  // Any HTTP status is a success here.
  // Errors: kUnavailable when writd cannot be reached, breaks the connection, or answers with
  // something this client does not read (no Content-Length, a malformed head, too large);
  // kDeadlineExceeded after `timeout`. After an error the connection is closed.
  Result<RawHttpReply> Request(std::string_view method, std::string_view path, std::string_view body,
                               const std::vector<std::pair<std::string_view, std::string_view>>& headers,
                               std::chrono::milliseconds timeout);

 private:
  static Status WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline);
  Status Connect();
  void Close();
  Result<RawHttpReply> Exchange(const std::string& request, std::chrono::steady_clock::time_point deadline,
                                bool* nothing_read);

  std::string socket_path_;
  size_t max_response_bytes_;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the previous answer (none, with a well-behaved server)
};

}  // namespace writ::gateway
