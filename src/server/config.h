// writd's configuration: a YAML file (`writd --config F`) whose every key has a default, then
// command-line overrides. Example, with the defaults:
//
//   data_dir: ~/.local/share/writ        # $WRIT_DATA_DIR, else $HOME/.local/share/writ
//   listen:
//     unix: <data_dir>/writd.sock        # "" = no Unix socket
//     tcp: 127.0.0.1:8787                # "" = no TCP listener; port 0 = ephemeral
//   limits:
//     max_body_bytes: 1048576
//     max_json_depth: 64
//     max_header_bytes: 16384
//     max_connections: 1024
//   timeouts:
//     read: 30s                          # to receive one request (also the keep-alive idle time)
//     write: 30s
//     shutdown: 10s                      # graceful stop waits this long for in-flight requests
//   threads: 4                           # I/O threads (default: hardware threads, 2..16)
//   admin:
//     uids: [1000]                       # default: the uid running writd
//   trust_domain: writ.local
//   log:
//     level: info                        # debug | info | warn | error | off
//     file: ""                           # "" = stderr
//   token:
//     algorithm: ES256                   # ES256 | EdDSA (also `Ed25519`); a change rotates at start
//     rotation_period: 24h               # a new signing key this often (1s..365d)
//     overlap: 24h                       # a retired key still verifies this long (1s..365d); caps TTLs
//     default_ttl: 5m                    # when a request names none (1s..24h)
//     max_clock_skew: 30s                # tolerance for exp, nbf and iat (0s..5m)
//     issuer: ""                         # the iss claim; "" = spiffe://<trust_domain>
//     default_audience: writ             # aud when a request names none
//     dpop_nonce: false                  # require DPoP-Nonce values in proofs (RFC 9449 §8)
//   audit:
//     commit_linger: 5ms                 # batched durability: gather a trickle this long per commit (0ms..1s)
//
// Unknown keys and wrong types are errors naming the key, e.g.
// "config.yaml: unknown key `limits.max_bodybytes` (line 4)".
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "common/result.h"
#include "crypto/keys.h"

namespace writ::server {

struct HostPort {
  std::string host{};  // "127.0.0.1", "::1", "localhost"
  uint16_t port = 0;
};

// Parses "127.0.0.1:8787", "[::1]:8787" or "localhost:0".
// Errors: kInvalidArgument naming the text when the host or the port is missing or bad.
Result<HostPort> ParseHostPort(std::string_view text);

// The `token:` section (see docs/tokens.md). Durations are whole seconds.
struct TokenConfig {
  crypto::KeyAlgorithm algorithm = crypto::KeyAlgorithm::kEs256;
  std::chrono::seconds rotation_period{std::chrono::hours(24)};
  std::chrono::seconds overlap{std::chrono::hours(24)};
  std::chrono::seconds default_ttl{std::chrono::minutes(5)};
  std::chrono::seconds max_clock_skew{30};
  std::string issuer{};  // "" = spiffe://<trust_domain>
  std::string default_audience = "writ";
  bool dpop_nonce = false;
};

struct Config {
  std::string data_dir{};
  std::string listen_unix{};  // "" = disabled
  std::optional<HostPort> listen_tcp = HostPort{"127.0.0.1", 8787};  // nullopt = disabled
  size_t max_body_bytes = 1 << 20;
  size_t max_json_depth = 64;
  size_t max_header_bytes = 16 << 10;
  size_t max_connections = 1024;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds shutdown_timeout{10'000};
  int threads = 2;
  std::vector<uint32_t> admin_uids{};  // default: {getuid()}
  std::string trust_domain = "writ.local";
  log::Level log_level = log::Level::kInfo;
  std::string log_file{};  // "" = stderr
  TokenConfig token{};
  // The ledger's LedgerOptions::commit_linger (batched durability only; docs/ledger_format.md §5).
  std::chrono::milliseconds audit_commit_linger{5};
};

// Command-line flags; each set one replaces the file's value.
struct ConfigOverrides {
  std::optional<std::string> data_dir{};
  std::optional<std::string> listen_unix{};
  std::optional<std::string> listen_tcp{};  // "host:port" or "" (disabled)
};

// Parses YAML `text` (an empty text gives all defaults) and applies `overrides`. `source` names
// the text in messages (usually the file path).
// Errors: kInvalidArgument for malformed YAML, an unknown key, a wrong type or a bad value; the
// message names the source, the key and the line.
Result<Config> ParseConfig(std::string_view text, const ConfigOverrides& overrides, std::string_view source = "config");

// Reads and parses the file at `path`; with no path, the defaults plus `overrides`.
// Errors: as ParseConfig; kNotFound / kPermissionDenied when the file cannot be read.
Result<Config> LoadConfig(const std::optional<std::string>& path, const ConfigOverrides& overrides);

// The default data directory: $WRIT_DATA_DIR, else $HOME/.local/share/writ, else ./writ-data.
std::string DefaultDataDir();

}  // namespace writ::server
