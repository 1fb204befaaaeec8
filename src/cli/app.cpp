#include "cli/app.h"

#include <ostream>

#include <CLI/CLI.hpp>

#include "cli/audit_commands.h"
#include "cli/cedar_commands.h"
#include "cli/connection.h"
#include "cli/decision_commands.h"
#include "cli/identity_commands.h"
#include "cli/mcp_command.h"
#include "cli/run_command.h"
#include "cli/token_commands.h"

namespace writ::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

void AddStatusCommand(CLI::App& app, const GlobalOptions& global, Action* action) {
  CLI::App* status = app.add_subcommand("status", "is writd running and ready?");
  status->callback([&global, action] {
    *action = [&global](std::ostream& out, std::ostream& err) {
      Connection connection(ResolveSocketPath(global.socket));
      auto health = connection.Call("GET", "/healthz");
      if (!health) {
        err << "writ: " << health.error().message << '\n';
        return kExitError;
      }
      auto ready = connection.Call("GET", "/readyz");
      if (global.output == "json") {
        json::Value body;
        body.Set("socket", connection.socket_path());
        body.Set("running", true);
        body.Set("ready", ready.has_value());
        PrintJson(out, body);
      } else {
        out << "writd is running on " << connection.socket_path() << (ready ? " and ready" : " but not ready") << '\n';
      }
      return ready ? kExitOk : kExitError;
    };
  });
}

}  // namespace

int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"writ: identities, credentials, policy and audit for AI agents and other non-human identities"};
  app.name("writ");
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--socket", global.socket, "writd's Unix socket (default: $WRIT_SOCKET, else the data dir's)");
  app.add_option("-o,--output", global.output, "output format: table or json")->check(CLI::IsMember({"table", "json"}));
  Action action;
  AddIdentityCommands(app, global, &action);
  AddAuditCommands(app, global, &action);
  AddTokenCommands(app, global, &action);
  AddRunCommand(app, global, &action);
  AddStatusCommand(app, global, &action);
  AddCedarCommands(app, global, &action);
  AddDecisionCommands(app, global, &action);
  AddMcpCommand(app, global, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error, out, err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!action) {
    err << app.help();
    return kExitUsage;
  }
  return action(out, err);
}

}  // namespace writ::cli
