#include "common/log.h"

#include <atomic>
#include <memory>
#include <mutex>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace writ::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::mutex g_logger_mu;

std::shared_ptr<spdlog::logger> MakeStderrLogger() {
  auto logger = std::make_shared<spdlog::logger>("writ", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  return logger;
}

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger = MakeStderrLogger();
  return logger;
}

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

}  // namespace

Result<Level> ParseLevel(std::string_view name) {
  for (const Level level : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff}) {
    if (LevelName(level) == name) return level;
  }
  return Fail(Code::kInvalidArgument, "log level must be one of debug, info, warn, error, off");
}

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }

Status LogToFile(const std::string& path) {
  try {
    auto logger = std::make_shared<spdlog::logger>(
        "writ", std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false));
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    logger->flush_on(spdlog::level::trace);
    std::lock_guard lock(g_logger_mu);
    Logger() = std::move(logger);
    return Ok();
  } catch (const spdlog::spdlog_ex& error) {
    return Fail(Code::kUnavailable, std::string("cannot open log file: ") + error.what());
  }
}

bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed) && level != Level::kOff; }

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  json::Writer line;
  line.BeginObject();
  line.Key("time").String(FormatRfc3339(SystemClock().Now()));
  line.Key("level").String(LevelName(level));
  line.Key("msg").String(message);
  for (const Field& field : fields) line.Key(field.key).Json(field.value);
  line.EndObject();
  std::shared_ptr<spdlog::logger> logger;
  {
    std::lock_guard lock(g_logger_mu);
    logger = Logger();
  }
  logger->info(line.str());
}

}  // namespace writ::log
