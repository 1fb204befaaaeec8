// The one translation unit of the server that includes Beast and Asio.
#include "server/http_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "common/ids.h"
#include "common/log.h"

namespace writ::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

constexpr size_t kMaxRequestIdBytes = 128;
constexpr std::chrono::milliseconds kForcedCloseWait{2'000};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr std::chrono::milliseconds kLingerTime{1'000};
constexpr size_t kMaxLingerBytes = 4 << 20;
constexpr size_t kLingerChunkBytes = 16 << 10;

// The client's X-Request-ID when it is short visible ASCII, else a new UUIDv7.
std::string RequestIdFor(const BeastRequest& request) {
  const auto field = request.find("X-Request-ID");
  if (field != request.end()) {
    const beast::string_view value = field->value();
    bool usable = !value.empty() && value.size() <= kMaxRequestIdBytes;
    for (const char c : value) usable = usable && c > ' ' && c < 0x7f;
    if (usable) return std::string(value);
  }
  return NewUuidV7();
}

std::string PeerFieldForLog(const Peer& peer) {
  if (peer.transport == Transport::kUnix) return "unix";
  return peer.address;
}

// Status and message for a request Beast could not parse; nullopt when the connection just
// ended or broke (nothing to answer).
struct ProtocolFailure {
  int status;
  Code code;
  std::string message;
};
std::optional<ProtocolFailure> DescribeReadError(const beast::error_code& error, const HttpServerOptions& options) {
  if (error == bhttp::error::header_limit) {
    return ProtocolFailure{431, Code::kResourceExhausted,
                           "request headers exceed " + std::to_string(options.max_header_bytes) + " bytes"};
  }
  if (error == bhttp::error::body_limit) {
    return ProtocolFailure{413, Code::kResourceExhausted,
                           "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes"};
  }
  if (error == bhttp::error::end_of_stream || error == bhttp::error::partial_message) return std::nullopt;
  if (error.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return ProtocolFailure{400, Code::kInvalidArgument, "malformed HTTP request: " + error.message()};
  }
  return std::nullopt;  // timeout, reset, closed by Stop
}

