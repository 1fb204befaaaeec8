#include "server/internal/listeners.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace writ::server::internal {
namespace {

std::string HostAddress(const std::string& host) { return host == "localhost" ? "127.0.0.1" : host; }

}  // namespace

Result<UnixListener> ListenUnix(const std::string& path, mode_t mode) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Fail(Code::kInvalidArgument, "unix socket path `" + path + "` is too long (max 107 bytes)");
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      return Fail(Code::kUnavailable, "cannot listen on `" + path + "`: the file exists and is not a socket");
    }
    // A socket file: live if something accepts on it, stale (left by a dead server) otherwise.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return Fail(Code::kUnavailable, std::string("socket: ") + std::strerror(errno));
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
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(Code::kUnavailable, "cannot listen on `" + path + "`: " + std::strerror(errno));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    ::close(fd);
    return Fail(Code::kUnavailable, "cannot listen on `" + path + "`: " + std::strerror(error));
  }
  if (::chmod(path.c_str(), mode) != 0 || ::lstat(path.c_str(), &info) != 0) {
    const int error = errno;
    ::close(fd);
    return Fail(Code::kUnavailable, "cannot set the mode of `" + path + "`: " + std::strerror(error));
  }
  return UnixListener{.fd = fd, .inode = info.st_ino, .device = info.st_dev};
}

Status CheckTcpHost(const std::string& host) {
  const std::string address = HostAddress(host);
  in6_addr probe{};
  if (::inet_pton(AF_INET, address.c_str(), &probe) != 1 && ::inet_pton(AF_INET6, address.c_str(), &probe) != 1) {
    return Fail(Code::kInvalidArgument, "tcp host `" + host + "` is not an IP address or `localhost`");
  }
  return Ok();
}

Result<TcpListener> ListenTcp(const std::string& host, uint16_t port) {
  WRIT_RETURN_IF_ERROR(CheckTcpHost(host));
  const std::string text = HostAddress(host);
  const bool v6 = text.find(':') != std::string::npos;
  const std::string where = (v6 ? "[" + text + "]" : text) + ":" + std::to_string(port);
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (v6) {
    auto* address = reinterpret_cast<sockaddr_in6*>(&storage);
    address->sin6_family = AF_INET6;
    address->sin6_port = htons(port);
    ::inet_pton(AF_INET6, text.c_str(), &address->sin6_addr);
    length = sizeof(sockaddr_in6);
  } else {
    auto* address = reinterpret_cast<sockaddr_in*>(&storage);
    address->sin_family = AF_INET;
    address->sin_port = htons(port);
    ::inet_pton(AF_INET, text.c_str(), &address->sin_addr);
    length = sizeof(sockaddr_in);
  }
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(Code::kUnavailable, "cannot listen on " + where + ": " + std::strerror(errno));
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    ::close(fd);
    return Fail(Code::kUnavailable, "cannot listen on " + where + ": " + std::strerror(error));
  }
  TcpListener listener{.fd = fd, .port = port};
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof(bound);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) == 0) {
    listener.port = ntohs(v6 ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                             : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  }
  return listener;
}

}  // namespace writ::server::internal
