// `writ mcp [--as <agent>] --server <name> -- <mcp server command...>`: the MCP enforcement point
// (gateway/stdio_proxy.h) with decisions from writd over its Unix socket. The principal is verified
// by writd, never taken on trust: the token in $WRIT_TOKEN_FILE (under `writ run`; re-read when the
// file changes) or, without it, a token writd issues to this process by attestation. Every request
// to writd carries that token; `--as` is only a check (a different agent: refuse to start).
#pragma once
#include "cli/identity_commands.h"

namespace writ::cli {

// Adds `mcp` to `app`. When parsed, `*action` runs the proxy on this process's stdin and stdout
// and returns the MCP server's exit code (1 when it could not be started).
void AddMcpCommand(CLI::App& app, const GlobalOptions& global, Action* action);

}  // namespace writ::cli
