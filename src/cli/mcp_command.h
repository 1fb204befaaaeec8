// `writ mcp --as <agent> --server <name> -- <mcp server command...>`: the MCP enforcement point
// (gateway/stdio_proxy.h) with decisions from writd over its Unix socket.
#pragma once
#include "cli/identity_commands.h"

namespace writ::cli {

// Adds `mcp` to `app`. When parsed, `*action` runs the proxy on this process's stdin and stdout
// and returns the MCP server's exit code (1 when it could not be started).
void AddMcpCommand(CLI::App& app, const GlobalOptions& global, Action* action);

}  // namespace writ::cli
