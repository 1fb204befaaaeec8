// `writ identity create|get|list|update|suspend|resume|revoke|retire|history`.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "cli/command.h"

namespace CLI {
class App;
}

namespace writ::cli {

// Adds `identity` and its subcommands to `app`. When one of them is parsed, `*action` is set.
void AddIdentityCommands(CLI::App& app, const GlobalOptions& global, Action* action);

}  // namespace writ::cli
