// The one translation unit of the gateway that includes Beast and Asio. One I/O thread runs every
// connection as a coroutine; blocking DecisionClient / AgentAuthenticator calls run on thread
// pools (one for decisions, one for approval waits) so a slow writd or a call held for approval
// never stalls the other connections.
#include "gateway/http_proxy.h"

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "common/log.h"
#include "gateway/interceptor.h"
#include "gateway/json_scan.h"

namespace writ::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using ClientRequest = bhttp::request<bhttp::string_body>;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxHeaderBytes = 16 << 10;
constexpr size_t kReadChunk = 16 << 10;
constexpr size_t kMaxJsonDepth = 128;
constexpr size_t kMaxSessionIdBytes = 256;
constexpr size_t kMaxIdleUpstreams = 32;
// Node's default keepAliveTimeout is 5 s: reuse a connection only well within it.
constexpr std::chrono::milliseconds kUpstreamIdleReuse{2'000};
constexpr std::string_view kSessionHeader = "MCP-Session-Id";
constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
};

Result<HostPort> ParseHostPort(std::string_view text, std::string_view what) {
  HostPort out;
  size_t colon = std::string_view::npos;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return Fail(Code::kInvalidArgument, fmt::format("{}: unclosed `[`", what));
    out.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size() && text[close + 1] == ':') colon = close + 1;
  } else {
    colon = text.rfind(':');
    out.host = std::string(text.substr(0, colon));
  }
  if (out.host.empty() || colon == std::string_view::npos) {
    return Fail(Code::kInvalidArgument, fmt::format("{}: expected host:port, got `{}`", what, text.substr(0, 200)));
  }
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  if (port.empty() || port.size() > 5) return Fail(Code::kInvalidArgument, fmt::format("{}: bad port", what));
  for (const char c : port) {
    if (c < '0' || c > '9') return Fail(Code::kInvalidArgument, fmt::format("{}: bad port `{}`", what, port));
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return Fail(Code::kInvalidArgument, fmt::format("{}: port {} is out of range", what, value));
  out.port = static_cast<uint16_t>(value);
  return out;
}

struct Upstream {
  bool tls = false;  // https://
  HostPort address;
  std::string host_header;  // as sent upstream
  std::string path;         // the MCP endpoint, also served by the proxy
  std::string url() const { return fmt::format("{}://{}{}", tls ? "https" : "http", host_header, path); }
};

Result<Upstream> ParseUpstream(std::string_view url) {
  Upstream upstream;
  std::string_view rest;
  for (const std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (url.substr(0, scheme.size()) == scheme) {
      upstream.tls = scheme == "https://";
      rest = url.substr(scheme.size());
    }
  }
  if (rest.empty()) {
    return Fail(Code::kInvalidArgument,
                "--upstream must be an http:// or https:// URL (e.g. http://127.0.0.1:3001/mcp)");
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  upstream.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (upstream.path.find_first_of("?# \r\n") != std::string::npos) {
    return Fail(Code::kInvalidArgument, "--upstream: the path may not carry a query, a fragment or spaces");
  }
  if (authority.find('@') != std::string_view::npos) return Fail(Code::kInvalidArgument, "--upstream: no user info");
  const bool has_port = !authority.empty() && authority.back() != ']' && authority.find(':') != std::string_view::npos;
  const std::string default_port = upstream.tls ? ":443" : ":80";
  WRIT_ASSIGN_OR_RETURN(
      upstream.address,
      ParseHostPort(has_port ? std::string(authority) : std::string(authority) + default_port, "--upstream"));
  upstream.host_header = std::string(authority);
  return upstream;
}

bool IsLoopbackHost(std::string_view host) {
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.substr(0, 4) == "127.";
}

// The host of an HTTP Host header or origin authority, without port and brackets kept for IPv6.
std::string_view HostOf(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

std::string_view Field(const ClientRequest& request, std::string_view name) {
  const auto found = request.find(beast::string_view(name.data(), name.size()));
  if (found == request.end()) return {};
  return {found->value().data(), found->value().size()};
}

bool IsVisibleAscii(std::string_view text) {
  for (const char c : text) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && beast::iequals(beast::string_view(text.data(), prefix.size()),
                                                        beast::string_view(prefix.data(), prefix.size()));
}

// Runs blocking `work` on `pool` and resumes the calling coroutine on its own executor.
template <class Work>
awaitable<std::invoke_result_t<Work&>> Offload(asio::thread_pool& pool, Work work) {
  using Value = std::invoke_result_t<Work&>;
  co_return co_await asio::co_spawn(
      pool.get_executor(), [work = std::move(work)]() mutable -> awaitable<Value> { co_return work(); }, use_awaitable);
}

// While it lives, runs `on_hangup` on the I/O thread if the client's socket turns readable: a client
// sends nothing while it waits for an answer (no pipelining from MCP clients), so that means it hung up.
class HangupWatch {
 public:
  HangupWatch(asio::io_context& ioc, beast::tcp_stream& client, std::function<void()> on_hangup)
      : client_(client), active_(std::make_shared<bool>(true)) {
    asio::co_spawn(
        ioc,
        [&client, active = active_, on_hangup = std::move(on_hangup)]() -> awaitable<void> {
          beast::error_code ignored;
          co_await client.socket().async_wait(tcp::socket::wait_read, asio::redirect_error(use_awaitable, ignored));
          if (*active) on_hangup();  // after the guard is gone, neither `client` nor the callback is touched
        },
        asio::detached);
  }
  HangupWatch(const HangupWatch&) = delete;
  HangupWatch& operator=(const HangupWatch&) = delete;
  ~HangupWatch() {
    *active_ = false;
    beast::error_code ignored;
    client_.socket().cancel(ignored);  // completes the wait; nothing else is pending on the client then
  }

 private:
  beast::tcp_stream& client_;
  std::shared_ptr<bool> active_;
};

// The response the proxy expects on one POST's answer, to intercept it.
struct Expected {
  enum class Kind : uint8_t { kNone, kCall, kList };
  Kind kind = Kind::kNone;
  json::Value id;
  ToolCall call;
  SteadyClock::time_point forwarded;
  bool answered = false;
};

// One connection to the upstream server: TCP, or TLS over TCP for an https:// upstream (the
// certificate checked against the trusted CAs and the upstream's host name).
class UpstreamStream {
 public:
  UpstreamStream(asio::io_context& ioc, asio::ssl::context* tls) {
    if (tls != nullptr) {
      tls_.emplace(ioc, *tls);
    } else {
      tcp_.emplace(ioc);
    }
  }
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *tcp_; }

  // Connects (and, for TLS, shakes hands as a client of `host`).
  awaitable<void> Connect(const std::vector<tcp::endpoint>& endpoints, const std::string& host,
                          beast::error_code& error) {
    co_await tcp().async_connect(endpoints, asio::redirect_error(use_awaitable, error));
    beast::error_code ignored;
    if (!error) tcp().socket().set_option(tcp::no_delay(true), ignored);
    if (error || !tls_) co_return;
    tls_->set_verify_callback(asio::ssl::host_name_verification(host));
    beast::error_code parse_error;
    (void)asio::ip::make_address(host, parse_error);
    // SNI names a host, never an IP address (RFC 6066 §3).
    // SSL_set_tlsext_host_name, without its C cast.
    if (parse_error && SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                const_cast<char*>(host.c_str())) != 1) {
      error = beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
      co_return;
    }
    co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(use_awaitable, error));
  }

  // Runs `op` (an asynchronous operation on an AsyncStream) on whichever stream this is.
  template <class Op>
  auto With(Op op) {
    return tls_ ? op(*tls_) : op(*tcp_);
  }

 private:
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

