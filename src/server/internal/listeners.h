// The listening sockets of HttpServer: a Unix socket (replacing a stale socket file, refusing a
// live one) and a TCP socket. Both are non-blocking and close-on-exec. Internal to the server module.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/result.h"

namespace writ::server::internal {

struct UnixListener {
  int fd = -1;
  ino_t inode = 0;  // of the socket file, so that Stop removes only the file it created
  dev_t device = 0;
};

// Listens on `path` with file mode `mode`. A stale socket file left by a dead server is removed;
// a live one (something accepts on it) or a non-socket file is an error.
// Errors: kInvalidArgument for a path over 107 bytes; kUnavailable otherwise.
Result<UnixListener> ListenUnix(const std::string& path, mode_t mode);

// Checks that `host` is an IP address or `localhost`. Errors: kInvalidArgument.
Status CheckTcpHost(const std::string& host);

struct TcpListener {
  int fd = -1;
  uint16_t port = 0;  // the bound port (the ephemeral one when asked for port 0)
};

// Listens on host:port (`localhost` = 127.0.0.1). Errors: kUnavailable (address in use, no permission).
Result<TcpListener> ListenTcp(const std::string& host, uint16_t port);

}  // namespace writ::server::internal