bool IsSafeHeaderText(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// The wire form of `response`. A handler's impossible status becomes 500, and header fields that
// would split the response (CR, LF, NUL) are dropped, both logged: never a malformed answer.
BeastResponse ToBeast(Response response, unsigned version, bool keep_alive, const std::string& request_id) {
  BeastResponse out;
  out.version(version == 10 ? 10 : 11);
  int status = response.status;
  if (status < 200 || status > 599) {
    log::Error("handler returned an invalid HTTP status", {{"status", status}, {"request_id", request_id}});
    status = 500;
  }
  out.result(static_cast<unsigned>(status));
  const std::string_view reason = ReasonPhrase(status);
  if (!reason.empty()) out.reason(beast::string_view(reason.data(), reason.size()));
  for (const auto& [name, value] : response.headers.entries()) {
    if (name.empty() || !IsSafeHeaderText(name) || name.find(':') != std::string::npos || !IsSafeHeaderText(value)) {
      log::Error("handler returned an invalid header field; dropped", {{"request_id", request_id}});
      continue;
    }
    out.insert(name, value);
  }
  if (!request_id.empty()) out.set("X-Request-ID", request_id);
  // 204 and 304 carry no body (RFC 9110).
  if (status != 204 && status != 304) out.body() = std::move(response.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

// Outlived by every asynchronous completion: one that arrives once the server has stopped (its
// io_context gone) finds `alive` false and does nothing.
struct Lifeline {
  std::shared_mutex mu;
  bool alive = true;  // guarded by mu
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Runs on the session's strand: closes the connection unless a request is being handled (or
  // always, with `force`, which also stops waiting for an asynchronous handler's answer).
  virtual void CloseOnStrand(bool force) = 0;
  virtual asio::any_io_executor executor() = 0;

  // Stops the wait for an asynchronous answer (on the strand).
  void WakeOnStrand() {
    if (answer_timer != nullptr) answer_timer->cancel();
  }

  // The answer of an asynchronous handler: written by the answering thread, then `answer_ready`.
  std::atomic<bool> answer_ready{false};
  Response answer;
  asio::steady_timer* answer_timer = nullptr;  // while waiting for it; strand only
  bool forced_close = false;                   // strand only
};

template <class Protocol>
class Session final : public SessionBase {
 public:
  Session(typename Protocol::socket socket, Peer peer_info) : stream(std::move(socket)), peer(std::move(peer_info)) {}
  void CloseOnStrand(bool force) override {
    if (handling && !force) return;
    forced_close = force;
    WakeOnStrand();
    beast::error_code ignored;
    stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
    stream.socket().close(ignored);
  }
  asio::any_io_executor executor() override { return stream.get_executor(); }

  beast::basic_stream<Protocol> stream;  // its executor is the session's strand
  Peer peer;
  bool handling = false;  // only touched on the strand
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options, const Router& router) : options_(options), router_(router) {}
  ~Impl() { Stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status Listen();
  void Run();
  void Stop();

  uint16_t tcp_port() const { return tcp_port_; }
  const std::string& unix_socket_path() const { return options_.unix_socket_path; }
  size_t open_connections() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }

 private:
  Status ListenUnix();
  Status ListenTcp();
  template <class Protocol>
  awaitable<void> AcceptLoop(typename Protocol::acceptor& acceptor);
  template <class Protocol>
  awaitable<void> Serve(std::shared_ptr<Session<Protocol>> session);
  // The router's answer to `request`: at once, or awaited without holding the thread.
  template <class Protocol>
  awaitable<Response> Dispatch(const std::shared_ptr<Session<Protocol>>& session, std::shared_ptr<Request> request);
  void Unregister(SessionBase* session);
  void PostCloseAll(bool force);
  bool WaitForNoSessions(std::chrono::milliseconds timeout);

  const HttpServerOptions options_;
  const Router& router_;
  std::atomic<bool> stopping_{false};
  const std::shared_ptr<Lifeline> lifeline_ = std::make_shared<Lifeline>();
  bool stopped_ = false;  // Stop() ran; only touched by the thread calling Stop
  uint16_t tcp_port_ = 0;
  ino_t socket_inode_ = 0;
  dev_t socket_device_ = 0;

  mutable std::mutex mu_;
  std::condition_variable sessions_changed_;
  std::unordered_map<SessionBase*, std::shared_ptr<SessionBase>> sessions_;  // guarded by mu_

  // Destroyed explicitly in Stop(), acceptors before the io_context.
  std::unique_ptr<asio::io_context> ioc_ = std::make_unique<asio::io_context>();
  // Reset in Stop() before ioc_: a strand's destructor uses a service the io_context owns.
  std::optional<asio::strand<asio::io_context::executor_type>> accept_strand_{asio::make_strand(*ioc_)};
  std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor_;
  std::unique_ptr<asio::ip::tcp::acceptor> tcp_acceptor_;
  std::vector<std::thread> threads_;
};

Status HttpServer::Impl::Listen() {
  if (options_.unix_socket_path.empty() && !options_.tcp_port) {
    return Fail(Code::kInvalidArgument, "no listener configured: set a Unix socket path or a TCP port");
  }
  if (options_.threads < 1) return Fail(Code::kInvalidArgument, "threads must be at least 1");
  if (!options_.unix_socket_path.empty()) WRIT_RETURN_IF_ERROR(ListenUnix());
  if (options_.tcp_port) WRIT_RETURN_IF_ERROR(ListenTcp());
  return Ok();
}

Status HttpServer::Impl::ListenUnix() {
  const std::string& path = options_.unix_socket_path;
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Fail(Code::kInvalidArgument, "unix socket path `" + path + "` is too long (max 107 bytes)");
  }
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      return Fail(Code::kUnavailable, "cannot listen on `" + path + "`: the file exists and is not a socket");
    }
    // A socket file: live if something accepts on it, stale (left by a dead server) otherwise.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return Fail(Code::kUnavailable, std::string("socket: ") + std::strerror(errno));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int connected = ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
    const int connect_errno = errno;
    ::close(probe);
    if (connected == 0) {
      return Fail(Code::kUnavailable, "cannot listen on `" + path + "`: another server is accepting on it");
    }
    if (connect_errno != ECONNREFUSED) {
      return Fail(Code::kUnavailable, "cannot probe socket `" + path + "`: " + std::strerror(connect_errno));
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Fail(Code::kUnavailable, "cannot remove stale socket `" + path + "`: " + std::strerror(errno));
    }
  }
  using Protocol = asio::local::stream_protocol;
  auto acceptor = std::make_unique<Protocol::acceptor>(*accept_strand_);
  beast::error_code error;
  acceptor->open(Protocol(), error);
  if (!error) acceptor->bind(Protocol::endpoint(path), error);
  if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
  if (error) return Fail(Code::kUnavailable, "cannot listen on `" + path + "`: " + error.message());
  if (::chmod(path.c_str(), options_.unix_socket_mode) != 0 || ::lstat(path.c_str(), &info) != 0) {
    return Fail(Code::kUnavailable, "cannot set the mode of `" + path + "`: " + std::strerror(errno));
  }
  socket_inode_ = info.st_ino;
  socket_device_ = info.st_dev;
  unix_acceptor_ = std::move(acceptor);
  return Ok();
}

