// writd: the writ daemon. Parses flags, loads the config, prepares and locks the data dir, serves
// the HTTP API on the Unix socket and TCP until SIGTERM or SIGINT.
//
// Other modules' routes are registered in RegisterRoutes below (see server/daemon.h).
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "common/result.h"
#include "identity/registry.h"
#include "server/config.h"
#include "server/daemon.h"
#include "server/identity_api.h"
#include "server/token_api.h"
#include "store/sqlite_store.h"

namespace {

// The modules behind the API. Declared before the daemon is run and destroyed after it stops,
// so no handler outlives what it uses.
struct Services {
  std::unique_ptr<writ::store::SqliteStore> store;
  std::unique_ptr<writ::identity::Registry> registry;
  writ::server::AdminAccess admin;
  std::unique_ptr<writ::server::TokenService> tokens;
};

// Opens the embedded store in the data dir and adds every module's HTTP API to the daemon.
// /healthz and /readyz are built in.
writ::Status RegisterRoutes(writ::server::Daemon& daemon, Services& services) {
  const writ::server::Config& config = daemon.config();
  WRIT_ASSIGN_OR_RETURN(services.store, writ::store::SqliteStore::Open(config.data_dir + "/writ.db"));
  WRIT_ASSIGN_OR_RETURN(services.registry, writ::identity::Registry::Create(services.store->identities(),
                                                                           {.trust_domain = config.trust_domain}));
  services.admin.uids = config.admin_uids;
  writ::server::AddIdentityRoutes(daemon.router(), *services.registry, services.admin);
  WRIT_ASSIGN_OR_RETURN(services.tokens, writ::server::TokenService::Open(services.store->tokens(), *services.registry,
                                                                         {.data_dir = config.data_dir,
                                                                          .trust_domain = config.trust_domain}));
  writ::server::AddTokenRoutes(daemon.router(), *services.tokens, services.admin);
  return writ::Ok();
}

writ::Status RunDaemon(const std::optional<std::string>& config_path, const writ::server::ConfigOverrides& overrides) {
  WRIT_ASSIGN_OR_RETURN(writ::server::Config config, writ::server::LoadConfig(config_path, overrides));
  Services services;
  WRIT_ASSIGN_OR_RETURN(auto daemon, writ::server::Daemon::Open(std::move(config)));
  WRIT_RETURN_IF_ERROR(RegisterRoutes(*daemon, services));
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
