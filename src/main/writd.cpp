// writd: the writ daemon. Parses flags, loads the config, prepares and locks the data dir, serves
// the HTTP API on the Unix socket and TCP until SIGTERM or SIGINT.
//
// Other modules' routes are registered in RegisterRoutes below (see server/daemon.h).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include "approvals/approvals.h"
#include "authz/admin_guard.h"
#include "authz/engine.h"
#include "common/log.h"
#include "common/result.h"
#include "crypto/keys.h"
#include "identity/registry.h"
#include "ledger/ledger.h"
#include "ledger/note.h"
#include "server/approvals_api.h"
#include "server/authz_api.h"
#include "server/config.h"
#include "server/daemon.h"
#include "server/decision_recorder.h"
#include "server/metrics.h"
#include "server/audit_api.h"
#include "server/identity_api.h"
#include "server/mcp_api.h"
#include "token/verifier.h"
#include "server/token_api.h"
#include "store/ledger_store.h"
#include "store/sqlite_store.h"

namespace {

// The modules behind the API. Declared before the daemon is run and destroyed after it stops,
// so no handler outlives what it uses.
struct Services {
  std::unique_ptr<writ::store::SqliteStore> store;
  std::unique_ptr<writ::identity::Registry> registry;
  writ::server::AdminAccess admin;
  std::unique_ptr<writ::server::TokenService> tokens;
  std::unique_ptr<writ::store::LedgerStore> ledger_store;
  std::optional<writ::ledger::NoteSigner> ledger_signer;
  std::unique_ptr<writ::ledger::Ledger> ledger;
  writ::server::DecisionMetrics metrics;
  std::unique_ptr<writ::server::DecisionRecorder> recorder;
  std::unique_ptr<writ::authz::Engine> engine;
  std::unique_ptr<writ::approvals::Approvals> approvals;
  std::unique_ptr<writ::authz::AdminGuard> admin_guard;
  writ::server::PdpAccess pdp;
};

// The ledger's checkpoint signing key, kept in <data-dir>/ledger-key.pem (0600), created on first start.
writ::Result<writ::crypto::PrivateKey> LedgerKey(const std::string& data_dir) {
  const std::string path = data_dir + "/ledger-key.pem";
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    return writ::crypto::PrivateKey::FromPem(text.str());
  }
  WRIT_ASSIGN_OR_RETURN(auto key, writ::crypto::PrivateKey::Generate(writ::crypto::KeyAlgorithm::kEd25519));
  const std::string pem = key.ToPem();
  const mode_t old_mask = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  out << pem;
  out.close();
  ::umask(old_mask);
  if (!out) return writ::Fail(writ::Code::kUnavailable, "cannot write the ledger key in the data dir");
  return key;
}

// Every identity change (already durable in the registry) also goes to the audit ledger. A ledger
// failure here cannot undo the change: it is logged, and the ledger refuses later decisions.
void RecordIdentityChanges(writ::identity::Registry& registry, writ::ledger::Ledger& ledger) {
  registry.AddListener([&ledger, &registry](const writ::identity::Version& version) {
    writ::ledger::Event event;
    event.kind = writ::ledger::EventKind::kIdentityChanged;
    event.actor = version.author;
    event.subject = version.identity.kind == writ::identity::Kind::kAgent
                        ? version.identity.spiffe_id
                        : writ::identity::SpiffeId(registry.trust_domain(), version.identity.kind, version.identity.name);
    event.action = version.change;
    event.details = writ::json::Object{{"version", version.identity.version},
                                       {"state", writ::identity::StateName(version.identity.state)},
                                       {"reason", version.reason}};
    if (auto appended = ledger.Append(std::move(event)); !appended) {
      writ::log::Error("identity change not recorded in the ledger", {{"error", appended.error().message}});
    }
  });
}