Status HttpServer::Impl::ListenTcp() {
  using Protocol = asio::ip::tcp;
  const std::string host = options_.tcp_host == "localhost" ? "127.0.0.1" : options_.tcp_host;
  beast::error_code error;
  const asio::ip::address address = asio::ip::make_address(host, error);
  if (error) {
    return Fail(Code::kInvalidArgument, "tcp host `" + options_.tcp_host + "` is not an IP address or `localhost`");
  }
  const Protocol::endpoint endpoint(address, *options_.tcp_port);
  auto acceptor = std::make_unique<Protocol::acceptor>(*accept_strand_);
  acceptor->open(endpoint.protocol(), error);
  if (!error) acceptor->set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor->bind(endpoint, error);
  if (!error) acceptor->listen(asio::socket_base::max_listen_connections, error);
  const std::string where = host.find(':') != std::string::npos
                                ? "[" + host + "]:" + std::to_string(*options_.tcp_port)
                                : host + ":" + std::to_string(*options_.tcp_port);
  if (error) return Fail(Code::kUnavailable, "cannot listen on " + where + ": " + error.message());
  tcp_port_ = acceptor->local_endpoint().port();
  tcp_acceptor_ = std::move(acceptor);
  return Ok();
}

void HttpServer::Impl::Run() {
  if (unix_acceptor_) {
    asio::co_spawn(*accept_strand_, AcceptLoop<asio::local::stream_protocol>(*unix_acceptor_), asio::detached);
  }
  if (tcp_acceptor_) asio::co_spawn(*accept_strand_, AcceptLoop<asio::ip::tcp>(*tcp_acceptor_), asio::detached);
  for (int index = 0; index < options_.threads; ++index) {
    threads_.emplace_back([this] {
      while (true) {
        try {
          ioc_->run();
          return;
        } catch (const std::exception& error) {
          log::Error("unexpected exception in the server's event loop", {{"exception", error.what()}});
        }
      }
    });
  }
}

