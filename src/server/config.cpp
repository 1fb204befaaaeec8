#include "server/config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "common/clock.h"

namespace writ::server {
namespace {

constexpr int64_t kMaxBodyLimit = int64_t{1} << 30;
constexpr int64_t kMaxDepthLimit = 1024;
constexpr int64_t kMaxThreads = 256;
constexpr unsigned kMaxDefaultThreads = 16;
constexpr std::chrono::seconds kMaxKeyPeriod{std::chrono::hours(24 * 365)};
constexpr std::chrono::seconds kMaxClockSkew{std::chrono::minutes(5)};

// Turns YAML nodes into Config fields, with messages naming the source, the dotted key and the line.
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  Error Bad(const YAML::Node& node, std::string_view key, std::string_view problem) const {
    std::string message = std::string(source_) + ": `" + std::string(key) + "` " + std::string(problem);
    if (node.Mark().line >= 0) message += " (line " + std::to_string(node.Mark().line + 1) + ")";
    return Error{Code::kInvalidArgument, std::move(message)};
  }

  Result<std::string> String(const YAML::Node& node, std::string_view key) const {
    if (!node.IsScalar()) return Fail(Bad(node, key, "must be a string"));
    return node.Scalar();
  }

  Result<int64_t> Int(const YAML::Node& node, std::string_view key, int64_t min, int64_t max) const {
    if (!node.IsScalar()) return Fail(Bad(node, key, "must be an integer"));
    const std::string& text = node.Scalar();
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
      return Fail(Bad(node, key, "must be an integer, not `" + text + "`"));
    }
    if (value < min || value > max) {
      return Fail(Bad(node, key, "must be between " + std::to_string(min) + " and " + std::to_string(max)));
    }
    return value;
  }

  Result<std::chrono::milliseconds> Duration(const YAML::Node& node, std::string_view key) const {
    WRIT_ASSIGN_OR_RETURN(std::string text, String(node, key));
    auto duration = ParseDuration(text);
    if (!duration || duration->count() <= 0) {
      return Fail(Bad(node, key, "must be a positive duration such as `30s` or `500ms`, not `" + text + "`"));
    }
    return *duration;
  }

  Result<bool> Bool(const YAML::Node& node, std::string_view key) const {
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) return node.Scalar() == "true";
    return Fail(Bad(node, key, "must be `true` or `false`"));
  }

  // A duration in whole seconds within [min, max], e.g. `90s`, `5m`, `24h`.
  Result<std::chrono::seconds> Seconds(const YAML::Node& node, std::string_view key, std::chrono::seconds min,
                                       std::chrono::seconds max) const {
    WRIT_ASSIGN_OR_RETURN(std::string text, String(node, key));
    auto duration = ParseDuration(text);
    if (!duration || duration->count() % 1000 != 0) {
      return Fail(Bad(node, key, "must be a duration in whole seconds such as `30s`, `5m` or `24h`, not `" + text + "`"));
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*duration);
    if (seconds < min || seconds > max) {
      return Fail(Bad(node, key, "must be between " + FormatDuration(min) + " and " + FormatDuration(max)));
    }
    return seconds;
  }

  // Calls `field(key, value)` for each member of mapping `node`.
  template <class Fn>
  Status Map(const YAML::Node& node, std::string_view key, Fn&& field) const {
    if (node.IsNull()) return Ok();
    if (!node.IsMap()) return Fail(Bad(node, key, "must be a mapping"));
    for (const auto& member : node) {
      if (!member.first.IsScalar()) return Fail(Bad(member.first, key, "has a key that is not a string"));
      const std::string name = member.first.Scalar();
      const std::string dotted = key.empty() ? name : std::string(key) + "." + name;
      WRIT_RETURN_IF_ERROR(field(name, dotted, member.second));
    }
    return Ok();
  }

  Error Unknown(const YAML::Node& node, std::string_view dotted) const {
    std::string message = std::string(source_) + ": unknown key `" + std::string(dotted) + "`";
    if (node.Mark().line >= 0) message += " (line " + std::to_string(node.Mark().line + 1) + ")";
    return Error{Code::kInvalidArgument, std::move(message)};
  }

 private:
  std::string_view source_;
};