// The TLS client context for https:// upstreams: peers verified against `ca_file` (PEM), or the
// system's trusted CAs when it is empty; TLS 1.2 at least.
Result<std::unique_ptr<asio::ssl::context>> MakeTlsContext(const std::string& ca_file) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  beast::error_code error;
  context->set_verify_mode(asio::ssl::verify_peer, error);
  if (!error) {
    if (ca_file.empty()) {
      context->set_default_verify_paths(error);
    } else {
      context->load_verify_file(ca_file, error);
    }
  }
  if (error) {
    return Fail(Code::kInvalidArgument, fmt::format("--upstream-ca: cannot load trusted certificates from `{}`: {}",
                                                    ca_file.empty() ? "the system store" : ca_file, error.message()));
  }
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  return context;
}

struct SessionOwner {
  std::string agent;
  uint64_t sequence = 0;
};

}  // namespace

class HttpProxy::Impl {
 public:
  Impl(HttpProxyOptions options, Upstream upstream, std::unique_ptr<asio::ssl::context> tls)
      : options_(std::move(options)),
        upstream_(std::move(upstream)),
        tls_(std::move(tls)),
        interceptor_({.server_name = options_.server_name,
                      .decisions = options_.decisions,
                      .max_argument_bytes = options_.max_argument_bytes,
                      .approval_timeout = options_.approval_timeout,
                      .approval_poll = options_.approval_poll}),
        decision_pool_(std::max<size_t>(options_.decision_threads, 1)),
        approval_pool_(std::max<size_t>(options_.approval_threads, 1)) {}

  Result<void> Bind(const HostPort& listen);
  void Run() {
    asio::co_spawn(ioc_, AcceptLoop(), asio::detached);
    io_thread_ = std::thread([this] { ioc_.run(); });
  }
  void Stop();

  const std::string& url() const { return url_; }
  uint16_t port() const { return port_; }

