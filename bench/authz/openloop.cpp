// Open-loop HTTP load generator for bench/authz/run.sh: sends POSTs at a constant rate, whatever
// the server's speed (wrk is closed-loop: a slow answer delays the next request and hides the wait).
// Each request's latency is counted from the time it was *scheduled*, so queueing in the client
// (all connections busy) is charged to the server, as wrk2 does. Standalone: g++ -O2 -std=c++20.
//
//   openloop HOST PORT PATH BODY_FILE AUTHORIZATION RATE SECONDS [CONNECTIONS=32] [WARMUP_SECONDS=1]
//
// Prints one line: target and achieved rate, completed and failed requests, latency percentiles.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  bool busy = false;
  Clock::time_point scheduled{};  // of the request in flight
  std::string input;
};

int Connect(const sockaddr_in& address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// Length of the first complete response in `data` (headers + Content-Length body), or 0.
// `close`: the server said it closes the connection after this response.
size_t CompleteResponse(const std::string& data, int* status, bool* close) {
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  size_t length = 0;
  *close = false;
  for (size_t at = data.find("\r\n"); at < end; at = data.find("\r\n", at + 2)) {
    const char* field = data.c_str() + at + 2;
    if (strncasecmp(field, "Content-Length:", 15) == 0) length = std::strtoul(field + 15, nullptr, 10);
    if (strncasecmp(field, "Connection: close", 17) == 0) *close = true;
  }
  if (data.size() < end + 4 + length) return 0;
  *status = std::atoi(data.c_str() + 9);  // "HTTP/1.1 200"
  return end + 4 + length;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: %s HOST PORT PATH BODY_FILE AUTHORIZATION RATE SECONDS [CONNECTIONS] [WARMUP]\n", argv[0]);
    return 2;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (::inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) return 2;
  std::ifstream body_file(argv[4]);
  std::stringstream body;
  body << body_file.rdbuf();
  const double rate = std::atof(argv[6]);
  const double seconds = std::atof(argv[7]);
  const int connections = argc > 8 ? std::atoi(argv[8]) : 32;
  const double warmup = argc > 9 ? std::atof(argv[9]) : 1.0;
  if (rate <= 0 || seconds <= 0 || connections < 1) return 2;

  std::string request = std::string("POST ") + argv[3] + " HTTP/1.1\r\nHost: " + argv[1] +
                        "\r\nContent-Type: application/json\r\nAuthorization: " + argv[5] +
                        "\r\nContent-Length: " + std::to_string(body.str().size()) + "\r\n\r\n" + body.str();

  std::vector<Connection> pool(static_cast<size_t>(connections));
  for (Connection& connection : pool) connection.fd = Connect(address);

  const auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from = start + std::chrono::nanoseconds(static_cast<int64_t>(warmup * 1e9));
  const Clock::time_point stop_sending = measure_from + std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9));
  Clock::time_point next = start;
  std::deque<Clock::time_point> backlog;  // scheduled, not yet sent: every connection was busy
  std::vector<uint32_t> latencies_us;
  latencies_us.reserve(static_cast<size_t>(rate * seconds * 1.1) + 16);
  uint64_t failed = 0;
  std::vector<pollfd> fds(pool.size());

  while (true) {
    Clock::time_point now = Clock::now();
    while (next <= now && next < stop_sending) {
      backlog.push_back(next);
      next += interval;
    }
    for (Connection& connection : pool) {
      if (backlog.empty()) break;
      if (connection.busy) continue;
      connection.busy = true;
      connection.scheduled = backlog.front();
      backlog.pop_front();
      if (::send(connection.fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        ++failed;  // the request fits a fresh socket buffer; a short send means a broken connection
        ::close(connection.fd);
        connection.fd = Connect(address);
        connection.busy = false;
        connection.input.clear();
      }
    }
    bool any_busy = false;
    for (size_t i = 0; i < pool.size(); ++i) {
      fds[i] = {pool[i].fd, static_cast<short>(pool[i].busy ? POLLIN : 0), 0};
      any_busy = any_busy || pool[i].busy;
    }
    if (!any_busy && backlog.empty() && next >= stop_sending) break;
    const auto wait = next < stop_sending ? std::max(next - Clock::now(), Clock::duration::zero()) : std::chrono::milliseconds(100);
    const timespec timeout{static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(wait).count()),
                           static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count() % 1000000000)};
    if (::ppoll(fds.data(), fds.size(), backlog.empty() ? &timeout : nullptr, nullptr) < 0 && errno != EINTR) return 1;
    now = Clock::now();
    for (size_t i = 0; i < pool.size(); ++i) {
      Connection& connection = pool[i];
      if (!connection.busy || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buffer[16384];
      const ssize_t size = ::recv(connection.fd, buffer, sizeof(buffer), 0);
      if (size <= 0) {
        if (size < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        ++failed;
        ::close(connection.fd);
        connection.fd = Connect(address);
        connection.busy = false;
        connection.input.clear();
        continue;
      }
      connection.input.append(buffer, static_cast<size_t>(size));
      int status = 0;
      bool close = false;
      if (const size_t length = CompleteResponse(connection.input, &status, &close); length > 0) {
        connection.input.erase(0, length);
        connection.busy = false;
        if (close) {  // e.g. nginx after keepalive_requests: a new connection, not a failure
          ::close(connection.fd);
          connection.fd = Connect(address);
          connection.input.clear();
        }
        if (status != 200) {
          ++failed;
        } else if (connection.scheduled >= measure_from) {
          latencies_us.push_back(static_cast<uint32_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(now - connection.scheduled).count()));
        }
      }
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - measure_from).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  const auto percentile = [&](double q) -> double {
    if (latencies_us.empty()) return 0;
    return latencies_us[std::min(latencies_us.size() - 1, static_cast<size_t>(q * static_cast<double>(latencies_us.size())))] / 1000.0;
  };
  std::printf("target %.0f/s  achieved %.0f/s  completed %zu  failed %llu  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
              rate, static_cast<double>(latencies_us.size()) / elapsed, latencies_us.size(),
              static_cast<unsigned long long>(failed), percentile(0.5), percentile(0.9), percentile(0.99),
              percentile(0.999), latencies_us.empty() ? 0.0 : latencies_us.back() / 1000.0);
  return 0;
}
