// Drives a real HttpServer over a Unix socket and an ephemeral TCP port, with the Client and with
// raw sockets for input no well-behaved client would send.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/client.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

// Polls `done` until it holds or `limit` passes. Returns whether it held.
template <class Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// A raw client socket: sends exactly the bytes it is given.
class RawSocket {
 public:
  static RawSocket Unix(const std::string& path) {
    RawSocket raw(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    raw.connected_ = ::connect(raw.fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    return raw;
  }
  static RawSocket Tcp(uint16_t port) {
    RawSocket raw(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    raw.connected_ = ::connect(raw.fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    return raw;
  }
  RawSocket(RawSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)), connected_(other.connected_) {}
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool connected() const { return connected_; }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  bool Send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Reads until the peer closes or `limit` passes; `closed` tells which.
  std::string ReadUntilClosed(std::chrono::milliseconds limit, bool* closed) {
    std::string data;
    *closed = false;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return data;
      pollfd entry{fd_, POLLIN, 0};
      if (::poll(&entry, 1, static_cast<int>(left.count())) <= 0) return data;
      char buffer[4096];
      const ssize_t size = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (size <= 0) {
        *closed = true;
        return data;
      }
      data.append(buffer, static_cast<size_t>(size));
    }
  }
  // Reads until `marker` has arrived (or `limit` passes).
  std::string ReadUntil(std::string_view marker, std::chrono::milliseconds limit = 5s) {
    std::string data;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (data.find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd entry{fd_, POLLIN, 0};
      if (::poll(&entry, 1, 50) <= 0) continue;
      char byte = 0;
      if (::recv(fd_, &byte, 1, 0) <= 0) break;
      data.push_back(byte);
    }
    return data;
  }
  // Reads one response whose end is the end of a Content-Length body.
  std::string ReadResponse(std::chrono::milliseconds limit = 5s) {
    std::string data;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      const size_t header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        const size_t length_at = data.find("Content-Length: ");
        if (length_at != std::string::npos && length_at < header_end) {
          const size_t length = std::stoul(data.substr(length_at + 16));
          if (data.size() >= header_end + 4 + length) return data;
        }
      }
      pollfd entry{fd_, POLLIN, 0};
      if (::poll(&entry, 1, 50) <= 0) continue;
      char buffer[4096];
      const ssize_t size = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (size <= 0) return data;
      data.append(buffer, static_cast<size_t>(size));
    }
    return data;
  }

