// `writ cedar validate|authorize|check-parse|format`: Cedar tools that work offline (no daemon).
#pragma once
#include "cli/identity_commands.h"

namespace CLI {
class App;
}

namespace writ::cli {

// Adds `cedar` and its subcommands to `app`. When one of them is parsed, `*action` is set.
// Exit codes: validate 0 valid / 3 invalid; authorize 0 allow / 2 deny (with --requests: 2 if any
// request is denied); every command 1 for an unreadable file or a parse error.
void AddCedarCommands(CLI::App& app, const GlobalOptions& global, Action* action);

}  // namespace writ::cli
