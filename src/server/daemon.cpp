#include "server/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <mutex>
#include <vector>

#include "common/log.h"
#include "server/data_dir.h"
#include "server/http_server.h"

namespace writ::server {

void BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

class Daemon::Impl {
 public:
  Impl(Config config, std::unique_ptr<DataDirLock> lock) : config_(std::move(config)), lock_(std::move(lock)) {}

  Config config_;
  std::unique_ptr<DataDirLock> lock_;
  Router router_;
  std::mutex checks_mu_;
  std::vector<std::function<Status()>> checks_;  // guarded by checks_mu_
  std::atomic<bool> ready_{false};
  std::unique_ptr<HttpServer> server_;

  Response Readyz() {
    if (!ready_.load()) return ErrorResponse(503, Code::kUnavailable, "writd is not ready (starting or stopping)");
    std::vector<std::function<Status()>> checks;
    {
      std::lock_guard lock(checks_mu_);
      checks = checks_;
    }
    for (const auto& check : checks) {
      const Status status = check();
      if (!status) return ErrorResponse(503, Code::kUnavailable, status.error().message);
    }
    return JsonResponse(200, json::Object{{"status", "ready"}});
  }
};

Result<std::unique_ptr<Daemon>> Daemon::Open(Config config) {
  BlockTerminationSignals();
  log::SetLevel(config.log_level);
  if (!config.log_file.empty()) WRIT_RETURN_IF_ERROR(log::LogToFile(config.log_file));
  WRIT_RETURN_IF_ERROR(PrepareDataDir(config.data_dir));
  WRIT_ASSIGN_OR_RETURN(auto lock, DataDirLock::Acquire(config.data_dir));
  auto impl = std::make_unique<Impl>(std::move(config), std::move(lock));
  Impl* raw = impl.get();
  raw->router_.Get("/healthz", [](const Request&) -> Result<Response> {
    return JsonResponse(200, json::Object{{"status", "ok"}});
  });
  raw->router_.Get("/readyz", [raw](const Request&) -> Result<Response> { return raw->Readyz(); });
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() { Stop(); }

const Config& Daemon::config() const { return impl_->config_; }
Router& Daemon::router() { return impl_->router_; }

void Daemon::AddReadinessCheck(std::function<Status()> check) {
  std::lock_guard lock(impl_->checks_mu_);
  impl_->checks_.push_back(std::move(check));
}

bool Daemon::IsAdmin(const Peer& peer) const {
  if (peer.transport != Transport::kUnix || !peer.uid) return false;
  const auto& uids = impl_->config_.admin_uids;
  return std::find(uids.begin(), uids.end(), *peer.uid) != uids.end();
}

Status Daemon::Start() {
  if (impl_->server_) return Ok();
  const Config& config = impl_->config_;
  HttpServerOptions options;
  options.unix_socket_path = config.listen_unix;
  if (config.listen_tcp) {
    options.tcp_host = config.listen_tcp->host;
    options.tcp_port = config.listen_tcp->port;
  }
  options.threads = config.threads;
  options.max_body_bytes = config.max_body_bytes;
  options.max_json_depth = config.max_json_depth;
  options.max_header_bytes = config.max_header_bytes;
  options.max_connections = config.max_connections;
  options.read_timeout = config.read_timeout;
  options.write_timeout = config.write_timeout;
  options.stop_timeout = config.shutdown_timeout;
  WRIT_ASSIGN_OR_RETURN(impl_->server_, HttpServer::Start(options, impl_->router_));
  impl_->ready_.store(true);
  json::Value tcp;
  if (config.listen_tcp) {
    const std::string& host = config.listen_tcp->host;
    const bool v6 = host.find(':') != std::string::npos;
    tcp = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->server_->tcp_port());
  }
  log::Info("writd started", {{"pid", static_cast<int64_t>(::getpid())},
                              {"data_dir", config.data_dir},
                              {"unix", config.listen_unix},
                              {"tcp", std::move(tcp)},
                              {"threads", config.threads}});
  return Ok();
}

uint16_t Daemon::tcp_port() const { return impl_->server_ ? impl_->server_->tcp_port() : 0; }

Status Daemon::Run() {
  BlockTerminationSignals();
  WRIT_RETURN_IF_ERROR(Start());
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int received = 0;
  while (sigwait(&signals, &received) != 0) {
  }
  log::Info("writd stopping", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // A second signal while requests are still finishing ends the process at once.
  std::thread([signals] {
    int again = 0;
    while (sigwait(&signals, &again) != 0) {
    }
    log::Warn("second signal during shutdown: exiting now");
    std::_Exit(1);
  }).detach();
  Stop();
  return Ok();
}

void Daemon::Stop() {
  if (!impl_->server_) return;
  impl_->ready_.store(false);
  impl_->server_->Stop();
  impl_->server_.reset();
  log::Info("writd stopped");
}

}  // namespace writ::server
