// HttpServer on epoll: one edge-triggered event loop per I/O thread, each owning its connections;
// the first loop accepts and hands connections out in turn. Asynchronous handlers run on the loop
// (they return promptly); synchronous ones, which may block, run on a BlockingPool. Answers from
// other threads come back through the loop's Inbox (a queue and an eventfd).
#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/log.h"
#include "server/internal/blocking_pool.h"
#include "server/internal/connection.h"
#include "server/internal/http_parser.h"
#include "server/internal/listeners.h"

namespace writ::server {
namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using internal::Connection;
using internal::HeadStatus;
using internal::Inbox;
using internal::kNever;

constexpr size_t kMaxRequestIdBytes = 128;
constexpr std::chrono::milliseconds kForcedCloseWait{2'000};
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr std::chrono::milliseconds kLingerTime{1'000};
constexpr size_t kMaxLingerBytes = 4 << 20;
constexpr size_t kInitialBufferBytes = 4 << 10;
constexpr int kMaxEvents = 128;
constexpr int kMaxAcceptsPerWake = 64;
constexpr size_t kMaxBlockingThreads = 64;
// epoll tags below kFirstConnectionId; connections count up from it.
constexpr uint64_t kWakeTag = 1;
constexpr uint64_t kUnixListenerTag = 2;
constexpr uint64_t kTcpListenerTag = 3;
constexpr uint64_t kFirstConnectionId = 16;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kBusy =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    "Content-Length: 83\r\n\r\n"
    R"({"error":{"code":"resource_exhausted","message":"too many connections, try later"}})";

std::string PeerFieldForLog(const Peer& peer) { return peer.transport == Transport::kUnix ? "unix" : peer.address; }

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options, const Router& router)
      : options_(options), router_(router), pool_(std::max<size_t>(kMaxBlockingThreads, options.threads)) {
    limits_.max_header_bytes = options.max_header_bytes;
    limits_.max_body_bytes = options.max_body_bytes;
  }
  ~Impl() { Stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status Listen();
  Status Run();
  void Stop();

  uint16_t tcp_port() const { return tcp_port_; }
  const std::string& unix_socket_path() const { return options_.unix_socket_path; }
  size_t open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  class Loop;
  enum Phase : int { kServing, kDraining, kForcing, kQuitting };

  void ConnectionClosed();
  bool WaitForNoConnections(std::chrono::milliseconds timeout);
  void SetPhase(Phase phase);

  const HttpServerOptions options_;
  const Router& router_;
  internal::HeadLimits limits_;
  internal::BlockingPool pool_;
  std::atomic<int> phase_{kServing};
  bool stopped_ = false;  // Stop() ran; only touched by the thread calling Stop
  uint16_t tcp_port_ = 0;
  ino_t socket_inode_ = 0;
  dev_t socket_device_ = 0;
  int unix_listener_ = -1;  // owned by loop 0 once running
  int tcp_listener_ = -1;
  std::atomic<uint64_t> next_id_{kFirstConnectionId};

  std::atomic<size_t> open_{0};
  std::mutex open_mu_;
  std::condition_variable open_changed_;
  std::mutex listeners_mu_;
  std::condition_variable listeners_closed_cv_;
  bool listeners_closed_ = false;  // guarded by listeners_mu_

  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> threads_;
};

class HttpServer::Impl::Loop {
 public:
  Loop(Impl& server, size_t index, int epoll_fd, std::shared_ptr<Inbox> inbox)
      : server_(server), index_(index), epoll_fd_(epoll_fd), inbox_(std::move(inbox)) {}
  ~Loop() { ::close(epoll_fd_); }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  const std::shared_ptr<Inbox>& inbox() const { return inbox_; }
  void Run();
  // Closes every connection (after the thread has ended).
  void CloseAll();

 private:
  void Wait(epoll_event* events, int* count);
  void DrainInbox();
  void Accept(int listener);
  void Adopt(std::shared_ptr<Connection> connection);
  void ApplyPhase();
  void Scan();
  void SetDeadline(Connection& connection, TimePoint deadline);

  // The connection's state machine: sends what is queued, takes the next request, reads more.
  void Drive(const std::shared_ptr<Connection>& connection);
  bool Flush(Connection& connection);
  bool ReadSome(Connection& connection);
  bool TakeRequest(const std::shared_ptr<Connection>& connection);
  void Reject(Connection& connection, const internal::HeadFailure& failure);
  void Dispatch(const std::shared_ptr<Connection>& connection);
  void QueueResponse(Connection& connection, Response response);
  void Linger(Connection& connection);
  void Close(Connection& connection);

  Impl& server_;
  const size_t index_;
  const int epoll_fd_;
  const std::shared_ptr<Inbox> inbox_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_;
  std::vector<uint64_t> closed_;  // erased from connections_ after each batch of events
  TimePoint now_ = SteadyClock::now();
  TimePoint next_scan_ = kNever;
  TimePoint resume_accept_ = kNever;  // listeners paused (out of descriptors) until then
  int phase_seen_ = kServing;
  size_t next_loop_ = 0;  // loop 0: where the next accepted connection goes
  std::vector<Inbox::Answer> answers_;
  std::vector<std::shared_ptr<Connection>> adopted_;
};

// ---- listeners ----

Status HttpServer::Impl::Listen() {
  if (options_.unix_socket_path.empty() && !options_.tcp_port) {
    return Fail(Code::kInvalidArgument, "no listener configured: set a Unix socket path or a TCP port");
  }
  if (options_.threads < 1) return Fail(Code::kInvalidArgument, "threads must be at least 1");
  if (options_.tcp_port) WRIT_RETURN_IF_ERROR(internal::CheckTcpHost(options_.tcp_host));
  if (!options_.unix_socket_path.empty()) {
    WRIT_ASSIGN_OR_RETURN(const internal::UnixListener listener,
                          internal::ListenUnix(options_.unix_socket_path, options_.unix_socket_mode));
    unix_listener_ = listener.fd;
    socket_inode_ = listener.inode;
    socket_device_ = listener.device;
  }
  if (options_.tcp_port) {
    WRIT_ASSIGN_OR_RETURN(const internal::TcpListener listener, internal::ListenTcp(options_.tcp_host, *options_.tcp_port));
    tcp_listener_ = listener.fd;
    tcp_port_ = listener.port;
  }
  return Ok();
}

Status HttpServer::Impl::Run() {
  for (int index = 0; index < options_.threads; ++index) {
    const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    const int event_fd = epoll_fd < 0 ? -1 : ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd < 0) {
      if (epoll_fd >= 0) ::close(epoll_fd);
      return Fail(Code::kUnavailable, std::string("cannot create an event loop: ") + std::strerror(errno));
    }
    // Owned by loops_ at once, so that Stop releases both descriptors whatever fails next.
    loops_.push_back(std::make_unique<Loop>(*this, static_cast<size_t>(index), epoll_fd, std::make_shared<Inbox>(event_fd)));
    epoll_event wake{.events = EPOLLIN, .data = {.u64 = kWakeTag}};
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, event_fd, &wake) != 0) {
      return Fail(Code::kUnavailable, std::string("cannot create an event loop: ") + std::strerror(errno));
    }
  }
  for (auto& loop : loops_) {
    Loop* raw = loop.get();
    threads_.emplace_back([raw] { raw->Run(); });
  }
  return Ok();
}

