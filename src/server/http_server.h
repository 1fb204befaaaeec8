// HttpServer: HTTP/1.1 with keep-alive and pipelining on a Unix socket (peer credentials from
// SO_PEERCRED) and/or TCP, served by one epoll event loop per I/O thread. Requests go to a Router:
// asynchronous handlers run on the I/O threads (they must return promptly); synchronous handlers,
// which may block, run on a separate pool of threads (started on demand, at most 64), so that a
// blocking handler never stalls another connection.
//
//   Router router;
//   router.Get("/healthz", [](const Request&) -> Result<Response> { return JsonResponse(200, ...); });
//   WRIT_ASSIGN_OR_RETURN(auto server, HttpServer::Start({.unix_socket_path = path}, router));
//   ...
//   server->Stop();  // graceful: in-flight requests finish, bounded by stop_timeout
//
// Bad input never stops the server: malformed requests get 400, a Transfer-Encoding (chunked)
// request body 411 (not supported: send Content-Length), headers over max_header_bytes or over 128
// fields 431, bodies over max_body_bytes 413 (each then closes the connection); a client that is too slow
// (read_timeout / write_timeout) is disconnected; past max_connections new connections get 503
// and are closed. Every request is logged (method, path, status, duration, peer) — never bodies
// or Authorization headers.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "server/router.h"

namespace writ::server {

struct HttpServerOptions {
  // Unix socket to listen on; "" = none. A stale socket file left by a dead server is removed; a
  // live one (something accepts on it) or a non-socket file at that path is an error.
  std::string unix_socket_path{};
  mode_t unix_socket_mode = 0660;
  // TCP address to listen on; no TCP listener when tcp_port is nullopt. Port 0 = an ephemeral
  // port, reported by HttpServer::tcp_port().
  std::string tcp_host = "127.0.0.1";
  std::optional<uint16_t> tcp_port{};
  int threads = 2;                      // I/O threads (event loops); asynchronous handlers run on them
  size_t max_body_bytes = 1 << 20;      // larger: 413
  size_t max_json_depth = 64;           // for ParseJsonBody
  size_t max_header_bytes = 16 << 10;   // request line + headers; larger: 431
  size_t max_connections = 1024;        // more at once: 503 and close
  std::chrono::milliseconds read_timeout{30'000};   // to receive one whole request (from its first
                                                    // byte, however it trickles in), or idle keep-alive
  std::chrono::milliseconds write_timeout{30'000};  // to send one response
  std::chrono::milliseconds stop_timeout{10'000};   // Stop() waits this long for in-flight requests
};

class HttpServer {
 public:
  // Binds the listeners and starts serving on options.threads threads. `router` is borrowed: it
  // must outlive the server and not change after this call.
  // Errors: kInvalidArgument for bad options (no listener, threads < 1, bad host);
  // kUnavailable when a listener cannot be bound (address in use, no permission, live socket).
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, const Router& router);

  // Stops accepting, lets requests being handled finish and be answered (at most
  // options.stop_timeout), closes every connection, joins the threads and removes the socket file.
  // Idempotent; the destructor calls it.
  void Stop();

  uint16_t tcp_port() const;  // the bound TCP port, 0 if no TCP listener
  const std::string& unix_socket_path() const;
  size_t open_connections() const;

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace writ::server