std::string ExpandHome(std::string path) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    if (home != nullptr && *home != '\0') path = std::string(home) + path.substr(1);
  }
  return path;
}

// Issuer and audience names: printable ASCII without spaces or quotes, at most 256 characters.
bool IsValidTokenName(std::string_view name) {
  return !name.empty() && name.size() <= 256 &&
         std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 0x7f && c != '"' && c != '\\'; });
}

bool IsValidTrustDomain(std::string_view name) {
  return !name.empty() && name.size() <= 255 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  });
}

Status ParseTokenSection(const Reader& reader, const YAML::Node& value, const std::string& dotted, TokenConfig& token) {
  using std::chrono::hours;
  using std::chrono::seconds;
  return reader.Map(value, dotted, [&](const std::string& key, const std::string& path, const YAML::Node& node) -> Status {
    if (key == "algorithm") {
      WRIT_ASSIGN_OR_RETURN(const std::string algorithm, reader.String(node, path));
      if (algorithm == "ES256") {
        token.algorithm = crypto::KeyAlgorithm::kEs256;
      } else if (algorithm == "EdDSA" || algorithm == "Ed25519") {
        token.algorithm = crypto::KeyAlgorithm::kEd25519;
      } else {
        return Fail(reader.Bad(node, path, "must be `ES256` or `EdDSA`"));
      }
    } else if (key == "rotation_period") {
      WRIT_ASSIGN_OR_RETURN(token.rotation_period, reader.Seconds(node, path, seconds(1), kMaxKeyPeriod));
    } else if (key == "overlap") {
      WRIT_ASSIGN_OR_RETURN(token.overlap, reader.Seconds(node, path, seconds(1), kMaxKeyPeriod));
    } else if (key == "default_ttl") {
      WRIT_ASSIGN_OR_RETURN(token.default_ttl, reader.Seconds(node, path, seconds(1), hours(24)));
    } else if (key == "max_clock_skew") {
      WRIT_ASSIGN_OR_RETURN(token.max_clock_skew, reader.Seconds(node, path, seconds(0), kMaxClockSkew));
    } else if (key == "dpop_nonce") {
      WRIT_ASSIGN_OR_RETURN(token.dpop_nonce, reader.Bool(node, path));
    } else if (key == "issuer" || key == "default_audience") {
      WRIT_ASSIGN_OR_RETURN(std::string text, reader.String(node, path));
      if (key == "issuer" && text.empty()) {
        token.issuer.clear();
        return Ok();
      }
      if (!IsValidTokenName(text)) {
        return Fail(reader.Bad(node, path, "must be 1 to 256 printable characters without spaces or quotes"));
      }
      (key == "issuer" ? token.issuer : token.default_audience) = std::move(text);
    } else {
      return Fail(reader.Unknown(node, path));
    }
    return Ok();
  });
}

}  // namespace

Result<HostPort> ParseHostPort(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Fail(Code::kInvalidArgument, "listen address `" + std::string(text) + "` " + std::string(why));
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("must look like `[::1]:8787`");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("must be `host:port`");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("must put an IPv6 host in brackets: `[::1]:8787`");
  }
  if (host.empty()) return bad("has no host");
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value > 65535) {
    return bad("has no valid port (0-65535)");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

std::string DefaultDataDir() {
  if (const char* dir = std::getenv("WRIT_DATA_DIR"); dir != nullptr && *dir != '\0') return dir;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.local/share/writ";
  }
  return "writ-data";
}