 private:
  explicit RawSocket(int fd) : fd_(fd) {}
  int fd_;
  bool connected_ = false;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    router_.Get("/whoami", [](const Request& request) -> Result<Response> {
      json::Value body = json::Object{};
      body.Set("transport", request.peer.transport == Transport::kUnix ? "unix" : "tcp");
      if (request.peer.uid) body.Set("uid", int64_t{*request.peer.uid});
      if (request.peer.gid) body.Set("gid", int64_t{*request.peer.gid});
      if (request.peer.pid) body.Set("pid", int64_t{*request.peer.pid});
      body.Set("address", request.peer.address);
      body.Set("request_id", request.request_id);
      json::Value query = json::Object{};
      for (const auto& [key, value] : request.query.entries()) query.Set(key, value);
      body.Set("query", std::move(query));
      return JsonResponse(200, body);
    });
    router_.Post("/echo", [](const Request& request) -> Result<Response> {
      WRIT_ASSIGN_OR_RETURN(json::Value body, ParseJsonBody(request));
      return JsonResponse(200, body);
    });
    router_.Get("/throw", [](const Request&) -> Result<Response> { throw std::runtime_error("boom"); });
    router_.Get("/bad-response", [](const Request& request) -> Result<Response> {
      Response response;
      response.status = request.query.Get("status") ? std::stoi(std::string(*request.query.Get("status"))) : 200;
      response.headers.Add("X-Injected", "a\r\nSet-Cookie: evil=1");
      response.headers.Add("X-Fine", "yes");
      response.body = "text";
      return response;
    });
    router_.Get("/big", [](const Request&) -> Result<Response> {
      Response response;
      response.body = std::string(8 << 20, 'x');
      return response;
    });
    router_.AddAsync("GET", "/async", [this](const Request& request, Responder respond) {
      std::lock_guard lock(parked_mu_);
      parked_.push_back({std::move(respond), request.request_id});
      parked_cv_.notify_all();
    });
    router_.Add("HEAD", "/whoami", [](const Request&) -> Result<Response> {
      return JsonResponse(200, json::Object{{"head", true}});
    });
    router_.Get("/slow", [this](const Request&) -> Result<Response> {
      slow_entered_.set_value();
      release_slow_.wait();
      return JsonResponse(200, json::Object{{"slow", true}});
    });
  }

  void StartServer(HttpServerOptions options = {}) {
    if (options.unix_socket_path.empty()) options.unix_socket_path = socket_path_;
    if (!options.tcp_port) options.tcp_port = 0;
    auto server = HttpServer::Start(options, router_);
    ASSERT_THAT(server, IsOk());
    server_ = std::move(server).value();
  }
  ClientOptions UnixClient() const { return {.unix_socket = socket_path_, .timeout = 5s}; }
  ClientOptions TcpClient() const { return {.unix_socket = "", .tcp_port = server_->tcp_port(), .timeout = 5s}; }

  // The next parked asynchronous request (its Responder and request id); fails the test after 5 s.
  std::pair<Responder, std::string> NextParked() {
    std::unique_lock lock(parked_mu_);
    EXPECT_TRUE(parked_cv_.wait_for(lock, 5s, [this] { return !parked_.empty(); }));
    if (parked_.empty()) std::abort();
    auto next = std::move(parked_.front());
    parked_.erase(parked_.begin());
    return next;
  }
  static Response Text(std::string body) {
    Response response;
    response.body = std::move(body);
    return response;
  }

  TempDir dir_;
  std::string socket_path_ = dir_.file("writd.sock");
  std::mutex parked_mu_;
  std::condition_variable parked_cv_;
  std::vector<std::pair<Responder, std::string>> parked_;  // guarded by parked_mu_
  Router router_;
  std::promise<void> slow_entered_;
  std::promise<void> release_slow_promise_;
  std::shared_future<void> release_slow_ = release_slow_promise_.get_future().share();
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ServerTest, UnixPeerCredentialsReachTheHandler) {
  StartServer();
  Client client(UnixClient());
  auto response = client.Request("GET", "/whoami");
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  const json::Value body = response->Json().value();
  EXPECT_EQ(body.Find("transport")->as_string(), "unix");
  EXPECT_EQ(body.Find("uid")->as_int(), static_cast<int64_t>(::getuid()));
  EXPECT_EQ(body.Find("gid")->as_int(), static_cast<int64_t>(::getgid()));
  EXPECT_EQ(body.Find("pid")->as_int(), static_cast<int64_t>(::getpid()));
}

TEST_F(ServerTest, UnixSocketHasMode0660) {
  StartServer();
  struct stat info {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0660u);
}

TEST_F(ServerTest, TcpPeerHasAddressAndNoUid) {
  StartServer();
  ASSERT_NE(server_->tcp_port(), 0);
  Client client(TcpClient());
  auto response = client.Request("GET", "/whoami?a=1&b=x%20y");
  ASSERT_THAT(response, IsOk());
  const json::Value body = response->Json().value();
  EXPECT_EQ(body.Find("transport")->as_string(), "tcp");
  EXPECT_EQ(body.Find("uid"), nullptr);
  EXPECT_THAT(body.Find("address")->as_string(), StartsWith("127.0.0.1:"));
  EXPECT_EQ(body.Find("query")->Find("b")->as_string(), "x y");
}