// The decision service: the ledger (every decision recorded before it is answered), the policy
// engine over the stored policy versions, and its routes.
writ::Status AddDecisionService(writ::server::Daemon& daemon, Services& services) {
  const writ::server::Config& config = daemon.config();
  WRIT_ASSIGN_OR_RETURN(services.ledger_store, writ::store::sqlite::OpenLedgerStore(services.store->database()));
  WRIT_ASSIGN_OR_RETURN(auto key, LedgerKey(config.data_dir));
  WRIT_ASSIGN_OR_RETURN(auto signer, writ::ledger::NoteSigner::Create(config.trust_domain + "/ledger", std::move(key)));
  services.ledger_signer.emplace(std::move(signer));
  writ::ledger::LedgerOptions ledger_options{.origin = config.trust_domain + "/ledger", .signer = &*services.ledger_signer};
  ledger_options.commit_linger = config.audit_commit_linger;
  // WRIT_AUDIT_DURABILITY=batched trades the last few milliseconds of decisions on a crash for throughput.
  if (const char* durability = std::getenv("WRIT_AUDIT_DURABILITY"); durability != nullptr && std::string(durability) == "batched") {
    ledger_options.durability = writ::ledger::Durability::kBatched;
  }
  WRIT_ASSIGN_OR_RETURN(services.ledger, writ::ledger::Ledger::Open(ledger_options, *services.ledger_store));
  // Strict: AuthZEN handlers queue their decisions and answer once durable, without holding an I/O
  // thread through the fsync. Batched: an append returns once queued, so it is simply called.
  writ::server::DecisionRecorder::AppendAsync append_async;
  if (ledger_options.durability == writ::ledger::Durability::kStrict) {
    append_async = [&ledger = *services.ledger](writ::ledger::Event event, std::function<void(writ::Status)> done) {
      ledger.AppendAsync(std::move(event), [done = std::move(done)](writ::Result<writ::ledger::Receipt> receipt) {
        if (receipt) return done(writ::Ok());
        done(writ::Fail(std::move(receipt).error()));
      });
    };
  }
  services.recorder = std::make_unique<writ::server::DecisionRecorder>(
      [&ledger = *services.ledger](writ::ledger::Event event) -> writ::Status {
        auto receipt = ledger.Append(std::move(event));
        if (!receipt) return writ::Fail(std::move(receipt).error());
        return writ::Ok();
      },
      std::move(append_async), &services.metrics);
  RecordIdentityChanges(*services.registry, *services.ledger);
  WRIT_ASSIGN_OR_RETURN(services.engine, writ::authz::Engine::Create({.registry = services.registry.get(),
                                                                     .store = &services.store->policies(),
                                                                     .recorder = services.recorder.get()}));
  WRIT_RETURN_IF_ERROR(services.engine->Load());
  // The PDP API key for TCP callers (e.g. other PEPs); never logged.
  if (const char* api_key = std::getenv("WRIT_PDP_API_KEY"); api_key != nullptr) services.pdp.api_key = api_key;
  // TCP callers may also authenticate with a writ token; its claims reach policies as context.writ.caller.
  services.pdp.verify_token = [&services](std::string_view bearer) -> writ::Result<writ::json::Value> {
    auto verified = services.tokens->verifier().VerifyAnyAudience(bearer);
    if (!verified) return writ::Fail(writ::Code::kUnauthenticated, "the bearer token is not a valid writ token");
    const auto& claims = (*verified)->claims;
    writ::json::Value caller = writ::json::Object{{"agent", (*verified)->agent}, {"sub", claims.sub}, {"jti", claims.jti}};
    if (!claims.task.empty()) caller.Set("task", claims.task);
    if (!claims.scope.empty()) caller.Set("scope", claims.scope);
    if (!claims.act.is_null()) caller.Set("delegation", claims.act);
    return caller;
  };
  WRIT_ASSIGN_OR_RETURN(services.approvals,
                        writ::approvals::Approvals::Create({}, services.store->policies(), *services.engine));
  // The admin policy set: <data-dir>/admin.cedar when present, else the shipped default.
  std::string admin_policies(writ::authz::kDefaultAdminPolicies);
  if (std::ifstream admin_file(config.data_dir + "/admin.cedar"); admin_file) {
    std::stringstream text;
    text << admin_file.rdbuf();
    admin_policies = text.str();
  }
  WRIT_ASSIGN_OR_RETURN(services.admin_guard, writ::authz::AdminGuard::Create(admin_policies, services.recorder.get()));
  // Every admin route (identities, tokens, keys, policies, approvals) asks this guard; routes added
  // earlier hold `services.admin` by reference, and nothing is served before this returns.
  services.admin.guard = services.admin_guard.get();
  writ::server::AddAuthzRoutes(daemon.router(), *services.engine, services.approvals.get(), *services.registry,
                               services.admin, *services.admin_guard, services.pdp,
                               {.recorder = services.recorder.get(), .metrics = &services.metrics});
  writ::server::AddApprovalsRoutes(daemon.router(), *services.approvals, *services.registry, services.admin);
  writ::server::AddMcpRoutes(daemon.router(), *services.ledger, services.pdp);
  writ::server::AddAuditRoutes(
      daemon.router(), *services.ledger, *services.ledger_signer, *services.registry, services.admin,
      [&services](std::string_view bearer) -> writ::Result<std::string> {
        auto verified = services.tokens->verifier().VerifyAnyAudience(bearer);
        if (!verified) return writ::Fail(writ::Code::kUnauthenticated, "the bearer token is not a valid writ token");
        return (*verified)->claims.sub;
      });
  return writ::Ok();
}

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
                                                                          .trust_domain = config.trust_domain,
                                                                          .token = config.token}));
  writ::server::AddTokenRoutes(daemon.router(), *services.tokens, services.admin);
  return AddDecisionService(daemon, services);
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
