#include "common/clock.h"

#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace writ {
namespace {

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// Reads exactly `width` decimal digits at text[*pos]; advances *pos.
bool ReadDigits(std::string_view text, size_t* pos, size_t width, int* out) {
  if (*pos + width > text.size()) return false;
  int value = 0;
  for (size_t index = 0; index < width; ++index) {
    const char ch = text[*pos + index];
    if (ch < '0' || ch > '9') return false;
    value = value * 10 + (ch - '0');
  }
  *pos += width;
  *out = value;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char expected) {
  if (*pos >= text.size() || text[*pos] != expected) return false;
  ++*pos;
  return true;
}

}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

int64_t ToUnixMillis(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

TimePoint FromUnixMillis(int64_t millis) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(millis)));
}

int64_t ToUnixSeconds(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

std::string FormatRfc3339(TimePoint time) {
  using namespace std::chrono;
  const auto millis_total = floor<milliseconds>(time);
  const auto day = floor<days>(millis_total);
  const year_month_day date(day);
  const hh_mm_ss clock_time(millis_total - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     clock_time.hours().count(), clock_time.minutes().count(),
                     clock_time.seconds().count(), clock_time.subseconds().count());
}

Result<TimePoint> ParseRfc3339(std::string_view text) {
  using namespace std::chrono;
  auto invalid = [&] {
    return Fail(Code::kInvalidArgument, fmt::format("`{}` is not an RFC 3339 timestamp", text.substr(0, 64)));
  };
  size_t pos = 0;
  int year = 0, month = 0, day_of_month = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 4, &year) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &month) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &day_of_month)) {
    return invalid();
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) return invalid();
  ++pos;
  if (!ReadDigits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &second)) {
    return invalid();
  }
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      nanos += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return invalid();
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int offset_hours = 0, offset_mins = 0;
    if (!ReadDigits(text, &pos, 2, &offset_hours) || !Expect(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &offset_mins) || offset_hours > 23 || offset_mins > 59) {
      return invalid();
    }
    offset_minutes = sign * (offset_hours * 60 + offset_mins);
  } else {
    return invalid();
  }
  if (pos != text.size()) return invalid();
  const year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                            std::chrono::day(static_cast<unsigned>(day_of_month))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return invalid();
  const auto since_epoch = sys_days(date).time_since_epoch() + hours(hour) + minutes(minute) +
                           seconds(second) + nanoseconds(nanos) - minutes(offset_minutes);
  return TimePoint(duration_cast<TimePoint::duration>(since_epoch));
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto invalid = [&](std::string_view why) {
    return Fail(Code::kInvalidArgument,
                fmt::format("`{}` is not a duration ({}); use e.g. `90s`, `5m`, `1h30m`", text.substr(0, 64), why));
  };
  if (text.empty()) return invalid("empty");
  int64_t total_ms = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t amount = 0;
    const auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), amount);
    if (ec != std::errc() || amount < 0) return invalid("expected a number");
    pos = static_cast<size_t>(end - text.data());
    int64_t unit_ms = 0;
    if (text.substr(pos, 2) == "ms") {
      unit_ms = 1;
      pos += 2;
    } else if (pos < text.size()) {
      switch (text[pos]) {
        case 's': unit_ms = 1000; break;
        case 'm': unit_ms = 60'000; break;
        case 'h': unit_ms = 3'600'000; break;
        case 'd': unit_ms = 86'400'000; break;
        default: return invalid("unknown unit");
      }
      ++pos;
    } else {
      return invalid("missing unit");
    }
    if (amount > (std::numeric_limits<int64_t>::max() - total_ms) / unit_ms) return invalid("too large");
    total_ms += amount * unit_ms;
  }
  return std::chrono::milliseconds(total_ms);
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  int64_t remaining = duration.count();
  if (remaining == 0) return "0s";
  std::string text;
  if (remaining < 0) {
    text = "-";
    remaining = -remaining;
  }
  struct Unit { int64_t ms; const char* suffix; };
  for (const Unit unit : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"},
                          Unit{1000, "s"}, Unit{1, "ms"}}) {
    if (remaining >= unit.ms) {
      text += std::to_string(remaining / unit.ms);
      text += unit.suffix;
      remaining %= unit.ms;
    }
  }
  return text;
}

}  // namespace writ
