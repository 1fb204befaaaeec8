#include "cli/connection.h"

#include <cstdlib>
#include <optional>

#include "server/client.h"
#include "server/config.h"

namespace writ::cli {

std::string ResolveSocketPath(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("WRIT_SOCKET"); env != nullptr && *env != '\0') return env;
  return server::DefaultDataDir() + "/writd.sock";
}

Connection::Connection(std::string socket_path) : socket_path_(std::move(socket_path)) {}
Connection::~Connection() = default;

Result<json::Value> Connection::Call(std::string_view method, std::string_view path, const json::Value* body) {
  server::Client client({.unix_socket = socket_path_});
  std::optional<json::Value> payload;
  if (body != nullptr) payload = *body;
  WRIT_ASSIGN_OR_RETURN(const server::ClientResponse response, client.Request(method, path, payload));
  if (auto error = response.AsError()) return Fail(std::move(*error));
  if (response.body.empty()) return json::Value();
  auto parsed = response.Json();
  if (!parsed) return Fail(Code::kDataLoss, "writd sent an answer that is not JSON");
  return parsed;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    const bool unreserved = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                            ch == '-' || ch == '_' || ch == '.' || ch == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    }
  }
  return out;
}

}  // namespace writ::cli