TEST_F(ServerTest, KeepAliveAndRequestIds) {
  StartServer();
  Client client(UnixClient());
  Headers headers;
  headers.Add("X-Request-ID", "abc-123");
  auto first = client.Request("GET", "/whoami", std::nullopt, headers);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->headers.Get("X-Request-ID"), "abc-123");
  for (int index = 0; index < 20; ++index) {
    auto next = client.Request("GET", "/whoami");
    ASSERT_THAT(next, IsOk());
    EXPECT_EQ(next->headers.Get("x-request-id")->size(), 36u);  // a UUIDv7
  }
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(ServerTest, ErrorStatusesUseTheJsonFormat) {
  StartServer({.max_body_bytes = 1024});
  Client client(UnixClient());
  auto not_found = client.Request("GET", "/nope");
  ASSERT_THAT(not_found, IsOk());
  EXPECT_EQ(not_found->status, 404);
  EXPECT_EQ(not_found->AsError()->code, Code::kNotFound);

  auto not_allowed = client.Request("DELETE", "/echo");
  ASSERT_THAT(not_allowed, IsOk());
  EXPECT_EQ(not_allowed->status, 405);
  EXPECT_EQ(not_allowed->headers.Get("Allow"), "POST");

  auto media = client.RequestRaw("POST", "/echo", "text/plain", "{}");
  ASSERT_THAT(media, IsOk());
  EXPECT_EQ(media->status, 415);
  EXPECT_THAT(media->body, HasSubstr(R"("code":"invalid_argument")"));

  auto malformed = client.RequestRaw("POST", "/echo", "application/json", "{\"a\":");
  ASSERT_THAT(malformed, IsOk());
  EXPECT_EQ(malformed->status, 400);

  auto ok = client.Request("POST", "/echo", json::Value(json::Object{{"a", 1}}));
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, R"({"a":1})");

  auto too_big = client.RequestRaw("POST", "/echo", "application/json", "[" + std::string(2000, ' ') + "]");
  ASSERT_THAT(too_big, IsOk());
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(too_big->AsError()->code, Code::kResourceExhausted);

  // The server closed that connection after the 413; the client reconnects by itself.
  auto after = client.Request("GET", "/whoami");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->status, 200);
}

TEST_F(ServerTest, ClientSeesThe413EvenForAHugeBody) {
  StartServer({.max_body_bytes = 1024});
  Client client(UnixClient());
  auto too_big = client.RequestRaw("POST", "/echo", "application/json", std::string(3 << 20, ' '));
  ASSERT_THAT(too_big, IsOk());
  EXPECT_EQ(too_big->status, 413);
  EXPECT_THAT(too_big->body, HasSubstr("exceeds 1024 bytes"));
}

TEST_F(ServerTest, TooDeepJsonIs400) {
  StartServer({.max_json_depth = 4});
  Client client(UnixClient());
  auto deep = client.RequestRaw("POST", "/echo", "application/json", "[[[[[[1]]]]]]");
  ASSERT_THAT(deep, IsOk());
  EXPECT_EQ(deep->status, 400);
}

TEST_F(ServerTest, HandlerExceptionIs500AndServingGoesOn) {
  StartServer();
  Client client(UnixClient());
  auto thrown = client.Request("GET", "/throw");
  ASSERT_THAT(thrown, IsOk());
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(client.Request("GET", "/whoami")->status, 200);
}

TEST_F(ServerTest, BadHandlerResponsesAreSanitised) {
  StartServer();
  Client client(UnixClient());
  auto response = client.Request("GET", "/bad-response");
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_FALSE(response->headers.Has("X-Injected"));
  EXPECT_FALSE(response->headers.Has("Set-Cookie"));
  EXPECT_EQ(response->headers.Get("X-Fine"), "yes");
  EXPECT_EQ(client.Request("GET", "/bad-response?status=1000")->status, 500);
  EXPECT_EQ(client.Request("GET", "/bad-response?status=100")->status, 500);
  auto no_content = client.Request("GET", "/bad-response?status=204");
  ASSERT_THAT(no_content, IsOk());
  EXPECT_EQ(no_content->status, 204);
  EXPECT_EQ(no_content->body, "");
  EXPECT_EQ(client.Request("GET", "/whoami")->status, 200);  // the connection is still good
}

TEST_F(ServerTest, GarbageRequestGets400AndClose) {
  StartServer();
  RawSocket raw = RawSocket::Unix(socket_path_);
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.Send("THIS IS NOT HTTP\r\n\r\n"));
  bool closed = false;
  const std::string reply = raw.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(reply, HasSubstr(R"("code":"invalid_argument")"));
}

