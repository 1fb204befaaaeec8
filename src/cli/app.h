// The `writ` command line: parses arguments (CLI11), runs one subcommand, prints its result.
#pragma once
#include <iosfwd>

namespace writ::cli {

// Runs the CLI. Returns the process exit code: 0 success, 1 an error (one sentence on `err`),
// 2 a usage error (wrong flags; help on `err`). Some subcommands document other codes.
int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace writ::cli