 private:
  awaitable<void> AcceptLoop();
  awaitable<void> Serve(tcp::socket socket);
  awaitable<bool> Handle(beast::tcp_stream& client, const ClientRequest& request);
  awaitable<bool> HandlePost(beast::tcp_stream& client, const ClientRequest& request, const AuthenticatedAgent& who);
  awaitable<bool> Relay(beast::tcp_stream& client, const ClientRequest& request, const AuthenticatedAgent& who,
                        std::string body, Expected expected);
  awaitable<bool> RelaySse(beast::tcp_stream& client, const ClientRequest& request, UpstreamStream& upstream,
                           beast::flat_buffer& buffer, bhttp::response_parser<bhttp::buffer_body>& parser,
                           const AuthenticatedAgent& who, Expected& expected, std::string_view session);
  // The JSON-RPC message `data` as the client may see it: nullopt = relay it unchanged.
  awaitable<std::optional<std::string>> Screen(std::string_view data, const AuthenticatedAgent& who,
                                               Expected& expected);
  awaitable<std::string> ScreenEvent(std::string event, const AuthenticatedAgent& who, Expected& expected);
  awaitable<bool> Send(beast::tcp_stream& client, const ClientRequest& request, unsigned status, std::string body,
                       std::string_view content_type = "application/json",
                       std::vector<std::pair<std::string, std::string>> headers = {});
  awaitable<bool> SendError(beast::tcp_stream& client, const ClientRequest& request, unsigned status,
                            const json::Value& id, int code, std::string message,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    co_return co_await Send(client, request, status, JsonRpcError(id, code, std::move(message)), "application/json",
                            std::move(headers));
  }
  void FailExpected(Expected& expected);
  // Idle upstream connections, touched only on the I/O thread (so without a lock).
  std::unique_ptr<UpstreamStream> TakeIdleUpstream();
  void KeepIdleUpstream(std::unique_ptr<UpstreamStream> upstream, bool keep_alive, const beast::flat_buffer& buffer);

  bool HostAllowed(std::string_view host) const;
  bool OriginAllowed(std::string_view origin) const;
  // The agent owning `session`, or nullopt when the proxy does not know it.
  std::optional<std::string> SessionAgent(std::string_view session);
  void RememberSession(std::string_view session, const std::string& agent);
  void ForgetSession(std::string_view session);

  const HttpProxyOptions options_;
  const Upstream upstream_;
  const std::unique_ptr<asio::ssl::context> tls_;  // https:// upstreams only
  const Interceptor interceptor_;
  HostPort listen_;
  std::string url_;
  uint16_t port_ = 0;
  std::vector<tcp::endpoint> upstream_endpoints_;
  std::atomic<bool> stopping_{false};

  asio::thread_pool decision_pool_;
  asio::thread_pool approval_pool_;
  asio::io_context ioc_{1};
  std::optional<tcp::acceptor> acceptor_;
  std::thread io_thread_;

  struct IdleUpstream {
    std::unique_ptr<UpstreamStream> stream;
    SteadyClock::time_point since;
  };
  std::vector<IdleUpstream> idle_upstreams_;

  std::mutex sessions_mu_;
  std::unordered_map<std::string, SessionOwner> sessions_;
  uint64_t session_sequence_ = 0;
};

Result<void> HttpProxy::Impl::Bind(const HostPort& listen) {
  listen_ = listen;
  beast::error_code error;
  const auto address = asio::ip::make_address(listen.host == "localhost" ? "127.0.0.1" : listen.host, error);
  if (error) return Fail(Code::kInvalidArgument, fmt::format("--listen: `{}` is not an IP address", listen.host));
  tcp::resolver resolver(ioc_);
  const auto found = resolver.resolve(upstream_.address.host, std::to_string(upstream_.address.port), error);
  if (error) {
    return Fail(Code::kInvalidArgument,
                fmt::format("--upstream: cannot resolve `{}`: {}", upstream_.address.host, error.message()));
  }
  for (const auto& entry : found) upstream_endpoints_.push_back(entry.endpoint());
  acceptor_.emplace(ioc_);
  const tcp::endpoint endpoint(address, listen.port);
  acceptor_->open(endpoint.protocol(), error);
  if (!error) acceptor_->set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_->bind(endpoint, error);
  if (!error) acceptor_->listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return Fail(Code::kUnavailable,
                fmt::format("cannot listen on {}:{}: {}", listen.host, listen.port, error.message()));
  }
  port_ = acceptor_->local_endpoint().port();
  const bool v6 = listen.host.find(':') != std::string::npos;
  url_ = fmt::format("http://{}{}{}:{}{}", v6 ? "[" : "", listen.host, v6 ? "]" : "", port_, upstream_.path);
  return {};
}

void HttpProxy::Impl::Stop() {
  if (stopping_.exchange(true)) return;
  asio::post(ioc_, [this] {
    beast::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
  });
  ioc_.stop();
  if (io_thread_.joinable()) io_thread_.join();
  // Approval waits see stopping_ within one poll; then nothing posts to ioc_ any more.
  approval_pool_.join();
  decision_pool_.join();
}

awaitable<void> HttpProxy::Impl::AcceptLoop() {
  while (!stopping_) {
    beast::error_code error;
    tcp::socket socket = co_await acceptor_->async_accept(asio::redirect_error(use_awaitable, error));
    if (error) {
      if (stopping_ || !acceptor_->is_open()) co_return;
      continue;
    }
    socket.set_option(tcp::no_delay(true), error);
    asio::co_spawn(ioc_, Serve(std::move(socket)), asio::detached);
  }
}

