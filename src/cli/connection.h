// The CLI's link to writd: JSON over HTTP on the Unix socket. A failed call comes back as the
// Error writd sent ({"error":{"code","message"}}), or one sentence when writd cannot be reached.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"

namespace writ::cli {

// The socket the CLI talks to: `flag` if given, else $WRIT_SOCKET, else writd's default
// (<default data dir>/writd.sock).
std::string ResolveSocketPath(const std::string& flag);

class Connection {
 public:
  explicit Connection(std::string socket_path);
  ~Connection();

  // Sends `method path` with `body` (as JSON, when not null) and returns the parsed JSON answer of
  // a 2xx response. Errors: the code and message of writd's error body for a non-2xx answer;
  // kUnavailable "writd is not running: ..." when the socket cannot be reached;
  // kDataLoss if the answer is not JSON.
  Result<json::Value> Call(std::string_view method, std::string_view path, const json::Value* body = nullptr);

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
};

// Percent-encodes `text` for use in a URL path segment or query value.
std::string UrlEncode(std::string_view text);

}  // namespace writ::cli
