// `writ token issue|inspect|revoke` and `writ keys list|rotate`.
#pragma once
#include "cli/identity_commands.h"

namespace writ::cli {

// Adds `token` and `keys` with their subcommands to `app`. When one is parsed, `*action` is set.
void AddTokenCommands(CLI::App& app, const GlobalOptions& global, Action* action);

}  // namespace writ::cli
