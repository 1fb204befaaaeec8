// The state HttpServer keeps per connection, and the inbox through which other threads hand work
// to an event loop. Internal to the server module (http_server.cpp is their only user).
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/http.h"
#include "server/internal/http_parser.h"

namespace writ::server::internal {

inline constexpr std::chrono::steady_clock::time_point kNever = std::chrono::steady_clock::time_point::max();

class Connection;

// Where other threads hand work to one loop: answers for its connections, and connections it is
// to adopt. Outlives the loop (completions hold it); once dead, everything posted is dropped.
class Inbox {
 public:
  struct Answer {
    std::shared_ptr<Connection> connection;
    Response response;
  };

  explicit Inbox(int event_fd) : event_fd_(event_fd) {}

  void PostAnswer(std::shared_ptr<Connection> connection, Response response) {
    std::lock_guard lock(mu_);
    if (!alive_) return;
    answers_.push_back({std::move(connection), std::move(response)});
    WakeLocked();
  }
  void PostAdopt(std::shared_ptr<Connection> connection) {
    std::lock_guard lock(mu_);
    if (!alive_) return;
    adopted_.push_back(std::move(connection));
    WakeLocked();
  }
  // Wakes the loop (to look at the server's phase).
  void Wake() {
    std::lock_guard lock(mu_);
    if (alive_) WakeLocked();
  }
  // Takes everything posted so far.
  void Take(std::vector<Answer>* answers, std::vector<std::shared_ptr<Connection>>* adopted) {
    std::lock_guard lock(mu_);
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t ignored = ::read(event_fd_, &count, sizeof(count));
    woken_ = false;
    answers->swap(answers_);
    adopted->swap(adopted_);
  }
  // After this, posts are dropped; what was queued is released here.
  void Kill() {
    std::vector<Answer> answers;
    std::vector<std::shared_ptr<Connection>> adopted;
    {
      std::lock_guard lock(mu_);
      alive_ = false;
      answers.swap(answers_);
      adopted.swap(adopted_);
      ::close(event_fd_);
    }
  }

 private:
  void WakeLocked() {
    if (woken_) return;  // one write until the loop takes
    woken_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t ignored = ::write(event_fd_, &one, sizeof(one));
  }

  std::mutex mu_;
  const int event_fd_;
  bool alive_ = true;   // guarded by mu_
  bool woken_ = false;  // guarded by mu_
  std::vector<Answer> answers_;                         // guarded by mu_
  std::vector<std::shared_ptr<Connection>> adopted_;    // guarded by mu_
};

// One client connection. Every member is touched only by the owning loop's thread, except that
// `request` is read by the handler while the state is kHandling.
class Connection {
 public:
  enum class State : uint8_t {
    kReading,    // waiting for (the rest of) a request
    kHandling,   // a handler has the request; no answer yet
    kWriting,    // sending an answer
    kLingering,  // answered an unreadable request: dropping input until the client closes
    kClosed,
  };

  Connection(int fd_in, uint64_t id_in, std::shared_ptr<Inbox> inbox_in) : fd(fd_in), id(id_in), inbox(std::move(inbox_in)) {}
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::string_view Buffered() const { return {input.data() + input_begin, input_end - input_begin}; }
  bool HasOutput() const { return output_sent < output_head.size() + output_body.size(); }

  int fd;
  const uint64_t id;
  const std::shared_ptr<Inbox> inbox;  // the owning loop's
  State state = State::kReading;
  std::chrono::steady_clock::time_point deadline = kNever;  // read, write or linger deadline of the current state

  // Input: bytes [input_begin, input_end) of `input` are received and not yet consumed.
  std::string input;
  size_t input_begin = 0;
  size_t input_end = 0;
  size_t scanned = 0;         // head bytes already searched for the blank line
  size_t needed = 0;          // head + body of the request at the front, once its head is known
  bool continue_sent = false;  // for the request at the front
  bool readable = true;       // recv may return data (edge-triggered: until EAGAIN or a short read)
  bool peer_shut = false;     // the client shut its sending side (EPOLLRDHUP)
  internal::RequestHead head;

  // The request being handled (reused: its strings keep their capacity).
  Request request;
  bool keep_alive = true;
  bool head_method = false;
  int minor_version = 1;
  std::chrono::steady_clock::time_point started{};

  // Output: a response head and body, sent with one sendmsg when the socket takes them.
  std::string output_head;
  std::string output_body;
  size_t output_sent = 0;
  bool close_after_write = false;
  bool linger_after_write = false;
  size_t lingered = 0;
};

}  // namespace writ::server::internal
