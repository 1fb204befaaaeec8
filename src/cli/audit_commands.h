// `writ audit checkpoint|prove|query|verify`: read the tamper-evident ledger, and verify it
// offline from the database file with only the public verifier key.
#pragma once
#include "cli/identity_commands.h"

namespace writ::cli {

// Adds `audit` and its subcommands to `app`. When one of them is parsed, `*action` is set.
void AddAuditCommands(CLI::App& app, const GlobalOptions& global, Action* action);

}  // namespace writ::cli