awaitable<void> HttpProxy::Impl::Serve(tcp::socket socket) {
  beast::tcp_stream client(std::move(socket));
  beast::flat_buffer buffer;
  while (!stopping_) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(options_.max_message_bytes);
    client.expires_after(options_.idle_timeout);
    beast::error_code error;
    co_await bhttp::async_read(client, buffer, parser, asio::redirect_error(use_awaitable, error));
    if (error == bhttp::error::body_limit || error == bhttp::error::header_limit) {
      // Built before the co_await: g++ 12 destroys temporaries of a conditional in co_await arguments twice.
      const bool body = error == bhttp::error::body_limit;
      std::string message =
          body ? fmt::format("writ: message exceeds the limit of {} bytes; not forwarded", options_.max_message_bytes)
               : fmt::format("writ: request headers exceed {} bytes", kMaxHeaderBytes);
      ClientRequest closing;
      closing.keep_alive(false);
      co_await SendError(client, closing, body ? 413 : 431, json::Value(), kJsonRpcInvalidRequest, std::move(message));
      break;
    }
    if (error) break;
    client.expires_never();
    if (!co_await Handle(client, parser.get())) break;
  }
  beast::error_code ignored;
  client.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

bool HttpProxy::Impl::HostAllowed(std::string_view host) const {
  const std::string_view name = HostOf(host);
  if (IsLoopbackHost(name)) return true;
  const bool v6 = listen_.host.find(':') != std::string::npos;
  return v6 ? name == fmt::format("[{}]", listen_.host) : name == listen_.host;
}

bool HttpProxy::Impl::OriginAllowed(std::string_view origin) const {
  for (const std::string& allowed : options_.allowed_origins) {
    if (origin == allowed) return true;
  }
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (origin.substr(0, scheme.size()) == scheme) {
      const std::string_view authority = origin.substr(scheme.size());
      return authority.find('/') == std::string_view::npos && IsLoopbackHost(HostOf(authority));
    }
  }
  return false;  // "null" (sandboxed frames, file:) and anything else
}

std::optional<std::string> HttpProxy::Impl::SessionAgent(std::string_view session) {
  std::lock_guard lock(sessions_mu_);
  const auto found = sessions_.find(std::string(session));
  if (found == sessions_.end()) return std::nullopt;
  return found->second.agent;
}

void HttpProxy::Impl::RememberSession(std::string_view session, const std::string& agent) {
  std::lock_guard lock(sessions_mu_);
  if (sessions_.find(std::string(session)) != sessions_.end()) return;  // the owner never changes
  if (sessions_.size() >= options_.max_sessions) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.sequence < oldest->second.sequence) oldest = it;
    }
    sessions_.erase(oldest);
  }
  sessions_.emplace(std::string(session), SessionOwner{agent, ++session_sequence_});
}

void HttpProxy::Impl::ForgetSession(std::string_view session) {
  std::lock_guard lock(sessions_mu_);
  sessions_.erase(std::string(session));
}

awaitable<bool> HttpProxy::Impl::Send(beast::tcp_stream& client, const ClientRequest& request, unsigned status,
                                      std::string body, std::string_view content_type,
                                      std::vector<std::pair<std::string, std::string>> headers) {
  bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(status), request.version() == 10 ? 10u : 11u};
  response.set(bhttp::field::server, "writ-mcp");
  if (!body.empty())
    response.set(bhttp::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  for (auto& [name, value] : headers) response.set(name, value);
  response.body() = std::move(body);
  response.keep_alive(request.keep_alive() && !stopping_);
  response.prepare_payload();
  beast::error_code error;
  client.expires_after(options_.idle_timeout);
  co_await bhttp::async_write(client, response, asio::redirect_error(use_awaitable, error));
  client.expires_never();
  co_return !error && response.keep_alive();
}

