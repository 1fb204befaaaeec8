#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <mutex>

namespace writ::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
// Guards the sink: a line is written whole under it, and LogToFile swaps the descriptor under it.
std::mutex g_sink_mu;
int g_fd = STDERR_FILENO;  // guarded by g_sink_mu

// Longest line kept in a thread's buffer between calls (a longer one is freed after its write).
constexpr size_t kMaxKeptBuffer = 64 << 10;

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "info";
}

template <typename Integer>
void AppendInteger(std::string& out, Integer value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
  out.append(digits, end);
}

void AppendDigits(std::string& out, unsigned value, int width) {
  char digits[8];
  for (int index = width - 1; index >= 0; --index) {
    digits[index] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<size_t>(width));
}

// "2026-11-22T11:29:19.001Z", as FormatRfc3339, without its allocation. The date part is computed
// once per second per thread.
void AppendTime(std::string& out, TimePoint time) {
  using namespace std::chrono;
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached_prefix[20];  // "YYYY-MM-DDTHH:MM:SS"
  const auto millis_total = floor<milliseconds>(time);
  const auto second = floor<seconds>(millis_total);
  if (second.time_since_epoch().count() != cached_second) {
    const auto day = floor<days>(second);
    const year_month_day date(day);
    const hh_mm_ss clock_time(second - day);
    std::string prefix;
    prefix.reserve(sizeof(cached_prefix));
    const int year = static_cast<int>(date.year());
    if (year < 0 || year > 9999) {
      out += FormatRfc3339(time);  // outside what 4 digits can say: the slow, general path
      return;
    }
    AppendDigits(prefix, static_cast<unsigned>(year), 4);
    prefix += '-';
    AppendDigits(prefix, static_cast<unsigned>(date.month()), 2);
    prefix += '-';
    AppendDigits(prefix, static_cast<unsigned>(date.day()), 2);
    prefix += 'T';
    AppendDigits(prefix, static_cast<unsigned>(clock_time.hours().count()), 2);
    prefix += ':';
    AppendDigits(prefix, static_cast<unsigned>(clock_time.minutes().count()), 2);
    prefix += ':';
    AppendDigits(prefix, static_cast<unsigned>(clock_time.seconds().count()), 2);
    std::memcpy(cached_prefix, prefix.data(), 19);
    cached_second = second.time_since_epoch().count();
  }
  out.append(cached_prefix, 19);
  out += '.';
  AppendDigits(out, static_cast<unsigned>((millis_total - second).count()), 3);
  out += 'Z';
}

void AppendLine(std::string& out, Level level, std::string_view message, std::initializer_list<Field> fields,
                TimePoint time) {
  out += R"({"time":")";
  AppendTime(out, time);
  out += R"(","level":")";
  out += LevelName(level);
  out += R"(","msg":)";
  json::AppendQuoted(out, message);
  for (const Field& field : fields) {
    out += ',';
    json::AppendQuoted(out, field.key);
    out += ':';
    field.value.AppendTo(out);
  }
  out += '}';
}

// Writes all of `line`, retrying after a signal or a short write. A failing sink loses the line
// (there is nowhere left to say so).
void WriteAll(int fd, std::string_view line) {
  while (!line.empty()) {
    const ssize_t written = ::write(fd, line.data(), line.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;
    }
    line.remove_prefix(static_cast<size_t>(written));
  }
}

}  // namespace

void FieldValue::AppendTo(std::string& out) const {
  switch (kind_) {
    case Kind::kNull: out += "null"; return;
    case Kind::kBool: out += int_ != 0 ? "true" : "false"; return;
    case Kind::kInt: AppendInteger(out, int_); return;
    case Kind::kUint: AppendInteger(out, uint_); return;
    case Kind::kDouble: out += json::Serialize(json::Value(double_)); return;
    case Kind::kString: json::AppendQuoted(out, text_); return;
    case Kind::kJson: out += json::Serialize(*json_); return;
  }
}

Result<Level> ParseLevel(std::string_view name) {
  for (const Level level : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff}) {
    if (LevelName(level) == name) return level;
  }
  return Fail(Code::kInvalidArgument, "log level must be one of debug, info, warn, error, off");
}

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }

Status LogToFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return Fail(Code::kUnavailable, "cannot open log file: " + path + ": " + std::strerror(errno));
  std::lock_guard lock(g_sink_mu);
  if (g_fd != STDERR_FILENO) ::close(g_fd);
  g_fd = fd;
  return Ok();
}

bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed) && level != Level::kOff; }

std::string FormatLine(Level level, std::string_view message, std::initializer_list<Field> fields, TimePoint time) {
  std::string line;
  AppendLine(line, level, message, fields, time);
  return line;
}

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  // The thread's buffer, unless it is already destroyed (a line written from a destructor that runs
  // after the thread's own thread_local objects): then a buffer of this call's own.
  thread_local bool buffer_gone = false;  // trivially destructible: readable at any time
  struct Buffer {
    std::string line;
    ~Buffer() { buffer_gone = true; }
  };
  thread_local Buffer buffer;
  std::string own;
  std::string& line = buffer_gone ? own : buffer.line;
  line.clear();
  AppendLine(line, level, message, fields, SystemClock().Now());
  line += '\n';
  {
    std::lock_guard lock(g_sink_mu);
    WriteAll(g_fd, line);
  }
  if (line.capacity() > kMaxKeptBuffer) std::string().swap(line);
}

}  // namespace writ::log
