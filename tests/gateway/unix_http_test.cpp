// UnixHttpConnection against a scripted server on a real Unix socket: well-formed answers on a
// kept connection, a connection the server closed while idle, and answers it must refuse.
#include "gateway/unix_http.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::gateway {
namespace {

using namespace std::chrono_literals;

// Accepts connections one after the other; for each request read (head and Content-Length body)
// calls `answer`, which returns the bytes to send back and whether to close afterwards.
class ScriptedServer {
 public:
  using Answer = std::function<std::pair<std::string, bool>(const std::string& request)>;

  explicit ScriptedServer(Answer answer) : answer_(std::move(answer)) {
    char pattern[] = "/tmp/writ-unix-http-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    path_ = dir_ + "/s.sock";
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(listener_, 4), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  int accepted() const { return accepted_; }

 private:
  void Serve() {
    while (true) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      ++accepted_;
      std::string buffer;
      char chunk[4096];
      bool open = true;
      while (open) {
        size_t head_end;
        while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
          const ssize_t got = ::read(fd, chunk, sizeof(chunk));
          if (got <= 0) break;
          buffer.append(chunk, static_cast<size_t>(got));
        }
        if (head_end == std::string::npos) break;
        const size_t length_at = buffer.find("Content-Length: ");
        const size_t length = length_at < head_end ? std::strtoul(buffer.c_str() + length_at + 16, nullptr, 10) : 0;
        while (buffer.size() < head_end + 4 + length) {
          const ssize_t got = ::read(fd, chunk, sizeof(chunk));
          if (got <= 0) break;
          buffer.append(chunk, static_cast<size_t>(got));
        }
        const std::string request = buffer.substr(0, head_end + 4 + length);
        buffer.erase(0, request.size());
        auto [reply, close] = answer_(request);
        if (!reply.empty()) {
          EXPECT_EQ(::write(fd, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
        }
        open = !close;
      }
      ::close(fd);
    }
  }

  Answer answer_;
  std::string dir_, path_;
  int listener_ = -1;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::string Ok(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

TEST(UnixHttpTest, SendsHeadersAndBodyAndKeepsTheConnection) {
  std::vector<std::string> seen;
  ScriptedServer server([&](const std::string& request) {
    seen.push_back(request);
    return std::pair{Ok(R"({"decision":true})"), false};
  });
  UnixHttpConnection connection(server.path());
  for (int round = 0; round < 2; ++round) {
    auto reply = connection.Request("POST", "/access/v1/evaluation", R"({"a":1})",
                                    {{"Authorization", "Bearer t"}, {"X-Request-ID", "c-1"}}, 5s);
    ASSERT_TRUE(reply.has_value()) << reply.error().message;
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, R"({"decision":true})");
  }
  EXPECT_EQ(server.accepted(), 1);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "POST /access/v1/evaluation HTTP/1.1\r\nHost: writd\r\nAuthorization: Bearer t\r\n"
                     "X-Request-ID: c-1\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
}

TEST(UnixHttpTest, ReconnectsWhenTheServerClosedTheIdleConnection) {
  int requests = 0;
  ScriptedServer server([&](const std::string&) {
    ++requests;
    return std::pair{Ok("{}"), /*close=*/true};
  });
  UnixHttpConnection connection(server.path());
  ASSERT_TRUE(connection.Request("GET", "/a", "", {}, 5s).has_value());
  auto again = connection.Request("GET", "/b", "", {}, 5s);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(requests, 2);
  EXPECT_EQ(server.accepted(), 2);
}

TEST(UnixHttpTest, RefusesAnswersItCannotReadSafely) {
  for (const std::string& answer : {std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
                                    std::string("HTTP/1.1 200 OK\r\n\r\n{}"),
                                    std::string("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"),
                                    std::string("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
                                    std::string("garbage\r\n\r\n"),
                                    std::string("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}")}) {
    ScriptedServer server([&](const std::string&) { return std::pair{answer, true}; });
    UnixHttpConnection connection(server.path(), /*max_response_bytes=*/1 << 20);
    EXPECT_THAT(connection.Request("GET", "/", "", {}, 5s), FailsWith(Code::kUnavailable)) << answer;
  }
}

TEST(UnixHttpTest, NoAnswerInTimeIsDeadlineExceeded) {
  ScriptedServer server([&](const std::string&) { return std::pair{std::string(), false}; });
  UnixHttpConnection connection(server.path());
  EXPECT_THAT(connection.Request("GET", "/", "", {}, 100ms), FailsWith(Code::kDeadlineExceeded));
}

TEST(UnixHttpTest, AWatchedFdThatTurnsReadableRunsItsCallbackOnceWhileWaiting) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  std::atomic<bool> fired{false};
  // The server answers only after the watch fired: so it fired during the wait, not after it.
  ScriptedServer server([&](const std::string&) {
    EXPECT_EQ(::write(pipe_fds[1], "x", 1), 1);
    for (int spin = 0; spin < 5000 && !fired; ++spin) std::this_thread::sleep_for(1ms);
    return std::pair{Ok("{}"), false};
  });
  UnixHttpConnection connection(server.path());
  int calls = 0;
  std::function<void()> on_readable = [&] {
    ++calls;
    fired = true;
  };
  {
    ScopedReadableWatch watch(pipe_fds[0], &on_readable);
    ASSERT_TRUE(connection.Request("GET", "/a", "", {}, 10s).has_value());
    EXPECT_TRUE(watch.fired());
    ASSERT_TRUE(connection.Request("GET", "/b", "", {}, 10s).has_value());  // still readable: not again
  }
  EXPECT_EQ(calls, 1);
  // Outside the scope nothing is watched.
  ASSERT_TRUE(connection.Request("GET", "/c", "", {}, 10s).has_value());
  EXPECT_EQ(calls, 1);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST(UnixHttpTest, AWatchThatStaysQuietDoesNotRun) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ScriptedServer server([&](const std::string&) { return std::pair{Ok("{}"), false}; });
  UnixHttpConnection connection(server.path());
  bool ran = false;
  std::function<void()> on_readable = [&] { ran = true; };
  ScopedReadableWatch watch(pipe_fds[0], &on_readable);
  ASSERT_TRUE(connection.Request("GET", "/a", "", {}, 10s).has_value());
  EXPECT_FALSE(ran);
  EXPECT_FALSE(watch.fired());
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST(UnixHttpTest, NoServerIsUnavailable) {
  UnixHttpConnection connection("/tmp/writ-no-such-dir/writd.sock");
  auto reply = connection.Request("GET", "/", "", {}, 1s);
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, Code::kUnavailable);
  EXPECT_NE(reply.error().message.find("writd is not running"), std::string::npos);
}

TEST(UnixHttpTest, HeaderValuesWithLineBreaksAreRefused) {
  UnixHttpConnection connection("/tmp/writ-no-such-dir/writd.sock");
  EXPECT_THAT(connection.Request("GET", "/", "", {{"Authorization", "Bearer x\r\nX-Evil: 1"}}, 1s),
              FailsWith(Code::kInvalidArgument));
}

}  // namespace
}  // namespace writ::gateway