awaitable<bool> HttpProxy::Impl::Handle(beast::tcp_stream& client, const ClientRequest& request) {
  const std::string_view target(request.target().data(), request.target().size());
  if (target.substr(0, target.find('?')) != upstream_.path) {
    co_return co_await SendError(client, request, 404, json::Value(), kJsonRpcInvalidRequest,
                                 fmt::format("writ: the MCP endpoint is {}", upstream_.path));
  }
  const std::string_view host = Field(request, "Host");
  if (!HostAllowed(host)) {
    co_return co_await SendError(client, request, 403, json::Value(), kJsonRpcInvalidRequest,
                                 "writ: Host must name this proxy (a loopback host or the listen address)");
  }
  if (request.find(bhttp::field::origin) != request.end() && !OriginAllowed(Field(request, "Origin"))) {
    log::Warn("mcp http request from a foreign Origin refused",
              {{"origin", std::string(Field(request, "Origin").substr(0, 200))}});
    co_return co_await SendError(client, request, 403, json::Value(), kJsonRpcInvalidRequest,
                                 "writ: requests from this Origin are not accepted");
  }
  const bhttp::verb method = request.method();
  if (method != bhttp::verb::post && method != bhttp::verb::get && method != bhttp::verb::delete_) {
    std::vector<std::pair<std::string, std::string>> allow;
    allow.emplace_back("Allow", "GET, POST, DELETE");
    co_return co_await SendError(client, request, 405, json::Value(), kJsonRpcInvalidRequest,
                                 "writ: the MCP endpoint takes POST, GET and DELETE", std::move(allow));
  }

  const size_t dpop_headers = request.count("DPoP");
  const std::string htu = fmt::format("http://{}{}", host, upstream_.path);
  const std::string_view method_name(request.method_string().data(), request.method_string().size());
  const AgentCredentials credentials{.authorization = Field(request, "Authorization"),
                                     .dpop = Field(request, "DPoP"),
                                     .dpop_headers = dpop_headers,
                                     .method = method_name,
                                     .url = htu};
  // A token checked recently is known without leaving the I/O thread; else the check may ask writd.
  // (No co_await inside a conditional expression: g++ 12 mishandles its temporaries.)
  auto checked = options_.authenticator->TryAuthenticateCached(credentials);
  if (!checked)
    checked = co_await Offload(decision_pool_, [&] { return options_.authenticator->Authenticate(credentials); });
  auto& who = *checked;
  if (!who) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (who.error().status == 401) headers.emplace_back("WWW-Authenticate", AuthChallenge(who.error()));
    co_return co_await SendError(client, request, static_cast<unsigned>(who.error().status), json::Value(),
                                 who.error().status == 401 ? kJsonRpcInvalidRequest : kJsonRpcInternalError,
                                 fmt::format("writ: {}", who.error().description), std::move(headers));
  }

  const std::string_view session = Field(request, kSessionHeader);
  if (!session.empty()) {
    if (session.size() > kMaxSessionIdBytes || !IsVisibleAscii(session)) {
      co_return co_await SendError(client, request, 400, json::Value(), kJsonRpcInvalidRequest,
                                   "writ: malformed MCP-Session-Id");
    }
    const auto owner = SessionAgent(session);
    if (!owner) {
      co_return co_await SendError(client, request, 404, json::Value(), kJsonRpcInvalidRequest,
                                   "writ: unknown MCP session; initialize a new one");
    }
    if (*owner != who->agent) {
      log::Warn("mcp http session used by another agent: refused", {{"agent", who->agent}, {"owner", *owner}});
      co_return co_await SendError(client, request, 403, json::Value(), kJsonRpcInvalidRequest,
                                   "writ: this MCP session belongs to another agent");
    }
  }
  if (method == bhttp::verb::post) co_return co_await HandlePost(client, request, *who);
  // Named, not temporaries: g++ 12 destroys some temporaries in co_await arguments twice.
  std::string no_body;
  Expected nothing_expected;
  co_return co_await Relay(client, request, *who, std::move(no_body), std::move(nothing_expected));
}

awaitable<bool> HttpProxy::Impl::HandlePost(beast::tcp_stream& client, const ClientRequest& request,
                                            const AuthenticatedAgent& who) {
  if (!StartsWithIgnoreCase(Field(request, "Content-Type"), "application/json")) {
    co_return co_await SendError(client, request, 415, json::Value(), kJsonRpcInvalidRequest,
                                 "writ: a POST body must be application/json");
  }
  auto parsed = json::Parse(request.body(), {.max_bytes = options_.max_message_bytes, .max_depth = kMaxJsonDepth});
  if (!parsed) {
    co_return co_await SendError(client, request, 400, json::Value(), kJsonRpcParseError,
                                 fmt::format("writ: parse error: {}", parsed.error().message));
  }
  const json::Value& message = *parsed;
  if (!message.is_object()) {
    co_return co_await SendError(
        client, request, 400, json::Value(), kJsonRpcInvalidRequest,
        "writ: a POST body must be one JSON-RPC object (batches are not part of MCP 2025-11-25)");
  }
  Expected expected;
  const json::Value* method = message.Find("method");
  const json::Value* id = message.Find("id");
  if (method != nullptr && method->is_string() && id != nullptr) {
    expected.id = *id;
    if (method->as_string() == "tools/list") expected.kind = Expected::Kind::kList;
    if (method->as_string() == "tools/call") {
      CallCheck check =
          co_await Offload(decision_pool_, [&] { return interceptor_.CheckCall(who.agent, message, *id, who.token); });
      if (check.next == CallCheck::Next::kAwaitApproval) {
        // A client that gives up waiting (closes its connection) must not have the call run once granted.
        auto gone = std::make_shared<std::atomic<bool>>(false);
        std::optional<CallCheck> waited;
        {
          const HangupWatch watch(ioc_, client, [gone] { *gone = true; });
          waited = co_await Offload(approval_pool_, [&] {
            return interceptor_.AwaitApproval(std::move(check), *id,
                                              [this, gone] { return stopping_.load() || gone->load(); });
          });
        }
        if (!waited) {
          log::Info("tools/call abandoned while waiting for approval", {{"agent", who.agent}});
          co_return false;
        }
        check = std::move(*waited);
      }
      if (check.next != CallCheck::Next::kForward)
        co_return co_await Send(client, request, 200, std::move(check.reply));
      expected.kind = Expected::Kind::kCall;
      expected.call = std::move(check.call);
    }
  }
  co_return co_await Relay(client, request, who, request.body(), std::move(expected));
}

std::unique_ptr<UpstreamStream> HttpProxy::Impl::TakeIdleUpstream() {
  while (!idle_upstreams_.empty()) {
    IdleUpstream idle = std::move(idle_upstreams_.back());
    idle_upstreams_.pop_back();
    if (SteadyClock::now() - idle.since < kUpstreamIdleReuse) return std::move(idle.stream);
  }
  return nullptr;
}

