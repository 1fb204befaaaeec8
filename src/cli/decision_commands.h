// `writ policy apply|list|show|diff|activate|rollback` and `writ approvals list|grant|deny`.
#pragma once
#include "cli/identity_commands.h"

namespace writ::cli {

// Adds `policy` and `approvals` with their subcommands to `app`; a parsed one sets `*action`.
void AddDecisionCommands(CLI::App& app, const GlobalOptions& global, Action* action);

}  // namespace writ::cli
