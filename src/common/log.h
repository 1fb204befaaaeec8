// Structured logging: one JSON object per line on stderr (or a file).
// Never pass a secret as a field: name the jti, kid or an HMAC fingerprint instead.
#pragma once
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/clock.h"
#include "common/json.h"

namespace writ::log {

enum class Level : uint8_t { kDebug, kInfo, kWarn, kError, kOff };

// A field's value, borrowed for the duration of the Write call (a log call's arguments, temporaries
// included, live that long): strings are not copied and no JSON tree is built. Any json::Value is
// accepted too, for structured fields.
class FieldValue {
 public:
  enum class Kind : uint8_t { kNull, kBool, kInt, kUint, kDouble, kString, kJson };

  FieldValue(std::nullptr_t) {}
  FieldValue(const char* text) : kind_(Kind::kString), text_(text == nullptr ? std::string_view() : std::string_view(text)) {
    if (text == nullptr) kind_ = Kind::kNull;
  }
  FieldValue(std::string_view text) : kind_(Kind::kString), text_(text) {}
  FieldValue(const std::string& text) : kind_(Kind::kString), text_(text) {}
  FieldValue(bool value) : kind_(Kind::kBool), int_(value ? 1 : 0) {}
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  FieldValue(T value) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kInt;
      int_ = static_cast<int64_t>(value);
    } else {
      kind_ = Kind::kUint;
      uint_ = static_cast<uint64_t>(value);
    }
  }
  FieldValue(double value) : kind_(Kind::kDouble), double_(value) {}
  FieldValue(const json::Value& value) : kind_(Kind::kJson), json_(&value) {}

  // Appends the value as JSON text to `out`.
  void AppendTo(std::string& out) const;

 private:
  Kind kind_ = Kind::kNull;
  std::string_view text_;
  union {
    int64_t int_ = 0;
    uint64_t uint_;
    double double_;
    const json::Value* json_;
  };
};

struct Field {
  std::string_view key;
  FieldValue value;
};

// Parses "debug", "info", "warn", "error" or "off". Errors: kInvalidArgument otherwise.
Result<Level> ParseLevel(std::string_view name);

// Messages below `level` are dropped. Default kInfo. Thread-safe.
void SetLevel(Level level);

// True when messages at `level` are written: lets a hot path skip building its fields.
bool Enabled(Level level);

// Sends log lines to `path` (appended, created if missing) instead of stderr.
// Errors: kUnavailable if it cannot be opened.
Status LogToFile(const std::string& path);

// Writes {"time":"…","level":"info","msg":"…",<fields>} as one line, with one write(2) (lines of
// concurrent callers never interleave). Thread-safe; formats into a per-thread buffer.
void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

// The line Write would write (without its newline), for tests.
std::string FormatLine(Level level, std::string_view message, std::initializer_list<Field> fields, TimePoint time);

inline void Debug(std::string_view message, std::initializer_list<Field> fields = {}) { Write(Level::kDebug, message, fields); }
inline void Info(std::string_view message, std::initializer_list<Field> fields = {}) { Write(Level::kInfo, message, fields); }
inline void Warn(std::string_view message, std::initializer_list<Field> fields = {}) { Write(Level::kWarn, message, fields); }
inline void Error(std::string_view message, std::initializer_list<Field> fields = {}) { Write(Level::kError, message, fields); }

}  // namespace writ::log