// ---- the event loop ----

void HttpServer::Impl::Loop::Run() {
  if (index_ == 0) {
    // Listeners are level-triggered, in loop 0 only.
    for (const auto& [fd, tag] : {std::pair{server_.unix_listener_, kUnixListenerTag},
                                  std::pair{server_.tcp_listener_, kTcpListenerTag}}) {
      if (fd < 0) continue;
      epoll_event event{.events = EPOLLIN, .data = {.u64 = tag}};
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
        log::Error("cannot watch a listener", {{"error", std::strerror(errno)}});
      }
    }
  }
  epoll_event events[kMaxEvents];
  while (true) {
    int count = 0;
    Wait(events, &count);
    for (int index = 0; index < count; ++index) {
      const uint64_t tag = events[index].data.u64;
      try {
        if (tag == kWakeTag) {
          DrainInbox();
        } else if (tag == kUnixListenerTag) {
          Accept(server_.unix_listener_);
        } else if (tag == kTcpListenerTag) {
          Accept(server_.tcp_listener_);
        } else {
          const auto found = connections_.find(tag);
          if (found == connections_.end()) continue;
          const std::shared_ptr<Connection>& connection = found->second;
          const uint32_t flags = events[index].events;
          if (flags & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) connection->readable = true;
          if (flags & (EPOLLRDHUP | EPOLLHUP)) connection->peer_shut = true;
          Drive(connection);
        }
      } catch (const std::exception& error) {
        log::Error("unexpected exception in the server's event loop", {{"exception", error.what()}});
        if (const auto found = connections_.find(tag); found != connections_.end()) Close(*found->second);
      }
    }
    for (const uint64_t id : closed_) connections_.erase(id);
    closed_.clear();
    if (server_.phase_.load(std::memory_order_acquire) != phase_seen_) ApplyPhase();
    if (phase_seen_ == kQuitting) return;
    if (now_ >= next_scan_ || now_ >= resume_accept_) Scan();
  }
}