Result<Config> ParseConfig(std::string_view text, const ConfigOverrides& overrides, std::string_view source) {
  Config config;
  config.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 2u, kMaxDefaultThreads));
  std::optional<std::string> data_dir;
  std::optional<std::string> listen_unix;
  std::optional<std::string> listen_tcp;
  std::optional<std::vector<uint32_t>> admin_uids;

  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& error) {
    return Fail(Code::kInvalidArgument, std::string(source) + ": malformed YAML: " + error.msg + " (line " +
                                            std::to_string(error.mark.line + 1) + ")");
  }
  const Reader reader(source);
  const auto top = [&](const std::string& name, const std::string& dotted, const YAML::Node& value) -> Status {
    if (name == "data_dir") {
      WRIT_ASSIGN_OR_RETURN(data_dir, reader.String(value, dotted));
    } else if (name == "trust_domain") {
      WRIT_ASSIGN_OR_RETURN(config.trust_domain, reader.String(value, dotted));
      if (!IsValidTrustDomain(config.trust_domain)) {
        return Fail(reader.Bad(value, dotted, "must be lowercase letters, digits, `.`, `-` or `_`"));
      }
    } else if (name == "threads") {
      WRIT_ASSIGN_OR_RETURN(const int64_t threads, reader.Int(value, dotted, 1, kMaxThreads));
      config.threads = static_cast<int>(threads);
    } else if (name == "listen") {
      return reader.Map(value, dotted, [&](const std::string& key, const std::string& path, const YAML::Node& node) -> Status {
        if (key == "unix") {
          WRIT_ASSIGN_OR_RETURN(listen_unix, reader.String(node, path));
        } else if (key == "tcp") {
          WRIT_ASSIGN_OR_RETURN(listen_tcp, reader.String(node, path));
          if (!listen_tcp->empty()) {
            auto parsed = ParseHostPort(*listen_tcp);
            if (!parsed) return Fail(reader.Bad(node, path, "is invalid: " + parsed.error().message));
          }
        } else {
          return Fail(reader.Unknown(node, path));
        }
        return Ok();
      });
    } else if (name == "limits") {
      return reader.Map(value, dotted, [&](const std::string& key, const std::string& path, const YAML::Node& node) -> Status {
        if (key == "max_body_bytes") {
          WRIT_ASSIGN_OR_RETURN(const int64_t bytes, reader.Int(node, path, 1, kMaxBodyLimit));
          config.max_body_bytes = static_cast<size_t>(bytes);
        } else if (key == "max_json_depth") {
          WRIT_ASSIGN_OR_RETURN(const int64_t depth, reader.Int(node, path, 1, kMaxDepthLimit));
          config.max_json_depth = static_cast<size_t>(depth);
        } else if (key == "max_header_bytes") {
          WRIT_ASSIGN_OR_RETURN(const int64_t bytes, reader.Int(node, path, 1024, 1 << 20));
          config.max_header_bytes = static_cast<size_t>(bytes);
        } else if (key == "max_connections") {
          WRIT_ASSIGN_OR_RETURN(const int64_t count, reader.Int(node, path, 1, 1'000'000));
          config.max_connections = static_cast<size_t>(count);
        } else {
          return Fail(reader.Unknown(node, path));
        }
        return Ok();
      });
    } else if (name == "timeouts") {
      return reader.Map(value, dotted, [&](const std::string& key, const std::string& path, const YAML::Node& node) -> Status {
        if (key == "read") {
          WRIT_ASSIGN_OR_RETURN(config.read_timeout, reader.Duration(node, path));
        } else if (key == "write") {
          WRIT_ASSIGN_OR_RETURN(config.write_timeout, reader.Duration(node, path));
        } else if (key == "shutdown") {
          WRIT_ASSIGN_OR_RETURN(config.shutdown_timeout, reader.Duration(node, path));
        } else {
          return Fail(reader.Unknown(node, path));
        }
        return Ok();
      });
    } else if (name == "admin") {
      return reader.Map(value, dotted, [&](const std::string& key, const std::string& path, const YAML::Node& node) -> Status {
        if (key != "uids") return Fail(reader.Unknown(node, path));
        if (!node.IsSequence()) return Fail(reader.Bad(node, path, "must be a list of uids, e.g. `[1000]`"));
        admin_uids.emplace();
        for (const auto& item : node) {
          WRIT_ASSIGN_OR_RETURN(const int64_t uid, reader.Int(item, path, 0, UINT32_MAX - 1));
          admin_uids->push_back(static_cast<uint32_t>(uid));
        }
        return Ok();
      });
    } else if (name == "log") {
      return reader.Map(value, dotted, [&](const std::string& key, const std::string& path, const YAML::Node& node) -> Status {
        if (key == "level") {
          WRIT_ASSIGN_OR_RETURN(const std::string level, reader.String(node, path));
          auto parsed = log::ParseLevel(level);
          if (!parsed) return Fail(reader.Bad(node, path, "must be one of debug, info, warn, error, off"));
          config.log_level = *parsed;
        } else if (key == "file") {
          WRIT_ASSIGN_OR_RETURN(config.log_file, reader.String(node, path));
        } else {
          return Fail(reader.Unknown(node, path));
        }
        return Ok();
      });
    } else if (name == "token") {
      return ParseTokenSection(reader, value, dotted, config.token);
    } else if (name == "audit") {
      return reader.Map(value, dotted, [&](const std::string& key, const std::string& path, const YAML::Node& node) -> Status {
        if (key != "commit_linger") return Fail(reader.Unknown(node, path));
        WRIT_ASSIGN_OR_RETURN(const std::string linger_text, reader.String(node, path));
        auto linger = ParseDuration(linger_text);
        if (!linger || *linger < std::chrono::milliseconds(0) || *linger > std::chrono::milliseconds(1000)) {
          return Fail(reader.Bad(node, path, "must be a duration from `0ms` to `1s`, not `" + linger_text + "`"));
        }
        config.audit_commit_linger = *linger;
        return Ok();
      });
    } else {
      return Fail(reader.Unknown(value, dotted));
    }
    return Ok();
  };
  if (!root.IsNull()) {
    if (!root.IsMap()) return Fail(Code::kInvalidArgument, std::string(source) + ": must be a YAML mapping of keys");
    WRIT_RETURN_IF_ERROR(reader.Map(root, "", top));
  }

  if (overrides.data_dir) data_dir = overrides.data_dir;
  if (overrides.listen_unix) listen_unix = overrides.listen_unix;
  if (overrides.listen_tcp) listen_tcp = overrides.listen_tcp;

  config.data_dir = ExpandHome(data_dir.value_or(DefaultDataDir()));
  if (config.data_dir.empty()) return Fail(Code::kInvalidArgument, std::string(source) + ": `data_dir` is empty");
  config.listen_unix = listen_unix ? ExpandHome(*listen_unix) : config.data_dir + "/writd.sock";
  if (listen_tcp) {
    if (listen_tcp->empty()) {
      config.listen_tcp.reset();
    } else {
      WRIT_ASSIGN_OR_RETURN(config.listen_tcp, ParseHostPort(*listen_tcp));
    }
  }
  if (config.listen_unix.empty() && !config.listen_tcp) {
    return Fail(Code::kInvalidArgument, std::string(source) + ": both listeners are disabled; keep `listen.unix` or `listen.tcp`");
  }
  config.admin_uids = admin_uids.value_or(std::vector<uint32_t>{static_cast<uint32_t>(::getuid())});
  return config;
}

Result<Config> LoadConfig(const std::optional<std::string>& path, const ConfigOverrides& overrides) {
  if (!path) return ParseConfig("", overrides, "defaults");
  std::ifstream file(*path, std::ios::binary);
  if (!file) {
    const int error = errno;
    return Fail(error == EACCES ? Code::kPermissionDenied : Code::kNotFound,
                "cannot read config file `" + *path + "`: " + std::strerror(error));
  }
  std::ostringstream text;
  text << file.rdbuf();
  return ParseConfig(text.str(), overrides, *path);
}

}  // namespace writ::server