TEST_F(ServerTest, MalformedRequestsNeverStopTheServer) {
  StartServer({.read_timeout = 500ms});
  const std::string cases[] = {
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
      "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      std::string("GET /\0 HTTP/1.1\r\n\r\n", 20),
      "\r\n\r\n\r\n",
      "GET /whoami?x=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET http://evil.example/whoami HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  for (const std::string& request : cases) {
    RawSocket raw = RawSocket::Unix(socket_path_);
    ASSERT_TRUE(raw.connected());
    raw.Send(request);
    bool closed = false;
    const std::string reply = raw.ReadUntilClosed(3s, &closed);
    // Either a 4xx in the JSON error format, or the connection closed; never a 2xx or 5xx.
    if (!reply.empty()) {
      EXPECT_THAT(reply, StartsWith("HTTP/1.1 4")) << ::testing::PrintToString(request);
      EXPECT_THAT(reply, HasSubstr(R"({"error":{"code":)")) << ::testing::PrintToString(request);
    } else {
      EXPECT_TRUE(closed) << ::testing::PrintToString(request);
    }
  }
  Client client(UnixClient());
  EXPECT_EQ(client.Request("GET", "/whoami")->status, 200);
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  StartServer({.max_header_bytes = 2048});
  RawSocket raw = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.Send("GET /whoami HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n"));
  bool closed = false;
  const std::string reply = raw.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 431"));
  EXPECT_THAT(reply, HasSubstr("resource_exhausted"));
}

TEST_F(ServerTest, DeclaredOversizedBodyIsRefusedBeforeReading) {
  StartServer({.max_body_bytes = 100});
  RawSocket raw = RawSocket::Unix(socket_path_);
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 1000000000\r\n\r\n{"));
  bool closed = false;
  const std::string reply = raw.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 413"));
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimResponse) {
  StartServer();
  RawSocket raw = RawSocket::Unix(socket_path_);
  ASSERT_TRUE(raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Expect: 100-continue\r\nContent-Length: 7\r\n\r\n"));
  EXPECT_EQ(raw.ReadUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(raw.Send(R"({"a":1})"));
  const std::string reply = raw.ReadResponse();
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(reply, HasSubstr(R"({"a":1})"));
}

TEST_F(ServerTest, StalledClientIsDroppedWhileOthersAreServed) {
  StartServer({.read_timeout = 300ms});
  RawSocket stalled = RawSocket::Unix(socket_path_);
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(stalled.Send("GET /whoami HTTP/1.1\r\nHost: x\r\n"));  // and never the blank line
  Client client(UnixClient());
  auto response = client.Request("GET", "/whoami");
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  bool closed = false;
  stalled.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() <= 1; }));
}