template <class Protocol>
awaitable<void> HttpServer::Impl::AcceptLoop(typename Protocol::acceptor& acceptor) {
  while (true) {
    auto strand = asio::make_strand(*ioc_);
    typename Protocol::socket socket(strand);
    beast::error_code error;
    co_await acceptor.async_accept(socket, asio::redirect_error(use_awaitable, error));
    if (stopping_.load() || !acceptor.is_open()) co_return;
    if (error) {
      // Out of descriptors (or similar): back off instead of spinning.
      log::Warn("accept failed", {{"error", error.message()}});
      asio::steady_timer timer(*accept_strand_, kAcceptRetryDelay);
      co_await timer.async_wait(asio::redirect_error(use_awaitable, error));
      continue;
    }
    Peer peer;
    if constexpr (std::is_same_v<Protocol, asio::local::stream_protocol>) {
      peer.transport = Transport::kUnix;
      ucred credentials{};
      socklen_t length = sizeof(credentials);
      if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) {
        peer.uid = credentials.uid;
        peer.gid = credentials.gid;
        peer.pid = credentials.pid;
      }
    } else {
      peer.transport = Transport::kTcp;
      const auto remote = socket.remote_endpoint(error);
      if (!error) {
        const std::string ip = remote.address().to_string();
        peer.address = (remote.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(remote.port());
      }
    }
    auto session = std::make_shared<Session<Protocol>>(std::move(socket), std::move(peer));
    {
      std::lock_guard lock(mu_);
      if (sessions_.size() >= options_.max_connections) {
        static constexpr char kBusy[] =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
            "Content-Length: 83\r\n\r\n"
            R"({"error":{"code":"resource_exhausted","message":"too many connections, try later"}})";
        // Best effort: the socket is fresh, so the kernel buffer takes these few bytes.
        [[maybe_unused]] const ssize_t sent = ::send(session->stream.socket().native_handle(), kBusy,
                                                     sizeof(kBusy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        session->CloseOnStrand(true);
        log::Warn("connection refused: too many connections", {{"limit", static_cast<int64_t>(options_.max_connections)}});
        continue;
      }
      sessions_.emplace(session.get(), session);
    }
    asio::co_spawn(session->executor(), Serve<Protocol>(session), asio::detached);
  }
}

template <class Protocol>
awaitable<void> HttpServer::Impl::Serve(std::shared_ptr<Session<Protocol>> session) {
  try {
    auto& stream = session->stream;
    beast::flat_buffer buffer;
    while (!stopping_.load()) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(std::min<size_t>(options_.max_header_bytes, UINT32_MAX)));
      parser.body_limit(options_.max_body_bytes);
      beast::error_code error;
      stream.expires_after(options_.read_timeout);
      co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_awaitable, error));
      if (!error && !parser.is_done()) {
        // curl and others wait (about a second) for this before sending a larger body.
        const auto expect = parser.get().find(bhttp::field::expect);
        if (expect != parser.get().end() && beast::iequals(expect->value(), "100-continue")) {
          bhttp::response<bhttp::empty_body> proceed{bhttp::status::continue_, 11};
          co_await bhttp::async_write(stream, proceed, asio::redirect_error(use_awaitable, error));
        }
        if (!error) co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, error));
      }
      if (error) {
        const std::optional<ProtocolFailure> failure = DescribeReadError(error, options_);
        if (failure) {
          BeastResponse out = ToBeast(ErrorResponse(failure->status, failure->code, failure->message), 11,
                                      /*keep_alive=*/false, NewUuidV7());
          stream.expires_after(options_.write_timeout);
          co_await bhttp::async_write(stream, out, asio::redirect_error(use_awaitable, error));
          log::Info("rejected request", {{"status", failure->status},
                                         {"reason", failure->message},
                                         {"peer", PeerFieldForLog(session->peer)}});
          // Lingering close: read and drop what the client is still sending (bounded), so that
          // closing with unread input does not reset the connection before it reads the answer.
          beast::error_code ignored;
          stream.socket().shutdown(asio::socket_base::shutdown_send, ignored);
          stream.expires_after(kLingerTime);
          std::vector<char> scratch(kLingerChunkBytes);
          for (size_t drained = 0; drained < kMaxLingerBytes && !ignored;) {
            drained += co_await stream.async_read_some(asio::buffer(scratch), asio::redirect_error(use_awaitable, ignored));
          }
        }
        break;
      }
      session->handling = true;
      BeastRequest& in = parser.get();
      // Shared with an asynchronous handler's completion, which may outlive this frame at a forced stop.
      auto request = std::make_shared<Request>();
      request->method = std::string(in.method_string());
      request->target = std::string(in.target());
      const size_t question = request->target.find('?');
      request->path = request->target.substr(0, question);
      for (const auto& field : in) request->headers.Add(std::string(field.name_string()), std::string(field.value()));
      request->body = std::move(in.body());
      request->peer = session->peer;
      request->request_id = RequestIdFor(in);
      request->json_options.max_bytes = options_.max_body_bytes;
      request->json_options.max_depth = options_.max_json_depth;

      Response response;
      auto query = ParseQuery(question == std::string::npos ? std::string_view() :
                                                              std::string_view(request->target).substr(question + 1));
      const auto started = std::chrono::steady_clock::now();
      if (!query) {
        response = ErrorResponse(400, Code::kInvalidArgument, "query: " + query.error().message);
      } else {
        request->query = std::move(query).value();
        response = co_await Dispatch(session, request);
      }
      // Built only when it is written: the fields cost allocations on every request.
      if (log::Enabled(log::Level::kInfo)) {
        const auto elapsed = std::chrono::steady_clock::now() - started;
        json::Value uid = session->peer.uid ? json::Value(int64_t{*session->peer.uid}) : json::Value();
        log::Info("request", {{"method", request->method},
                              {"path", request->path.substr(0, 512)},
                              {"status", response.status},
                              {"duration_us", static_cast<int64_t>(
                                                  std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count())},
                              {"peer", PeerFieldForLog(session->peer)},
                              {"uid", std::move(uid)},
                              {"request_id", request->request_id}});
      }
      if (session->forced_close) break;  // stopped while waiting: nothing more to send

      const bool keep_alive = in.keep_alive() && !stopping_.load();
      BeastResponse out = ToBeast(std::move(response), in.version(), keep_alive, request->request_id);
      stream.expires_after(options_.write_timeout);
      co_await bhttp::async_write(stream, out, asio::redirect_error(use_awaitable, error));
      session->handling = false;
      if (error || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    stream.socket().close(ignored);
  } catch (const std::exception& error) {
    log::Error("connection failed", {{"exception", error.what()}});
  }
  Unregister(session.get());
}

