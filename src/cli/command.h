// What every `writ` subcommand shares: the global flags, the deferred action a parsed subcommand
// leaves behind, and the usual shape of a command that calls writd and prints its answer.
#pragma once
#include <functional>
#include <ostream>
#include <string>

#include "cli/output.h"
#include "common/json.h"
#include "common/result.h"

namespace writ::cli {

class Connection;

struct GlobalOptions {
  std::string socket;            // --socket
  std::string output = "table";  // -o
};

// What a parsed subcommand does once parsing succeeded; returns the exit code.
using Action = std::function<int(std::ostream& out, std::ostream& err)>;

// An action that runs `call` against writd and prints its JSON answer with `print` (`-o table`)
// or as indented JSON (`-o json`). Exit codes: 0 success, 1 writd's error (one line on err),
// 2 a bad -o value. `global` is borrowed: it must outlive the action.
Action MakeDaemonAction(const GlobalOptions& global, std::function<Result<json::Value>(Connection&)> call,
                        std::function<void(std::ostream&, const json::Value&)> print);

}  // namespace writ::cli
