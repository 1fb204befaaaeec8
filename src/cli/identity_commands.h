// `writ identity create|get|list|update|suspend|resume|revoke|retire|history`.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "cli/output.h"

namespace CLI {
class App;
}

namespace writ::cli {

struct GlobalOptions {
  std::string socket;           // --socket
  std::string output = "table"; // -o
};

// What a parsed subcommand does once parsing succeeded; returns the exit code.
using Action = std::function<int(std::ostream& out, std::ostream& err)>;

// Adds `identity` and its subcommands to `app`. When one of them is parsed, `*action` is set.
void AddIdentityCommands(CLI::App& app, const GlobalOptions& global, Action* action);

}  // namespace writ::cli