template <class Protocol>
awaitable<Response> HttpServer::Impl::Dispatch(const std::shared_ptr<Session<Protocol>>& session,
                                               std::shared_ptr<Request> request) {
  session->answer_ready.store(false, std::memory_order_relaxed);
  std::weak_ptr<SessionBase> weak = session;
  std::optional<Response> now = router_.Dispatch(
      *request, [request, weak, lifeline = lifeline_](Response response) {
        // Any thread (e.g. the ledger's writer): hand the answer over and wake the session's strand.
        std::shared_lock lock(lifeline->mu);
        if (!lifeline->alive) return;
        const std::shared_ptr<SessionBase> owner = weak.lock();
        if (!owner) return;
        owner->answer = std::move(response);
        owner->answer_ready.store(true, std::memory_order_release);
        asio::post(owner->executor(), [weak] {
          if (auto waiting = weak.lock()) waiting->WakeOnStrand();
        });
      });
  if (now) co_return std::move(*now);
  asio::steady_timer timer(session->stream.get_executor(), std::chrono::steady_clock::time_point::max());
  session->answer_timer = &timer;
  while (!session->answer_ready.load(std::memory_order_acquire) && !session->forced_close) {
    beast::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ignored));
  }
  session->answer_timer = nullptr;
  if (!session->answer_ready.load(std::memory_order_acquire)) {
    co_return ErrorResponse(503, Code::kUnavailable, "the server stopped before the request was answered");
  }
  co_return std::move(session->answer);
}

void HttpServer::Impl::Unregister(SessionBase* session) {
  std::shared_ptr<SessionBase> last;  // destroyed outside the lock
  {
    std::lock_guard lock(mu_);
    auto found = sessions_.find(session);
    if (found != sessions_.end()) {
      last = std::move(found->second);
      sessions_.erase(found);
    }
  }
  sessions_changed_.notify_all();
}

void HttpServer::Impl::PostCloseAll(bool force) {
  std::lock_guard lock(mu_);
  for (const auto& [raw, session] : sessions_) {
    asio::post(session->executor(), [session = session, force] { session->CloseOnStrand(force); });
  }
}

bool HttpServer::Impl::WaitForNoSessions(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return sessions_changed_.wait_for(lock, timeout, [this] { return sessions_.empty(); });
}

void HttpServer::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  // Stop accepting: close the listeners on the strand their accept loops run on.
  const auto close_acceptors = [this] {
    beast::error_code ignored;
    if (unix_acceptor_) unix_acceptor_->close(ignored);
    if (tcp_acceptor_) tcp_acceptor_->close(ignored);
  };
  if (threads_.empty()) {
    close_acceptors();  // never ran (Listen failed): nothing else to wait for
  } else {
    std::promise<void> closed;
    asio::post(*accept_strand_, [&] {
      close_acceptors();
      closed.set_value();
    });
    closed.get_future().wait();
    // Idle connections close now; those handling a request close once they have answered.
    PostCloseAll(/*force=*/false);
    if (!WaitForNoSessions(options_.stop_timeout)) {
      log::Warn("stop timeout reached: closing connections with requests in flight");
      PostCloseAll(/*force=*/true);
      if (!WaitForNoSessions(kForcedCloseWait)) log::Warn("a request handler is still running; waiting for it");
    }
  }
  ioc_->stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  {
    // Late asynchronous answers must not post to the io_context destroyed below.
    std::unique_lock lock(lifeline_->mu);
    lifeline_->alive = false;
  }
  {
    std::lock_guard lock(mu_);
    sessions_.clear();
  }
  unix_acceptor_.reset();
  tcp_acceptor_.reset();
  accept_strand_.reset();
  ioc_.reset();
  // Remove the socket file, unless another process has replaced it since.
  if (!options_.unix_socket_path.empty() && socket_inode_ != 0) {
    struct stat info {};
    if (::lstat(options_.unix_socket_path.c_str(), &info) == 0 && info.st_ino == socket_inode_ &&
        info.st_dev == socket_device_) {
      ::unlink(options_.unix_socket_path.c_str());
    }
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options, const Router& router) {
  auto impl = std::make_unique<Impl>(options, router);
  WRIT_RETURN_IF_ERROR(impl->Listen());
  impl->Run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Stop() { impl_->Stop(); }
uint16_t HttpServer::tcp_port() const { return impl_->tcp_port(); }
const std::string& HttpServer::unix_socket_path() const { return impl_->unix_socket_path(); }
size_t HttpServer::open_connections() const { return impl_->open_connections(); }

}  // namespace writ::server