void HttpProxy::Impl::KeepIdleUpstream(std::unique_ptr<UpstreamStream> upstream, bool keep_alive,
                                       const beast::flat_buffer& buffer) {
  // Bytes past the answer would belong to no request: such a connection is not reused.
  if (!keep_alive || buffer.size() != 0 || stopping_ || idle_upstreams_.size() >= kMaxIdleUpstreams) return;
  upstream->tcp().expires_never();
  idle_upstreams_.push_back({std::move(upstream), SteadyClock::now()});
}

void HttpProxy::Impl::FailExpected(Expected& expected) {
  if (expected.kind != Expected::Kind::kCall || expected.answered) return;
  expected.answered = true;
  interceptor_.FailCall(expected.call, expected.forwarded);  // best effort and quick: not worth a hop
}

awaitable<bool> HttpProxy::Impl::Relay(beast::tcp_stream& client, const ClientRequest& request,
                                       const AuthenticatedAgent& who, std::string body, Expected expected) {
  bhttp::request<bhttp::string_body> out{request.method(), upstream_.path, 11};
  out.set(bhttp::field::host, upstream_.host_header);
  out.set(bhttp::field::user_agent, "writ-mcp");
  for (const std::string_view name : {std::string_view("Accept"), std::string_view("Content-Type"), kSessionHeader,
                                      kVersionHeader, std::string_view("Last-Event-ID")}) {
    const std::string_view value = Field(request, name);
    if (!value.empty())
      out.set(beast::string_view(name.data(), name.size()), beast::string_view(value.data(), value.size()));
  }
  out.body() = std::move(body);
  out.keep_alive(true);
  out.prepare_payload();
  const json::Value& reply_id = expected.id;

  // A kept-alive connection from an earlier answer when there is one. If it fails before any
  // answer byte (the server closed it while idle), the request goes once more on a new connection:
  // a server that closed an idle connection has not read the request.
  std::unique_ptr<UpstreamStream> upstream = TakeIdleUpstream();
  bool reused = upstream != nullptr;
  beast::error_code error;
  beast::flat_buffer buffer;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parsing;
  while (true) {
    error = {};
    if (!upstream) {
      upstream = std::make_unique<UpstreamStream>(ioc_, tls_.get());
      upstream->tcp().expires_after(options_.upstream_connect_timeout);
      co_await upstream->Connect(upstream_endpoints_, upstream_.address.host, error);
    }
    if (!error) {
      upstream->tcp().expires_after(options_.upstream_answer_timeout);
      co_await upstream->With(
          [&](auto& stream) { return bhttp::async_write(stream, out, asio::redirect_error(use_awaitable, error)); });
    }
    buffer.clear();
    parsing.emplace();
    parsing->header_limit(kMaxHeaderBytes);
    parsing->body_limit(std::numeric_limits<std::uint64_t>::max());  // bounded per message below
    expected.forwarded = SteadyClock::now();
    if (!error) {
      co_await upstream->With([&](auto& stream) {
        return bhttp::async_read_header(stream, buffer, *parsing, asio::redirect_error(use_awaitable, error));
      });
    }
    if (!error || !reused) break;
    upstream.reset();
    reused = false;
  }
  auto& parser = *parsing;
  if (error) {
    log::Warn("mcp upstream unreachable", {{"upstream", upstream_.host_header}, {"error", error.message()}});
    FailExpected(expected);
    co_return co_await SendError(client, request, 502, reply_id, kJsonRpcInternalError,
                                 fmt::format("writ: the MCP server `{}` at {} cannot be reached: {}",
                                             options_.server_name, upstream_.url(), error.message()));
  }
  const auto& head = parser.get();
  const unsigned status = head.result_int();
  const std::string session(Field(request, kSessionHeader));
  std::string answered_session;
  if (const auto found = head.find(beast::string_view(kSessionHeader.data(), kSessionHeader.size()));
      found != head.end()) {
    answered_session.assign(found->value().data(), found->value().size());
    if (answered_session.size() > kMaxSessionIdBytes || !IsVisibleAscii(answered_session)) answered_session.clear();
  }
  if (!answered_session.empty() && session.empty() && status / 100 == 2) RememberSession(answered_session, who.agent);
  if (!session.empty() && (status == 404 || (request.method() == bhttp::verb::delete_ && status / 100 == 2))) {
    ForgetSession(session);
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (!answered_session.empty()) headers.emplace_back(std::string(kSessionHeader), answered_session);
  const beast::string_view type_field = head[bhttp::field::content_type];
  const std::string content_type(type_field.data(), type_field.size());

  if (status == 200 && StartsWithIgnoreCase(content_type, "text/event-stream")) {
    const bool keep = co_await RelaySse(client, request, *upstream, buffer, parser, who, expected,
                                        answered_session.empty() ? std::string_view(session) : answered_session);
    FailExpected(expected);
    if (parser.is_done()) KeepIdleUpstream(std::move(upstream), parser.get().keep_alive(), buffer);
    co_return keep;
  }
  // Anything else is read whole (bounded), screened when it is JSON, and relayed.
  std::string answer;
  const auto chunk = std::make_unique_for_overwrite<char[]>(kReadChunk);  // not zeroed: only read into
  while (!parser.is_done()) {
    parser.get().body().data = chunk.get();
    parser.get().body().size = kReadChunk;
    co_await upstream->With([&](auto& stream) {
      return bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, error));
    });
    if (error == bhttp::error::need_buffer) error = {};
    if (error) break;
    answer.append(chunk.get(), kReadChunk - parser.get().body().size);
    if (answer.size() > options_.max_message_bytes) break;
  }
  if (error || answer.size() > options_.max_message_bytes) {
    FailExpected(expected);
    std::string message =
        answer.size() > options_.max_message_bytes
            ? fmt::format("writ: the answer of MCP server `{}` exceeds the limit of {} bytes", options_.server_name,
                          options_.max_message_bytes)
            : fmt::format("writ: the MCP server `{}` broke off its answer: {}", options_.server_name, error.message());
    co_return co_await SendError(client, request, 502, reply_id, kJsonRpcInternalError, std::move(message));
  }
  if (parser.is_done()) KeepIdleUpstream(std::move(upstream), parser.get().keep_alive(), buffer);
  if (StartsWithIgnoreCase(content_type, "application/json") && !answer.empty()) {
    if (auto screened = co_await Screen(answer, who, expected)) answer = std::move(*screened);
  }
  FailExpected(expected);
  co_return co_await Send(client, request, status, std::move(answer), content_type, std::move(headers));
}

