// Structured logging: one JSON object per line on stderr (or a file), through spdlog.
// Never pass a secret as a field: name the jti, kid or an HMAC fingerprint instead.
#pragma once
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/json.h"

namespace writ::log {

enum class Level : uint8_t { kDebug, kInfo, kWarn, kError, kOff };

struct Field {
  std::string_view key;
  json::Value value;
};

// Parses "debug", "info", "warn", "error" or "off". Errors: kInvalidArgument otherwise.
Result<Level> ParseLevel(std::string_view name);

// Messages below `level` are dropped. Default kInfo. Thread-safe.
void SetLevel(Level level);

// True when messages at `level` are written: lets a hot path skip building its fields.
bool Enabled(Level level);

// Sends log lines to `path` (appended) instead of stderr. Errors: kUnavailable if it cannot be opened.
Status LogToFile(const std::string& path);

// Writes {"time":"…","level":"info","msg":"…",<fields>} as one line. Thread-safe.
void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void Debug(std::string_view message, std::initializer_list<Field> fields = {}) { Write(Level::kDebug, message, fields); }
inline void Info(std::string_view message, std::initializer_list<Field> fields = {}) { Write(Level::kInfo, message, fields); }
inline void Warn(std::string_view message, std::initializer_list<Field> fields = {}) { Write(Level::kWarn, message, fields); }
inline void Error(std::string_view message, std::initializer_list<Field> fields = {}) { Write(Level::kError, message, fields); }

}  // namespace writ::log