void HttpServer::Impl::Loop::Wait(epoll_event* events, int* count) {
  const TimePoint wake_at = std::min(next_scan_, resume_accept_);
  int timeout_ms = -1;
  if (wake_at != kNever) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(wake_at - SteadyClock::now()).count();
    timeout_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
  }
  *count = ::epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  if (*count < 0) {
    if (errno != EINTR) log::Error("epoll_wait failed", {{"error", std::strerror(errno)}});
    *count = 0;
  }
  now_ = SteadyClock::now();
}

void HttpServer::Impl::Loop::SetDeadline(Connection& connection, TimePoint deadline) {
  connection.deadline = deadline;
  next_scan_ = std::min(next_scan_, deadline);
}

// Closes the connections whose deadline passed; finds the next deadline; resumes accepting.
void HttpServer::Impl::Loop::Scan() {
  next_scan_ = kNever;
  for (const auto& [id, connection] : connections_) {
    if (connection->state == Connection::State::kClosed) continue;
    if (connection->deadline <= now_) {
      Close(*connection);  // too slow to send a request, to read an answer, or to go away
    } else {
      next_scan_ = std::min(next_scan_, connection->deadline);
    }
  }
  for (const uint64_t id : closed_) connections_.erase(id);
  closed_.clear();
  if (now_ >= resume_accept_) {
    resume_accept_ = kNever;
    for (const auto& [fd, tag] : {std::pair{server_.unix_listener_, kUnixListenerTag},
                                  std::pair{server_.tcp_listener_, kTcpListenerTag}}) {
      if (fd < 0) continue;
      epoll_event event{.events = EPOLLIN, .data = {.u64 = tag}};
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
    }
  }
}

void HttpServer::Impl::Loop::DrainInbox() {
  inbox_->Take(&answers_, &adopted_);
  for (auto& connection : adopted_) Adopt(std::move(connection));
  adopted_.clear();
  for (Inbox::Answer& answer : answers_) {
    const std::shared_ptr<Connection>& connection = answer.connection;
    if (connection->state != Connection::State::kHandling) continue;  // closed meanwhile: nobody to tell
    QueueResponse(*connection, std::move(answer.response));
    Drive(connection);
  }
  answers_.clear();
}

void HttpServer::Impl::Loop::Accept(int listener) {
  for (int accepted = 0; accepted < kMaxAcceptsPerWake; ++accepted) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&address), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors (or similar): stop watching the listeners for a while instead of spinning.
      log::Warn("accept failed", {{"error", std::strerror(errno)}});
      for (const int watched : {server_.unix_listener_, server_.tcp_listener_}) {
        if (watched >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, watched, nullptr);
      }
      resume_accept_ = now_ + kAcceptRetryDelay;
      return;
    }
    if (server_.open_.load(std::memory_order_relaxed) >= server_.options_.max_connections) {
      // Best effort: the socket is fresh, so the kernel buffer takes these few bytes.
      [[maybe_unused]] const ssize_t sent = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::shutdown(fd, SHUT_WR);
      ::close(fd);
      log::Warn("connection refused: too many connections",
                {{"limit", static_cast<int64_t>(server_.options_.max_connections)}});
      continue;
    }
    server_.open_.fetch_add(1, std::memory_order_relaxed);
    Peer peer;
    if (listener == server_.unix_listener_) {
      peer.transport = Transport::kUnix;
      ucred credentials{};
      socklen_t size = sizeof(credentials);
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0) {
        peer.uid = credentials.uid;
        peer.gid = credentials.gid;
        peer.pid = credentials.pid;
      }
    } else {
      peer.transport = Transport::kTcp;
      const int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
      char text[INET6_ADDRSTRLEN] = {};
      if (address.ss_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
        ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
        peer.address = fmt::format("[{}]:{}", text, ntohs(v6->sin6_port));
      } else {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
        ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
        peer.address = fmt::format("{}:{}", text, ntohs(v4->sin_port));
      }
    }
    // Handed out in turn; the connection keeps its loop for life.
    Loop& owner = *server_.loops_[next_loop_++ % server_.loops_.size()];
    auto connection = std::make_shared<Connection>(fd, server_.next_id_.fetch_add(1, std::memory_order_relaxed), owner.inbox_);
    connection->request.peer = std::move(peer);
    connection->request.json_options.max_bytes = server_.options_.max_body_bytes;
    connection->request.json_options.max_depth = server_.options_.max_json_depth;
    if (&owner == this) {
      Adopt(std::move(connection));
    } else {
      owner.inbox_->PostAdopt(std::move(connection));
    }
  }
}

