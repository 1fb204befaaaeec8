// `writ run --as <agent> [--ttl 10m] [--task T] [--audience A] [--strip-env NAME] [--keep-env NAME]
//  -- <command…>`: starts the command, gets its token from writd by attestation of the started
// process (it is held stopped right after exec, so writd sees the command's own executable), writes
// the token to a file only the user can read (0600, path in WRIT_TOKEN_FILE), renews it before
// expiry while the command lives, forwards signals, and exits with the command's status.
//
// Ambient credentials are removed from the command's environment, and writ run says which names it
// removed (never their values). The default list (kAmbientCredentials) is extended with
// --strip-env (repeatable) or $WRIT_STRIP_ENV (comma-separated); --keep-env keeps one.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "cli/identity_commands.h"

namespace writ::cli {

// Environment names removed by default. A trailing '*' matches a prefix.
inline constexpr std::string_view kAmbientCredentials[] = {
    "AWS_*",           "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "GITHUB_TOKEN", "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN", "GITLAB_TOKEN",    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_API_KEY",  "HF_TOKEN",            "HUGGING_FACE_HUB_TOKEN", "NPM_TOKEN", "VAULT_TOKEN",
    "SSH_AUTH_SOCK",   "DOCKER_AUTH_CONFIG",  "KUBECONFIG",
};

// Splits `environment` ("NAME=value" entries) into what the command gets and the names removed.
// `patterns` are names or prefixes ending in '*'; `keep` names are never removed.
struct FilteredEnvironment {
  std::vector<std::string> kept;
  std::vector<std::string> removed;  // names only
};
FilteredEnvironment FilterEnvironment(const std::vector<std::string>& environment,
                                      const std::vector<std::string>& patterns, const std::vector<std::string>& keep);

// Adds `run` to `app`. When parsed, `*action` is set.
void AddRunCommand(CLI::App& app, const GlobalOptions& global, Action* action);

}  // namespace writ::cli
