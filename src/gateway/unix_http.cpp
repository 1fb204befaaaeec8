#include "gateway/unix_http.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace writ::gateway {
namespace {

constexpr size_t kMaxHeadBytes = 64 << 10;
constexpr size_t kReadChunk = 16 << 10;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t index = 0; index < a.size(); ++index) {
    const char x = a[index] >= 'A' && a[index] <= 'Z' ? static_cast<char>(a[index] - 'A' + 'a') : a[index];
    const char y = b[index] >= 'A' && b[index] <= 'Z' ? static_cast<char>(b[index] - 'A' + 'a') : b[index];
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

struct Head {
  int status = 0;
  size_t content_length = 0;
};

// Parses a response head (status line and fields, without the blank line).
Result<Head> ParseHead(std::string_view head) {
  const size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  Head parsed;
  if (status_line.substr(0, 9) != "HTTP/1.1 " || status_line.size() < 12) {
    return Fail(Code::kUnavailable, "writd answered with a malformed status line");
  }
  const auto [end, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, parsed.status);
  if (ec != std::errc() || end != status_line.data() + 12 || parsed.status < 100) {
    return Fail(Code::kUnavailable, "writd answered with a malformed status code");
  }
  bool has_length = false;
  size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    size_t next = head.find("\r\n", at);
    if (next == std::string_view::npos) next = head.size();
    const std::string_view field = head.substr(at, next - at);
    at = next + 2;
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) return Fail(Code::kUnavailable, "writd answered with a malformed header field");
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = Trim(field.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Content-Length")) {
      const auto [value_end, value_ec] = std::from_chars(value.data(), value.data() + value.size(), parsed.content_length);
      if (value_ec != std::errc() || value_end != value.data() + value.size()) {
        return Fail(Code::kUnavailable, "writd answered with a malformed Content-Length");
      }
      has_length = true;
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      return Fail(Code::kUnavailable, "writd answered with a Transfer-Encoding this client does not read");
    }
  }
  if (!has_length) return Fail(Code::kUnavailable, "writd answered without a Content-Length");
  return parsed;
}

int MillisecondsLeft(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(left.count(), 0));
}

thread_local ScopedReadableWatch* current_watch = nullptr;

}  // namespace

// Waits until `fd` is ready for `events`, serving this thread's ScopedReadableWatch meanwhile.
// Errors: kDeadlineExceeded, kUnavailable.
Status UnixHttpConnection::WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    ScopedReadableWatch* watch = current_watch;
    pollfd poll_fds[2] = {{fd, events, 0}, {watch != nullptr ? watch->fd_ : -1, POLLIN, 0}};
    const int ready = ::poll(poll_fds, watch != nullptr && watch->fd_ >= 0 ? 2 : 1, MillisecondsLeft(deadline));
    if (ready > 0 && poll_fds[1].revents != 0) {
      watch->fd_ = -1;  // once
      if (*watch->on_readable_) (*watch->on_readable_)();
      if (poll_fds[0].revents == 0) continue;
    }
    if (ready > 0) return Ok();
    if (ready == 0) return Fail(Code::kDeadlineExceeded, "writd did not answer in time");
    if (errno != EINTR) return Fail(Code::kUnavailable, fmt::format("poll on writd's socket failed: {}", std::strerror(errno)));
  }
}

ScopedReadableWatch::ScopedReadableWatch(int fd, std::function<void()>* on_readable)
    : fd_(fd), on_readable_(on_readable), outer_(current_watch) {
  current_watch = this;
}

ScopedReadableWatch::~ScopedReadableWatch() { current_watch = outer_; }

UnixHttpConnection::UnixHttpConnection(std::string socket_path, size_t max_response_bytes)
    : socket_path_(std::move(socket_path)), max_response_bytes_(max_response_bytes) {}

UnixHttpConnection::~UnixHttpConnection() { Close(); }

void UnixHttpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

Status UnixHttpConnection::Connect() {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof(address.sun_path)) {
    return Fail(Code::kUnavailable, fmt::format("writd's socket path `{}` is too long", socket_path_));
  }
  std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Fail(Code::kUnavailable, fmt::format("cannot create a socket: {}", std::strerror(errno)));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    Close();
    return Fail(Code::kUnavailable, fmt::format("writd is not running: cannot connect to {}: {}", socket_path_,
                                                std::strerror(error)));
  }
  return Ok();
}

Result<RawHttpReply> UnixHttpConnection::Request(
    std::string_view method, std::string_view path, std::string_view body,
    const std::vector<std::pair<std::string_view, std::string_view>>& headers, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string request = fmt::format("{} {} HTTP/1.1\r\nHost: writd\r\n", method, path);
  for (const auto& [name, value] : headers) {
    if (value.find_first_of("\r\n") != std::string_view::npos) {
      return Fail(Code::kInvalidArgument, fmt::format("header `{}` holds a line break", name));
    }
    fmt::format_to(std::back_inserter(request), "{}: {}\r\n", name, value);
  }
  if (!body.empty()) request += "Content-Type: application/json\r\n";
  fmt::format_to(std::back_inserter(request), "Content-Length: {}\r\n\r\n", body.size());
  request += body;
  const bool reused = fd_ >= 0;
  if (!reused) WRIT_RETURN_IF_ERROR(Connect());
  bool nothing_read = true;
  auto reply = Exchange(request, deadline, &nothing_read);
  if (!reply) {
    Close();
    // A kept connection may have been closed by writd while idle: then it read nothing of ours.
    if (reused && nothing_read && reply.error().code == Code::kUnavailable) {
      WRIT_RETURN_IF_ERROR(Connect());
      reply = Exchange(request, deadline, &nothing_read);
      if (!reply) Close();
    }
  }
  return reply;
}

Result<RawHttpReply> UnixHttpConnection::Exchange(const std::string& request,
                                                  std::chrono::steady_clock::time_point deadline, bool* nothing_read) {
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t wrote = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        WRIT_RETURN_IF_ERROR(WaitFor(fd_, POLLOUT, deadline));
        continue;
      }
      return Fail(Code::kUnavailable, fmt::format("writd closed the connection: {}", std::strerror(errno)));
    }
    sent += static_cast<size_t>(wrote);
  }
  size_t head_end = std::string::npos;
  Head head;
  while (true) {
    if (head_end == std::string::npos) {
      head_end = buffer_.find("\r\n\r\n");
      if (head_end == std::string::npos && buffer_.size() > kMaxHeadBytes) {
        return Fail(Code::kUnavailable, "writd's answer head is too large");
      }
      if (head_end != std::string::npos) {
        WRIT_ASSIGN_OR_RETURN(head, ParseHead(std::string_view(buffer_).substr(0, head_end)));
        if (head.content_length > max_response_bytes_) {
          return Fail(Code::kUnavailable, fmt::format("writd's answer of {} bytes is too large", head.content_length));
        }
      }
    }
    if (head_end != std::string::npos && buffer_.size() >= head_end + 4 + head.content_length) break;
    WRIT_RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline));
    char chunk[kReadChunk];  // not buffer_.resize: that would zero 16 KiB per read
    const ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return Fail(Code::kUnavailable, "writd closed the connection before answering");
    buffer_.append(chunk, static_cast<size_t>(got));
    *nothing_read = false;
  }
  RawHttpReply reply{.status = head.status, .body = buffer_.substr(head_end + 4, head.content_length)};
  buffer_.erase(0, head_end + 4 + head.content_length);
  return reply;
}

}  // namespace writ::gateway