void HttpServer::Impl::Loop::Adopt(std::shared_ptr<Connection> connection) {
  const uint64_t id = connection->id;
  Connection& adopted = *connection;
  connections_.emplace(id, std::move(connection));
  epoll_event event{.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data = {.u64 = id}};
  if (phase_seen_ != kServing || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, adopted.fd, &event) != 0) {
    Close(adopted);
    return;
  }
  adopted.input.resize(kInitialBufferBytes);
  SetDeadline(adopted, now_ + server_.options_.read_timeout);
}

void HttpServer::Impl::Loop::ApplyPhase() {
  phase_seen_ = server_.phase_.load(std::memory_order_acquire);
  if (phase_seen_ >= kDraining && index_ == 0) {
    // Stop accepting: the listeners are closed here, where they are watched.
    for (int* fd : {&server_.unix_listener_, &server_.tcp_listener_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
    resume_accept_ = kNever;
    {
      std::lock_guard lock(server_.listeners_mu_);
      server_.listeners_closed_ = true;
    }
    server_.listeners_closed_cv_.notify_all();
  }
  // Draining: idle connections close now, those with a request close once they have answered.
  // Forcing: every connection closes, answered or not.
  for (const auto& [id, connection] : connections_) {
    const Connection::State state = connection->state;
    if (phase_seen_ >= kForcing || state == Connection::State::kReading || state == Connection::State::kLingering) {
      Close(*connection);
    }
  }
  for (const uint64_t id : closed_) connections_.erase(id);
  closed_.clear();
}

void HttpServer::Impl::Loop::CloseAll() {
  for (const auto& [id, connection] : connections_) Close(*connection);
  connections_.clear();
  closed_.clear();
}

void HttpServer::Impl::Loop::Close(Connection& connection) {
  if (connection.state == Connection::State::kClosed) return;
  connection.state = Connection::State::kClosed;
  ::close(connection.fd);  // also removes it from the epoll set
  connection.fd = -1;
  connection.output_head.clear();
  connection.output_body.clear();
  closed_.push_back(connection.id);
  server_.ConnectionClosed();
}

// ---- one connection ----

void HttpServer::Impl::Loop::Drive(const std::shared_ptr<Connection>& pointer) {
  Connection& connection = *pointer;
  while (true) {
    if (connection.HasOutput() && !Flush(connection)) return;  // the socket is full, or closed
    switch (connection.state) {
      case Connection::State::kClosed:
      case Connection::State::kHandling:
        return;
      case Connection::State::kWriting:
        // The answer is out.
        if (connection.linger_after_write) {
          ::shutdown(connection.fd, SHUT_WR);
          connection.state = Connection::State::kLingering;
          SetDeadline(connection, now_ + kLingerTime);
        } else if (connection.close_after_write || phase_seen_ != kServing) {
          ::shutdown(connection.fd, SHUT_WR);
          Close(connection);
          return;
        } else {
          connection.state = Connection::State::kReading;
          SetDeadline(connection, now_ + server_.options_.read_timeout);
        }
        break;
      case Connection::State::kLingering:
        Linger(connection);
        return;
      case Connection::State::kReading:
        if (TakeRequest(pointer)) break;  // handled, or answered at once
        if (connection.state != Connection::State::kReading || connection.HasOutput()) break;
        if (!connection.readable) return;  // wait for the next edge
        if (!ReadSome(connection)) return;
        break;
    }
  }
}

bool HttpServer::Impl::Loop::Flush(Connection& connection) {
  const size_t head_size = connection.output_head.size();
  const size_t total = head_size + connection.output_body.size();
  while (connection.output_sent < total) {
    iovec parts[2];
    size_t count = 0;
    if (connection.output_sent < head_size) {
      parts[count++] = {connection.output_head.data() + connection.output_sent, head_size - connection.output_sent};
      if (!connection.output_body.empty()) parts[count++] = {connection.output_body.data(), connection.output_body.size()};
    } else {
      const size_t offset = connection.output_sent - head_size;
      parts[count++] = {connection.output_body.data() + offset, connection.output_body.size() - offset};
    }
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = count;
    const ssize_t sent = ::sendmsg(connection.fd, &message, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;  // EPOLLOUT's edge brings us back
      Close(connection);  // the client went away mid-answer
      return false;
    }
    connection.output_sent += static_cast<size_t>(sent);
  }
  connection.output_head.clear();
  connection.output_body.clear();
  connection.output_sent = 0;
  return true;
}

bool HttpServer::Impl::Loop::ReadSome(Connection& connection) {
  if (connection.input_end == connection.input.size()) {
    if (connection.input_begin > 0) {  // move the unconsumed bytes to the front
      std::memmove(connection.input.data(), connection.input.data() + connection.input_begin,
                   connection.input_end - connection.input_begin);
      connection.input_end -= connection.input_begin;
      connection.input_begin = 0;
    } else {
      // The head and body limits reject a request before the buffer passes their sum.
      connection.input.resize(connection.input.size() * 2);
    }
  }
  const size_t room = connection.input.size() - connection.input_end;
  while (true) {
    const ssize_t received = ::recv(connection.fd, connection.input.data() + connection.input_end, room, 0);
    if (received > 0) {
      connection.input_end += static_cast<size_t>(received);
      // A short read emptied the socket: the next data raises a new edge. After the client's
      // shutdown there is no new edge, so read on until recv says 0.
      if (static_cast<size_t>(received) < room && !connection.peer_shut) connection.readable = false;
      return true;
    }
    if (received == 0) {
      Close(connection);  // the client finished; no whole request is left unanswered
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      connection.readable = false;
      return false;
    }
    Close(connection);
    return false;
  }
}

// Takes the request at the front of the input when it is complete: hands it to its handler (or
// answers a malformed one). Returns false when more input is needed.
bool HttpServer::Impl::Loop::TakeRequest(const std::shared_ptr<Connection>& pointer) {
  Connection& connection = *pointer;
  const std::string_view buffered = connection.Buffered();
  if (connection.needed != 0 && buffered.size() < connection.needed) return false;  // body still coming
  internal::HeadFailure failure;
  const HeadStatus status =
      internal::ParseRequestHead(buffered, server_.limits_, &connection.scanned, &connection.head, &failure);
  if (status == HeadStatus::kRejected) {
    Reject(connection, failure);
    return true;
  }
  if (status == HeadStatus::kIncomplete) return false;
  const internal::RequestHead& head = connection.head;
  connection.needed = head.head_bytes + head.content_length;
  // A later call finds the blank line at once (the parser looks from 3 bytes before `scanned`).
  connection.scanned = head.head_bytes - 1;
  if (buffered.size() < connection.needed) {
    // curl and others wait (about a second) for this before sending a larger body.
    if (head.expect_continue && !connection.continue_sent) {
      connection.continue_sent = true;
      connection.output_head.assign(kContinue);
    }
    const size_t want = connection.input_begin + connection.needed;
    if (connection.input.size() < want && connection.input_begin > 0) {
      std::memmove(connection.input.data(), connection.input.data() + connection.input_begin, buffered.size());
      connection.input_end = buffered.size();
      connection.input_begin = 0;
    }
    if (connection.input.size() < connection.needed) connection.input.resize(connection.needed);
    return false;
  }

  // The whole request is here: fill the reused Request.
  Request& request = connection.request;
  request.method.assign(head.method);
  request.target.assign(head.target);
  const size_t question = request.target.find('?');
  request.path.assign(request.target, 0, question);
  request.headers.Assign(head.fields);
  std::string_view client_id;
  for (const auto& [name, value] : head.fields) {
    if (internal::EqualsIgnoreAsciiCase(name, "x-request-id")) {
      client_id = value;
      break;
    }
  }
  bool usable_id = !client_id.empty() && client_id.size() <= kMaxRequestIdBytes;
  for (const char c : client_id) usable_id = usable_id && c > ' ' && c < 0x7f;
  if (usable_id) {
    request.request_id.assign(client_id);
  } else {
    request.request_id = NewUuidV7();
  }
  request.body.assign(buffered.data() + head.head_bytes, head.content_length);
  request.params.clear();
  connection.keep_alive = head.keep_alive;
  connection.minor_version = head.minor_version;
  connection.head_method = head.method == "HEAD";
  // Consume it.
  connection.input_begin += connection.needed;
  if (connection.input_begin == connection.input_end) connection.input_begin = connection.input_end = 0;
  connection.needed = 0;
  connection.scanned = 0;
  connection.continue_sent = false;

  connection.state = Connection::State::kHandling;
  connection.deadline = kNever;
  if (question == std::string::npos) {
    request.query = QueryParams();
  } else {
    auto query = ParseQuery(std::string_view(request.target).substr(question + 1));
    if (!query) {
      QueueResponse(connection, ErrorResponse(400, Code::kInvalidArgument, "query: " + query.error().message));
      return true;
    }
    request.query = std::move(query).value();
  }
  Dispatch(pointer);
  return true;
}

void HttpServer::Impl::Loop::Dispatch(const std::shared_ptr<Connection>& pointer) {
  Connection& connection = *pointer;
  if (log::Enabled(log::Level::kInfo)) connection.started = now_;
  Router::Match match;
  Response answer;
  if (!server_.router_.Prepare(connection.request, &match, &answer)) {
    QueueResponse(connection, std::move(answer));
    return;
  }
  if (match.blocking()) {
    // May block: on the pool, never on this loop. The answer comes back through the inbox.
    server_.pool_.Submit([pointer, match, &router = server_.router_] {
      std::optional<Response> response = router.Run(match, pointer->request, nullptr);
      pointer->inbox->PostAnswer(pointer, response ? std::move(*response)
                                                   : ErrorResponse(500, Code::kInternal, "the handler gave no answer"));
    });
    return;
  }
  std::optional<Response> now = server_.router_.Run(match, connection.request, [pointer](Response response) {
    // Any thread (e.g. the ledger's writer): hand the answer to the connection's loop.
    pointer->inbox->PostAnswer(pointer, std::move(response));
  });
  if (now) QueueResponse(connection, std::move(*now));
}

void HttpServer::Impl::Loop::Reject(Connection& connection, const internal::HeadFailure& failure) {
  const Code code = failure.status == 413 || failure.status == 431 ? Code::kResourceExhausted : Code::kInvalidArgument;
  log::Info("rejected request", {{"status", failure.status},
                                 {"reason", failure.message},
                                 {"peer", PeerFieldForLog(connection.request.peer)}});
  connection.keep_alive = false;
  connection.minor_version = 1;
  connection.head_method = false;
  connection.request.request_id = NewUuidV7();
  connection.input_begin = connection.input_end = 0;
  connection.state = Connection::State::kHandling;
  QueueResponse(connection, ErrorResponse(failure.status, code, failure.message));
  // Lingering close: read and drop what the client is still sending (bounded), so that closing
  // with unread input does not reset the connection before the client reads the answer.
  connection.linger_after_write = true;
}

// Serializes `response` for the request being handled, to be sent by Flush. A handler's
// impossible status becomes 500, and header fields that would split the response (CR, LF, NUL)
// are dropped, both logged: never a malformed answer.
void HttpServer::Impl::Loop::QueueResponse(Connection& connection, Response response) {
  const std::string& request_id = connection.request.request_id;
  int status = response.status;
  if (status < 200 || status > 599) {
    log::Error("handler returned an invalid HTTP status", {{"status", status}, {"request_id", request_id}});
    status = 500;
  }
  const bool keep_alive = connection.keep_alive && server_.phase_.load(std::memory_order_relaxed) == kServing;
  // 204 and 304 carry no body (RFC 9110); the answer to HEAD has the length but not the body.
  const bool bodiless = status == 204 || status == 304;
  const size_t dropped = internal::AppendResponseHead(
      {.status = status,
       .minor_version = connection.minor_version,
       .headers = response.headers,
       .request_id = request_id,
       .keep_alive = keep_alive,
       .content_length = bodiless ? -1 : static_cast<int64_t>(response.body.size())},
      &connection.output_head);
  if (dropped > 0) log::Error("handler returned an invalid header field; dropped", {{"request_id", request_id}});
  if (bodiless || connection.head_method) {
    connection.output_body.clear();
  } else {
    connection.output_body = std::move(response.body);
  }
  connection.output_sent = 0;
  connection.close_after_write = !keep_alive;
  connection.linger_after_write = false;
  connection.state = Connection::State::kWriting;
  SetDeadline(connection, now_ + server_.options_.write_timeout);

  // Built only when it is written: the fields cost allocations on every request.
  if (log::Enabled(log::Level::kInfo)) {
    const Request& request = connection.request;
    const auto elapsed = SteadyClock::now() - (connection.started == TimePoint{} ? now_ : connection.started);
    json::Value uid = request.peer.uid ? json::Value(int64_t{*request.peer.uid}) : json::Value();
    log::Info("request", {{"method", request.method},
                          {"path", request.path.substr(0, 512)},
                          {"status", status},
                          {"duration_us", static_cast<int64_t>(
                                              std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count())},
                          {"peer", PeerFieldForLog(request.peer)},
                          {"uid", std::move(uid)},
                          {"request_id", request_id}});
  }
}

void HttpServer::Impl::Loop::Linger(Connection& connection) {
  char scratch[16 << 10];
  while (connection.lingered < kMaxLingerBytes) {
    const ssize_t received = ::recv(connection.fd, scratch, sizeof(scratch), 0);
    if (received > 0) {
      connection.lingered += static_cast<size_t>(received);
      continue;
    }
    if (received < 0 && errno == EINTR) continue;
    if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // until the deadline
    break;  // the client closed (or broke) its side
  }
  Close(connection);
}

// ---- stopping ----

void HttpServer::Impl::ConnectionClosed() {
  {
    std::lock_guard lock(open_mu_);
    open_.fetch_sub(1, std::memory_order_relaxed);
  }
  open_changed_.notify_all();
}

bool HttpServer::Impl::WaitForNoConnections(std::chrono::milliseconds timeout) {
  std::unique_lock lock(open_mu_);
  return open_changed_.wait_for(lock, timeout, [this] { return open_.load(std::memory_order_relaxed) == 0; });
}

void HttpServer::Impl::SetPhase(Phase phase) {
  phase_.store(phase, std::memory_order_release);
  for (const auto& loop : loops_) loop->inbox()->Wake();
}

void HttpServer::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!threads_.empty()) {
    SetPhase(kDraining);
    {
      std::unique_lock lock(listeners_mu_);
      listeners_closed_cv_.wait(lock, [this] { return listeners_closed_; });
    }
    if (!WaitForNoConnections(options_.stop_timeout)) {
      log::Warn("stop timeout reached: closing connections with requests in flight");
      SetPhase(kForcing);
      if (!WaitForNoConnections(kForcedCloseWait)) log::Warn("connections still open after the forced close");
    }
    SetPhase(kQuitting);
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }
  // Blocking handlers still running finish here (their answers go nowhere).
  pool_.Stop();
  for (const auto& loop : loops_) {
    loop->inbox()->Kill();  // late answers are dropped from now on
    loop->CloseAll();
  }
  loops_.clear();
  for (int* fd : {&unix_listener_, &tcp_listener_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
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
  WRIT_RETURN_IF_ERROR(impl->Run());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Stop() { impl_->Stop(); }
uint16_t HttpServer::tcp_port() const { return impl_->tcp_port(); }
const std::string& HttpServer::unix_socket_path() const { return impl_->unix_socket_path(); }
size_t HttpServer::open_connections() const { return impl_->open_connections(); }

}  // namespace writ::server