awaitable<bool> HttpProxy::Impl::RelaySse(beast::tcp_stream& client, const ClientRequest& request,
                                          UpstreamStream& upstream, beast::flat_buffer& buffer,
                                          bhttp::response_parser<bhttp::buffer_body>& parser,
                                          const AuthenticatedAgent& who, Expected& expected, std::string_view session) {
  bhttp::response<bhttp::empty_body> head{bhttp::status::ok, request.version() == 10 ? 10u : 11u};
  head.set(bhttp::field::server, "writ-mcp");
  head.set(bhttp::field::content_type, "text/event-stream");
  head.set(bhttp::field::cache_control, "no-cache");
  if (!session.empty())
    head.set(beast::string_view(kSessionHeader.data(), kSessionHeader.size()),
             beast::string_view(session.data(), session.size()));
  head.chunked(true);
  head.keep_alive(request.keep_alive());
  bhttp::response_serializer<bhttp::empty_body> serializer(head);
  beast::error_code error;
  client.expires_after(options_.idle_timeout);
  co_await bhttp::async_write_header(client, serializer, asio::redirect_error(use_awaitable, error));
  if (error) co_return false;
  upstream.tcp().expires_never();  // a stream may stay quiet for long; the client's disconnect ends it
  // Close the upstream stream when the client hangs up, not at the next event (which may never come).
  const HangupWatch watch(ioc_, client, [&upstream] {
    beast::error_code ignored;
    upstream.tcp().socket().close(ignored);
  });
  std::string pending;
  const auto chunk = std::make_unique_for_overwrite<char[]>(kReadChunk);  // not zeroed: only read into
  bool upstream_ok = true;
  while (!parser.is_done() && !stopping_) {
    parser.get().body().data = chunk.get();
    parser.get().body().size = kReadChunk;
    co_await upstream.With([&](auto& stream) {
      return bhttp::async_read_some(stream, buffer, parser, asio::redirect_error(use_awaitable, error));
    });
    if (error == bhttp::error::need_buffer) error = {};
    if (error) {
      upstream_ok = false;
      break;
    }
    pending.append(chunk.get(), kReadChunk - parser.get().body().size);
    std::string out;
    while (true) {
      size_t end = pending.find("\n\n");
      size_t separator = 2;
      if (const size_t crlf = pending.find("\r\n\r\n"); crlf != std::string::npos && crlf < end) {
        end = crlf;
        separator = 4;
      }
      if (end == std::string::npos) break;
      std::string event = pending.substr(0, end);
      pending.erase(0, end + separator);
      out += co_await ScreenEvent(std::move(event), who, expected);
      out += "\n\n";
    }
    if (pending.size() > options_.max_message_bytes) {
      log::Warn("mcp upstream SSE event too large: stream ended", {{"server", options_.server_name}});
      upstream_ok = false;
      break;
    }
    if (out.empty()) continue;
    client.expires_after(options_.idle_timeout);
    co_await asio::async_write(client, bhttp::make_chunk(asio::buffer(out)),
                               asio::redirect_error(use_awaitable, error));
    if (error) co_return false;  // the client is gone: dropping `upstream` closes the stream
  }
  if (!upstream_ok || stopping_) co_return false;  // cut the chunked answer short: the client sees a broken stream
  client.expires_after(options_.idle_timeout);
  co_await asio::async_write(client, bhttp::make_chunk_last(), asio::redirect_error(use_awaitable, error));
  client.expires_never();
  co_return !error && request.keep_alive() && !stopping_;
}

