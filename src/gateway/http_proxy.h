// The MCP Streamable HTTP enforcement point behind
// `writ mcp --listen 127.0.0.1:PORT --upstream http[s]://HOST:PORT/mcp --server <name>`.
// It serves the upstream's endpoint path on the listen address and relays MCP's Streamable HTTP
// transport (revision 2025-11-25) to the upstream server: POST bodies (one JSON-RPC message each)
// answered as application/json or as an SSE stream relayed event by event, GET SSE streams,
// DELETE, and the MCP-Session-Id / MCP-Protocol-Version / Last-Event-ID headers. On the way:
//   - every request must carry the agent's writ token (gateway/agent_auth.h); missing or invalid
//     -> 401 with WWW-Authenticate, writd unreachable -> 503. The token never goes upstream.
//   - tools/call and tools/list are intercepted as in the stdio proxy (gateway/interceptor.h), with
//     the token's agent as the principal; a refused call is answered by the proxy itself (200,
//     application/json, the JSON-RPC error) and never reaches the server.
//   - a session (MCP-Session-Id issued by the upstream) belongs to the agent that initialized it:
//     another agent's request with it gets 403; an id the proxy does not know gets 404.
//   - Origin, when sent, must be a loopback origin or one of `allowed_origins` (else 403); Host
//     must name a loopback host or the listen host (against DNS rebinding; else 403).
//   - bodies over max_message_bytes -> 413; a relayed SSE event or JSON answer over it ends the
//     answer (502 when nothing was sent yet).
// Errors from the proxy itself are JSON bodies; the upstream being down, or an https:// upstream
// whose certificate does not verify, gives 502 with a JSON-RPC error naming the upstream.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "gateway/agent_auth.h"
#include "gateway/decision.h"

namespace writ::gateway {

struct HttpProxyOptions {
  std::string listen = "127.0.0.1:0";  // host:port (IPv4 or [IPv6]); port 0 picks one
  bool allow_remote = false;           // REQUIRES for a non-loopback listen host
  std::string upstream;                // http:// or https://host:port/path of the MCP server
  // PEM file of the CAs an https:// upstream's certificate must chain to; empty = the system's
  // trusted CAs. The certificate must also name the upstream's host (or IP address).
  std::string upstream_ca_file;
  std::string server_name;                      // Writ::ToolServer::"<server_name>"
  DecisionClient* decisions = nullptr;          // borrowed; must outlive the proxy. REQUIRES: not null
  AgentAuthenticator* authenticator = nullptr;  // borrowed; must outlive the proxy. REQUIRES: not null
  std::vector<std::string> allowed_origins;     // exact origins accepted beyond loopback ones
  size_t max_message_bytes = 4 << 20;           // request bodies, JSON answers and SSE events
  size_t max_argument_bytes = 64 << 10;         // tools/call arguments larger than this are denied
  std::chrono::milliseconds approval_timeout{120'000};
  std::chrono::milliseconds approval_poll{1'000};
  std::chrono::milliseconds upstream_connect_timeout{5'000};
  std::chrono::milliseconds upstream_answer_timeout{300'000};  // until the answer's headers (and a JSON body)
  std::chrono::milliseconds idle_timeout{120'000};             // a client connection between requests
  size_t max_sessions = 4096;                                  // the oldest is forgotten past it
  size_t decision_threads = 4;                                 // blocking decisions run here, off the I/O thread
  size_t approval_threads = 16;                                // calls waiting for approval at once (more queue)
};

class HttpProxy {
 public:
  // Binds the listen address and starts serving on background threads.
  // Errors: kInvalidArgument for bad options (listen, upstream, server name; a non-loopback listen
  // host without allow_remote); kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<HttpProxy>> Start(HttpProxyOptions options);

  // The URL clients use: http://<listen host>:<port><path>.
  const std::string& url() const;
  uint16_t port() const;

  // Stops accepting, closes every connection and joins the threads. Idempotent.
  void Stop();
  ~HttpProxy();

  class Impl;

 private:
  explicit HttpProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace writ::gateway