TEST_F(ServerTest, TricklingClientIsDroppedAtTheReadTimeout) {
  StartServer({.read_timeout = 300ms});
  RawSocket raw = RawSocket::Unix(socket_path_);
  const std::string request = "GET /whoami HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(200, 'p');
  const auto started = std::chrono::steady_clock::now();
  bool dropped = false;
  for (const char byte : request) {  // one byte every 20 ms: each read progresses, the request never ends
    if (!raw.Send(std::string_view(&byte, 1))) {
      dropped = true;
      break;
    }
    bool closed = false;
    raw.ReadUntilClosed(20ms, &closed);
    if (closed) {
      dropped = true;
      break;
    }
  }
  EXPECT_TRUE(dropped);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(ServerTest, ClientThatNeverReadsIsDroppedAtTheWriteTimeout) {
  StartServer({.write_timeout = 300ms});
  RawSocket raw = RawSocket::Unix(socket_path_);
  ASSERT_TRUE(raw.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return server_->open_connections() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
  StartServer({.read_timeout = 200ms});
  RawSocket raw = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(raw.Send("GET /whoami HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THAT(raw.ReadResponse(), StartsWith("HTTP/1.1 200"));
  bool closed = false;
  raw.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
}

TEST_F(ServerTest, ManyConcurrentClients) {
  StartServer({.threads = 4});
  constexpr int kClients = 32;
  constexpr int kRequestsEach = 10;
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int index = 0; index < kClients; ++index) {
    threads.emplace_back([&, index] {
      Client client(index % 2 == 0 ? UnixClient() : TcpClient());
      for (int request = 0; request < kRequestsEach; ++request) {
        auto response = client.Request("POST", "/echo", json::Value(json::Object{{"n", request}}));
        if (response && response->status == 200) successes.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), kClients * kRequestsEach);
}

TEST_F(ServerTest, ConnectionsPastTheLimitGet503) {
  StartServer({.max_connections = 2});
  RawSocket first = RawSocket::Unix(socket_path_);
  RawSocket second = RawSocket::Unix(socket_path_);
  ASSERT_TRUE(WaitFor([&] { return server_->open_connections() == 2; }));
  RawSocket third = RawSocket::Unix(socket_path_);
  bool closed = false;
  const std::string reply = third.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(reply, HasSubstr("too many connections"));
  // Once one leaves, there is room again.
  { RawSocket leaving = std::move(first); }
  ASSERT_TRUE(WaitFor([&] { return server_->open_connections() == 1; }));
  Client client(UnixClient());
  EXPECT_EQ(client.Request("GET", "/whoami")->status, 200);
}

TEST_F(ServerTest, GracefulStopFinishesTheInFlightRequest) {
  StartServer({.stop_timeout = 10s});
  const uint16_t port = server_->tcp_port();
  RawSocket idle = RawSocket::Tcp(port);  // an idle keep-alive connection: closed at once by Stop
  std::future<Result<ClientResponse>> in_flight = std::async(std::launch::async, [this] {
    Client client(UnixClient());
    return client.Request("GET", "/slow");
  });
  slow_entered_.get_future().wait();
  std::future<void> stopped = std::async(std::launch::async, [this] { server_->Stop(); });
  bool closed = false;
  idle.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
  // No new connections once stopping.
  EXPECT_TRUE(WaitFor([&] { return !RawSocket::Tcp(port).connected(); }));
  EXPECT_EQ(stopped.wait_for(0ms), std::future_status::timeout);
  release_slow_promise_.set_value();
  auto response = in_flight.get();
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers.Get("Connection"), "close");
  stopped.get();
  EXPECT_FALSE(std::filesystem::exists(socket_path_));
}

TEST_F(ServerTest, AsyncHandlerDoesNotHoldTheThreadWhileItWaits) {
  StartServer({.threads = 1});
  std::future<Result<ClientResponse>> waiting = std::async(std::launch::async, [this] {
    Client client(UnixClient());
    return client.Request("GET", "/async");
  });
  auto [responder, request_id] = NextParked();
  // The only I/O thread is free: another connection is served meanwhile.
  Client other(TcpClient());
  auto served = other.Request("GET", "/whoami");
  ASSERT_THAT(served, IsOk());
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(waiting.wait_for(0ms), std::future_status::timeout);
  std::thread([responder = responder] { responder(Text("late answer")); }).join();
  auto answered = waiting.get();
  ASSERT_THAT(answered, IsOk());
  EXPECT_EQ(answered->status, 200);
  EXPECT_EQ(answered->body, "late answer");
  EXPECT_EQ(answered->headers.Get("X-Request-ID"), request_id);
}

TEST_F(ServerTest, AsyncErrorsUseTheJsonFormatAndADroppedResponderIs500) {
  StartServer();
  Client client(UnixClient());
  std::future<Result<ClientResponse>> first = std::async(std::launch::async, [this] {
    Client one(UnixClient());
    return one.Request("GET", "/async");
  });
  NextParked().first(Fail(Code::kUnavailable, "ledger cannot write: disk full"));
  auto failed = first.get();
  ASSERT_THAT(failed, IsOk());
  EXPECT_EQ(failed->status, 503);
  EXPECT_THAT(failed->body, HasSubstr("disk full"));

  std::future<Result<ClientResponse>> second = std::async(std::launch::async, [this] {
    Client two(UnixClient());
    return two.Request("GET", "/async");
  });
  { auto dropped = NextParked(); }  // every copy of the Responder gone without an answer
  auto dropped = second.get();
  ASSERT_THAT(dropped, IsOk());
  EXPECT_EQ(dropped->status, 500);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  RawSocket raw = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(raw.Send("GET /async HTTP/1.1\r\nHost: x\r\nX-Request-ID: one\r\n\r\n"
                       "GET /whoami HTTP/1.1\r\nHost: x\r\nX-Request-ID: two\r\n\r\n"));
  auto [responder, request_id] = NextParked();
  EXPECT_EQ(request_id, "one");
  bool closed = false;
  EXPECT_EQ(raw.ReadUntilClosed(100ms, &closed), "");  // nothing overtakes the pending answer
  responder(Text("first"));
  // Both answers may arrive in one read: take everything up to the second one's request id.
  const std::string both = raw.ReadUntil("X-Request-ID: two");
  const size_t one = both.find("X-Request-ID: one");
  const size_t body = both.find("first");
  ASSERT_NE(one, std::string::npos) << both;
  ASSERT_NE(body, std::string::npos) << both;
  EXPECT_LT(one, body);
  EXPECT_LT(body, both.find("X-Request-ID: two")) << both;
}

TEST_F(ServerTest, ClientThatLeavesWhileAwaitingIsCleanedUp) {
  StartServer();
  std::optional<RawSocket> raw = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(raw->Send("GET /async HTTP/1.1\r\nHost: x\r\n\r\n"));
  Responder responder = NextParked().first;
  raw.reset();  // the client goes away before the answer
  std::this_thread::sleep_for(20ms);
  responder(Text("nobody listens"));
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
  Client client(UnixClient());
  EXPECT_EQ(client.Request("GET", "/whoami")->status, 200);
}

TEST_F(ServerTest, GracefulStopWaitsForAnAsyncAnswer) {
  StartServer({.stop_timeout = 10s});
  std::future<Result<ClientResponse>> waiting = std::async(std::launch::async, [this] {
    Client client(UnixClient());
    return client.Request("GET", "/async");
  });
  Responder responder = NextParked().first;
  std::future<void> stopped = std::async(std::launch::async, [this] { server_->Stop(); });
  EXPECT_EQ(stopped.wait_for(100ms), std::future_status::timeout);
  responder(Text("durable"));
  auto answered = waiting.get();
  ASSERT_THAT(answered, IsOk());
  EXPECT_EQ(answered->body, "durable");
  EXPECT_EQ(answered->headers.Get("Connection"), "close");
  stopped.get();
}

TEST_F(ServerTest, StopTimeoutAbandonsAWaitAndALateAnswerIsHarmless) {
  StartServer({.stop_timeout = 100ms});
  std::future<Result<ClientResponse>> waiting = std::async(std::launch::async, [this] {
    Client client(UnixClient());
    return client.Request("GET", "/async");
  });
  Responder responder = NextParked().first;
  const auto started = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);  // the forced close ends the wait
  auto answered = waiting.get();
  EXPECT_TRUE(!answered || answered->status == 503);
  server_.reset();
  responder(Text("too late"));  // the server and its io_context are gone: dropped, no crash
}

TEST_F(ServerTest, StaleSocketFileIsReplacedAndLiveOneRefused) {
  {
    // Leave a socket file behind, as a killed server would.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path_.c_str(), sizeof(address.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::close(fd);
  }
  StartServer();
  Client client(UnixClient());
  EXPECT_EQ(client.Request("GET", "/whoami")->status, 200);
  EXPECT_THAT(HttpServer::Start({.unix_socket_path = socket_path_}, router_),
              FailsWith(Code::kUnavailable, HasSubstr("another server")));
  EXPECT_EQ(client.Request("GET", "/whoami")->status, 200);
}

TEST_F(ServerTest, RefusesAPathThatIsNotASocket) {
  std::ofstream(socket_path_) << "data";
  EXPECT_THAT(HttpServer::Start({.unix_socket_path = socket_path_}, router_),
              FailsWith(Code::kUnavailable, HasSubstr("not a socket")));
  EXPECT_TRUE(std::filesystem::exists(socket_path_));
}

TEST_F(ServerTest, TooLongSocketPathIsInvalid) {
  EXPECT_THAT(HttpServer::Start({.unix_socket_path = "/tmp/" + std::string(200, 's')}, router_),
              FailsWith(Code::kInvalidArgument, HasSubstr("too long")));
}

TEST_F(ServerTest, NeedsAListener) {
  EXPECT_THAT(HttpServer::Start({}, router_), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(HttpServer::Start({.tcp_host = "example.com", .tcp_port = 0}, router_),
              FailsWith(Code::kInvalidArgument));
}

TEST(ClientTest, MissingSocketIsOneClearSentence) {
  TempDir dir;
  Client client({.unix_socket = dir.file("writd.sock")});
  EXPECT_THAT(client.Request("GET", "/healthz"),
              FailsWith(Code::kUnavailable, "writd is not running: cannot connect to " + dir.file("writd.sock")));
}

TEST(ClientTest, RefusedTcpIsUnavailable) {
  // Bind a port and close it, so nothing listens there.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(fd);
  Client client({.unix_socket = "", .tcp_port = ntohs(address.sin_port)});
  EXPECT_THAT(client.Request("GET", "/healthz"), FailsWith(Code::kUnavailable, HasSubstr("writd is not running")));
}

TEST_F(ServerTest, ClientTimesOutOnASilentServer) {
  StartServer();
  Client client({.unix_socket = socket_path_, .timeout = 200ms});
  auto response = client.Request("GET", "/slow");
  EXPECT_THAT(response, FailsWith(Code::kDeadlineExceeded));
  release_slow_promise_.set_value();
}

// ---- hostile and unusual clients (the epoll server) ----

// Counts non-overlapping occurrences of `needle` in `text`.
size_t Count(std::string_view text, std::string_view needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

TEST_F(ServerTest, ChunkedRequestBodyGets411AndClose) {
  StartServer();
  RawSocket raw = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"));
  bool closed = false;
  const std::string reply = raw.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 411 Length Required"));
  EXPECT_THAT(reply, HasSubstr("send Content-Length"));
}

TEST_F(ServerTest, ManyPipelinedRequestsInOneWriteAreAnsweredInOrder) {
  StartServer();
  RawSocket raw = RawSocket::Unix(socket_path_);
  std::string requests;
  constexpr int kRequests = 50;
  for (int index = 0; index < kRequests; ++index) {
    requests += "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Request-ID: r" +
                std::to_string(index) + "\r\nContent-Length: 7\r\n\r\n{\"n\":" + std::to_string(index % 10) + "}";
  }
  ASSERT_TRUE(raw.Send(requests));
  const std::string replies = raw.ReadUntil("X-Request-ID: r" + std::to_string(kRequests - 1) + "\r\n");
  EXPECT_EQ(Count(replies, "HTTP/1.1 200 OK"), static_cast<size_t>(kRequests));
  size_t previous = 0;
  for (int index = 0; index < kRequests; ++index) {
    const size_t at = replies.find("X-Request-ID: r" + std::to_string(index) + "\r\n");
    ASSERT_NE(at, std::string::npos) << index;
    EXPECT_GE(at, previous) << index;
    previous = at;
  }
}

TEST_F(ServerTest, HalfClosedClientStillGetsEveryAnswer) {
  StartServer();
  RawSocket raw = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(raw.Send("GET /whoami HTTP/1.1\r\nHost: x\r\nX-Request-ID: first\r\n\r\n"
                       "GET /whoami HTTP/1.1\r\nHost: x\r\nX-Request-ID: second\r\n\r\n"));
  raw.ShutdownWrite();  // "that is all": the server answers both, then closes
  bool closed = false;
  const std::string replies = raw.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(Count(replies, "HTTP/1.1 200 OK"), 2u);
  EXPECT_THAT(replies, HasSubstr("X-Request-ID: second"));
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
}

TEST_F(ServerTest, HalfClosedMidRequestIsClosedWithoutAnAnswer) {
  StartServer();
  RawSocket raw = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":"));
  raw.ShutdownWrite();  // the body never completes
  bool closed = false;
  EXPECT_EQ(raw.ReadUntilClosed(5s, &closed), "");
  EXPECT_TRUE(closed);
}

TEST_F(ServerTest, ClientVanishingMidResponseIsCleanedUp) {
  StartServer();
  {
    RawSocket raw = RawSocket::Unix(socket_path_);
    ASSERT_TRUE(raw.Send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_THAT(raw.ReadUntil("\r\n\r\n"), StartsWith("HTTP/1.1 200"));
  }  // gone, with most of the 8 MiB body unsent
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() == 0; }));
  Client client(UnixClient());
  EXPECT_EQ(client.Request("GET", "/whoami")->status, 200);
}

TEST_F(ServerTest, BlockingHandlerDoesNotHoldTheEventLoop) {
  StartServer({.threads = 1});
  std::future<Result<ClientResponse>> slow = std::async(std::launch::async, [this] {
    Client client(UnixClient());
    return client.Request("GET", "/slow");
  });
  slow_entered_.get_future().wait();
  // The one event loop still serves others while /slow blocks its thread of the pool.
  Client other(TcpClient());
  auto served = other.Request("GET", "/whoami");
  ASSERT_THAT(served, IsOk());
  EXPECT_EQ(served->status, 200);
  release_slow_promise_.set_value();
  auto answered = slow.get();
  ASSERT_THAT(answered, IsOk());
  EXPECT_EQ(answered->status, 200);
}

TEST_F(ServerTest, RequestSentOneByteAtATimeIsServed) {
  StartServer();
  RawSocket raw = RawSocket::Tcp(server_->tcp_port());
  const std::string request =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
  for (const char byte : request) ASSERT_TRUE(raw.Send(std::string_view(&byte, 1)));
  const std::string reply = raw.ReadResponse();
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(reply, HasSubstr(R"({"a":1})"));
}

TEST_F(ServerTest, HeadAnswerHasALengthButNoBody) {
  StartServer();
  RawSocket raw = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(raw.Send("HEAD /whoami HTTP/1.1\r\nHost: x\r\n\r\nGET /whoami HTTP/1.1\r\nHost: x\r\nX-Request-ID: next\r\n\r\n"));
  const std::string replies = raw.ReadUntil("X-Request-ID: next\r\n");
  const size_t second = replies.find("HTTP/1.1 200", 1);
  ASSERT_NE(second, std::string::npos) << replies;
  const std::string first = replies.substr(0, second);
  EXPECT_THAT(first, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(first, HasSubstr("Content-Length: 13\r\n"));
  EXPECT_THAT(first, ::testing::EndsWith("\r\n\r\n"));  // and not the body
}

TEST_F(ServerTest, Http10KeepsAliveOnlyWhenAsked) {
  StartServer();
  RawSocket keep = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(keep.Send("GET /whoami HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  const std::string first = keep.ReadResponse();
  EXPECT_THAT(first, StartsWith("HTTP/1.0 200"));
  EXPECT_THAT(first, HasSubstr("Connection: keep-alive\r\n"));
  ASSERT_TRUE(keep.Send("GET /whoami HTTP/1.0\r\n\r\n"));
  bool closed = false;
  const std::string second = keep.ReadUntilClosed(5s, &closed);
  EXPECT_THAT(second, StartsWith("HTTP/1.0 200"));
  EXPECT_THAT(second, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(closed);
}

TEST_F(ServerTest, SlowlorisConnectionsAreAllDroppedWhileOthersAreServed) {
  StartServer({.read_timeout = 300ms});
  std::vector<RawSocket> slow;
  for (int index = 0; index < 20; ++index) {
    slow.push_back(RawSocket::Tcp(server_->tcp_port()));
    ASSERT_TRUE(slow.back().Send("GET /whoami HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  }
  Client client(UnixClient());
  EXPECT_EQ(client.Request("GET", "/whoami")->status, 200);
  for (RawSocket& raw : slow) {
    raw.Send("a");  // progress does not extend the deadline of the request
    bool closed = false;
    raw.ReadUntilClosed(5s, &closed);
    EXPECT_TRUE(closed);
  }
  EXPECT_TRUE(WaitFor([&] { return server_->open_connections() <= 1; }));
}

TEST_F(ServerTest, OversizedBodyAfterHeadersIsRefusedAndTheServerGoesOn) {
  StartServer({.max_body_bytes = 64});
  RawSocket raw = RawSocket::Tcp(server_->tcp_port());
  ASSERT_TRUE(raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 65\r\n\r\n" +
                       std::string(65, ' ')));
  bool closed = false;
  const std::string reply = raw.ReadUntilClosed(5s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 413"));
  Client client(UnixClient());
  EXPECT_EQ(client.Request("POST", "/echo", json::Value(json::Object{{"ok", true}}))->status, 200);
}

}  // namespace
}  // namespace writ::server
