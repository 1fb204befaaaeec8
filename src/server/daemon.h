// Daemon: what writd is, minus flag parsing. It owns the data-dir lock, the Router and the
// HttpServer, serves /healthz and /readyz, and runs until SIGTERM or SIGINT.
//
// How another module adds its API (in src/main/writd.cpp, between Open and Run):
//
//   WRIT_ASSIGN_OR_RETURN(auto daemon, server::Daemon::Open(config));
//   identity::RegisterRoutes(daemon->router(), registry);     // router().Post("/v1/...", handler)
//   daemon->AddReadinessCheck([&] { return store.Ping(); });   // optional: /readyz turns 503
//   return daemon->Run();
//
// Handlers that need to know whether the caller is a local administrator use IsAdmin(peer).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "server/config.h"
#include "server/http.h"
#include "server/router.h"

namespace writ::server {

class Daemon {
 public:
  // Blocks SIGTERM and SIGINT in the calling thread (so every thread started later inherits the
  // mask and Run() can wait for them), sets up logging from `config`, prepares and locks the data
  // dir and registers /healthz and /readyz. Does not listen yet.
  // Errors: as PrepareDataDir and DataDirLock::Acquire; kUnavailable if the log file cannot be opened.
  static Result<std::unique_ptr<Daemon>> Open(Config config);

  const Config& config() const;
  // Add routes here before Start() or Run(); the Router must not change afterwards.
  Router& router();
  // /readyz answers 503 with the failing check's message while any check fails (and during
  // shutdown); checks run on each /readyz request and must be quick and thread-safe.
  void AddReadinessCheck(std::function<Status()> check);
  // True when `peer` is a Unix-socket caller whose uid is in config().admin_uids. TCP callers are
  // never local administrators (they must present a token).
  bool IsAdmin(const Peer& peer) const;

  // Starts listening and serving. Errors: as HttpServer::Start.
  Status Start();
  // The bound TCP port (after Start), 0 without a TCP listener.
  uint16_t tcp_port() const;
  // Start() (unless started), then blocks until SIGTERM or SIGINT, then Stop(). Logs start and
  // stop. A second signal during Stop() exits the process at once (status 1).
  Status Run();
  // Graceful stop: /readyz turns 503, the server stops (in-flight requests finish, bounded by
  // config().shutdown_timeout) and the socket file is removed. Idempotent.
  void Stop();

  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

 private:
  class Impl;
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Blocks SIGTERM and SIGINT in the calling thread; Daemon::Open does it. Call it first in main
// when threads are started before Open.
void BlockTerminationSignals();

}  // namespace writ::server