awaitable<std::string> HttpProxy::Impl::ScreenEvent(std::string event, const AuthenticatedAgent& who,
                                                    Expected& expected) {
  std::string data;
  bool has_data = false;
  std::string kept;  // the event's other lines (id, event, retry, comments), in order
  size_t start = 0;
  while (start <= event.size()) {
    size_t end = event.find('\n', start);
    if (end == std::string::npos) end = event.size();
    std::string_view line(event.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 5) == "data:") {
      std::string_view value = line.substr(5);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (has_data) data += '\n';
      data.append(value);
      has_data = true;
    } else {
      kept.append(line);
      kept += '\n';
    }
    start = end + 1;
  }
  if (!has_data) co_return event;
  auto screened = co_await Screen(data, who, expected);
  if (!screened) co_return event;
  // The answer keeps the upstream's bytes, line breaks included: each line gets its own `data:`
  // (SSE ends a line at CR, LF or CRLF).
  std::string out = std::move(kept);
  out.reserve(out.size() + screened->size() + 16);
  out += "data: ";
  for (size_t at = 0; at < screened->size(); ++at) {
    const char ch = (*screened)[at];
    if (ch != '\r' && ch != '\n') {
      out += ch;
      continue;
    }
    if (ch == '\r' && at + 1 < screened->size() && (*screened)[at + 1] == '\n') ++at;
    out += "\ndata: ";
  }
  co_return out;
}

awaitable<std::optional<std::string>> HttpProxy::Impl::Screen(std::string_view data, const AuthenticatedAgent& who,
                                                              Expected& expected) {
  // Checked in one pass; only a tool list is read as a whole. A call's answer gets its correlation
  // id spliced in, here on the I/O thread (no writd request: the outcome is queued).
  auto members = ScanObject(data, kMaxJsonDepth);
  if (!members || FindMember(*members, "method") != nullptr) co_return std::nullopt;
  const RawMember* raw_id = FindMember(*members, "id");
  if (raw_id == nullptr) co_return std::nullopt;
  const RawMember* raw_result = FindMember(*members, "result");
  const bool mine = expected.kind != Expected::Kind::kNone && !expected.answered &&
                    IdKey(raw_id->value) == json::Serialize(expected.id);
  if (mine && expected.kind == Expected::Kind::kCall) {
    expected.answered = true;
    co_return interceptor_.FinishCallRaw(expected.call, expected.forwarded, data, *members);
  }
  // Not the answer this POST waits for (e.g. a stream resumed with GET + Last-Event-ID): a tool list
  // is still filtered, so no path shows the agent a forbidden tool.
  if (!mine) {
    auto result_members = raw_result != nullptr && raw_result->value.front() == '{'
                              ? ScanObject(raw_result->value, kMaxJsonDepth)
                              : Result<std::vector<RawMember>>(Fail(Code::kNotFound, "no result object"));
    const RawMember* raw_tools = result_members ? FindMember(*result_members, "tools") : nullptr;
    if (raw_tools == nullptr || raw_tools->value.front() != '[') co_return std::nullopt;
  }
  expected.answered = expected.answered || mine;
  auto parsed = json::Parse(data, {.max_bytes = options_.max_message_bytes, .max_depth = kMaxJsonDepth});
  auto parsed_id = json::Parse(raw_id->value);
  if (!parsed || !parsed_id) {  // a tool list this proxy cannot read is not shown to the agent
    co_return JsonRpcError(
        parsed_id ? *parsed_id : json::Value(), kJsonRpcInternalError,
        fmt::format("writ: mcp server `{}` answered tools/list with invalid JSON", options_.server_name));
  }
  const json::Value answer_id = std::move(*parsed_id);
  co_return co_await Offload(
      decision_pool_, [&] { return interceptor_.FilterList(who.agent, answer_id, std::move(*parsed), who.token); });
}

Result<std::unique_ptr<HttpProxy>> HttpProxy::Start(HttpProxyOptions options) {
  if (options.decisions == nullptr) return Fail(Code::kInvalidArgument, "no decision client");
  if (options.authenticator == nullptr) return Fail(Code::kInvalidArgument, "no agent authenticator");
  if (options.server_name.empty() || options.server_name.find('/') != std::string::npos) {
    return Fail(Code::kInvalidArgument, "a server name without `/` is required (--server)");
  }
  WRIT_ASSIGN_OR_RETURN(const HostPort listen, ParseHostPort(options.listen, "--listen"));
  if (!IsLoopbackHost(listen.host) && !options.allow_remote) {
    return Fail(
        Code::kInvalidArgument,
        fmt::format("--listen {}: not a loopback address; agents on other hosts need --allow-remote", options.listen));
  }
  WRIT_ASSIGN_OR_RETURN(Upstream upstream, ParseUpstream(options.upstream));
  if (!upstream.tls && !options.upstream_ca_file.empty()) {
    return Fail(Code::kInvalidArgument, "--upstream-ca is for an https:// upstream");
  }
  std::unique_ptr<asio::ssl::context> tls;
  if (upstream.tls) {
    WRIT_ASSIGN_OR_RETURN(tls, MakeTlsContext(options.upstream_ca_file));
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(upstream), std::move(tls));
  WRIT_RETURN_IF_ERROR(impl->Bind(listen));
  impl->Run();
  return std::unique_ptr<HttpProxy>(new HttpProxy(std::move(impl)));
}

HttpProxy::HttpProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpProxy::~HttpProxy() { Stop(); }
const std::string& HttpProxy::url() const { return impl_->url(); }
uint16_t HttpProxy::port() const { return impl_->port(); }
void HttpProxy::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace writ::gateway
