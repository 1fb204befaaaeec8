// A small synchronous HTTP/1.1 client for writd, over its Unix socket or TCP: used by the `writ`
// CLI and the integration tests. It keeps one connection open between requests and reconnects
// when the server has closed it.
//
//   Client client({.unix_socket = "/home/me/.local/share/writ/writd.sock"});
//   WRIT_ASSIGN_OR_RETURN(ClientResponse response, client.Request("GET", "/healthz"));
//   if (response.status != 200) ...  // an HTTP error is still a successful Request
//
// Not thread-safe: use one Client per thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"
#include "server/http.h"

namespace writ::server {

struct ClientOptions {
  std::string unix_socket{};         // used when non-empty
  std::string tcp_host = "127.0.0.1";  // else TCP to tcp_host:tcp_port
  uint16_t tcp_port = 8787;
  std::chrono::milliseconds timeout{30'000};  // for connecting, and for each request
  size_t max_response_bytes = 64 << 20;
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;

  // The body parsed as JSON. Errors: kInvalidArgument when it is not JSON.
  Result<json::Value> Json() const;
  // For a response in writd's error format, the Error it carries (code from the body's "code"
  // when known, else from the status); nullopt for a 2xx response.
  std::optional<Error> AsError() const;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // Sends one request and reads the response. `body`, when set, is sent as application/json.
  // Any HTTP status is a success here; see ClientResponse::AsError.
  // Errors: kUnavailable with one sentence when writd cannot be reached ("writd is not running:
  // cannot connect to /path/writd.sock"); kPermissionDenied when the socket refuses us;
  // kDeadlineExceeded after options.timeout; kUnavailable when the connection breaks mid-request.
  Result<ClientResponse> Request(std::string_view method, std::string_view target,
                                 const std::optional<json::Value>& body = std::nullopt, const Headers& headers = {});

  // Sends `raw_body` verbatim with the given Content-Type (for tests of bad input).
  Result<ClientResponse> RequestRaw(std::string_view method, std::string_view target, std::string_view content_type,
                                    std::string_view raw_body, const Headers& headers = {});

  // "/path/writd.sock" or "127.0.0.1:8787": where this client connects.
  std::string Endpoint() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace writ::server
