// Time comes through a Clock so that expiry, rotation and timeouts are tested without sleeping.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace writ {

using TimePoint = std::chrono::system_clock::time_point;

// Thread-safe source of wall-clock time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The process-wide real clock. Never null; lives for the whole program.
const Clock& SystemClock();

// Milliseconds since the Unix epoch.
int64_t ToUnixMillis(TimePoint time);
TimePoint FromUnixMillis(int64_t millis);
// Whole seconds since the Unix epoch (JWT NumericDate).
int64_t ToUnixSeconds(TimePoint time);

// RFC 3339 in UTC with millisecond precision: "2026-11-22T02:00:50.123Z".
std::string FormatRfc3339(TimePoint time);

// Parses RFC 3339 ("YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)").
// Errors: kInvalidArgument naming the text when it is not a valid timestamp.
Result<TimePoint> ParseRfc3339(std::string_view text);

// Parses a Go-style duration such as "300ms", "90s", "5m", "1h30m", "7d".
// Errors: kInvalidArgument when the text is empty, has an unknown unit or overflows.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Formats a duration as the shortest form ParseDuration reads back ("5m", "1h30m", "250ms", "0s").
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace writ
