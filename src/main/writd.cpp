// writd: the writ daemon. Parses flags, loads the config, prepares and locks the data dir, serves
// the HTTP API on the Unix socket and TCP until SIGTERM or SIGINT.
//
// Other modules' routes are registered in RegisterRoutes below (see server/daemon.h).
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "common/result.h"
#include "server/config.h"
#include "server/daemon.h"

namespace {

// Adds every module's HTTP API to the daemon. /healthz and /readyz are built in.
writ::Status RegisterRoutes(writ::server::Daemon& daemon) {
  (void)daemon;
  return writ::Ok();
}

writ::Status RunDaemon(const std::optional<std::string>& config_path, const writ::server::ConfigOverrides& overrides) {
  WRIT_ASSIGN_OR_RETURN(writ::server::Config config, writ::server::LoadConfig(config_path, overrides));
  WRIT_ASSIGN_OR_RETURN(auto daemon, writ::server::Daemon::Open(std::move(config)));
  WRIT_RETURN_IF_ERROR(RegisterRoutes(*daemon));
  return daemon->Run();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"writd: the writ daemon (identities, tokens and decisions for AI agents)"};
  std::optional<std::string> config_path;
  writ::server::ConfigOverrides overrides;
  app.add_option("--config", config_path, "YAML config file (every key has a default)");
  app.add_option("--data-dir", overrides.data_dir, "data directory (default $WRIT_DATA_DIR or ~/.local/share/writ)");
  app.add_option("--listen-unix", overrides.listen_unix, "Unix socket path (default <data-dir>/writd.sock; \"\" = none)");
  app.add_option("--listen-tcp", overrides.listen_tcp, "TCP host:port (default 127.0.0.1:8787; \"\" = none)");
  app.set_version_flag("--version", "writd 0.1.0");
  CLI11_PARSE(app, argc, argv);

  const writ::Status status = RunDaemon(config_path, overrides);
  if (!status) {
    std::fprintf(stderr, "writd: %s\n", status.error().message.c_str());
    return 1;
  }
  return 0;
}
