#include "common/log.h"

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::log {
namespace {

using namespace std::chrono_literals;

// The line as writ wrote it before the direct formatter: a json::Writer over json::Value fields.
std::string LineThroughJsonWriter(std::string_view level_name, std::string_view message,
                                  const std::vector<std::pair<std::string, json::Value>>& fields, TimePoint time) {
  json::Writer line;
  line.BeginObject();
  line.Key("time").String(FormatRfc3339(time));
  line.Key("level").String(level_name);
  line.Key("msg").String(message);
  for (const auto& [key, value] : fields) line.Key(key).Json(value);
  line.EndObject();
  return line.Take();
}

TEST(LogTest, LinesKeepEveryFieldAsTheJsonWriterWroteThem) {
  const std::string temporary_source = "a std::string, \"quoted\"\n\twith controls \x01 and bad UTF-8 \xff";
  json::Value object = json::Object{{"nested", json::Array{1, "two", nullptr, true}}};
  const char* no_text = nullptr;
  const std::vector<std::pair<std::string, json::Value>> expected_fields = {
      {"method", "POST"},
      {"path", std::string_view(temporary_source)},
      {"status", 200},
      {"duration_us", int64_t{-42}},
      {"big", uint64_t{18446744073709551615ULL}},
      {"size", int64_t{1} << 40},
      {"ok", false},
      {"uid", json::Value()},
      {"ratio", 0.25},
      {"structured", object},
      {"none", json::Value()},
      {"é \"key\"", "ü"},
  };
  // Instants on both sides of second and day boundaries, and one per-thread date cache hit.
  const TimePoint base = FromUnixMillis(1795000000000);
  for (const TimePoint time : {base, base + 999ms, base + 1000ms, base + 1001ms, FromUnixMillis(0),
                               FromUnixMillis(86399999), FromUnixMillis(86400000), base + 24h + 7ms}) {
    const std::string line = FormatLine(Level::kInfo, "request \"x\"", {{"method", "POST"},
                                                                        {"path", std::string(temporary_source)},
                                                                        {"status", 200},
                                                                        {"duration_us", int64_t{-42}},
                                                                        {"big", uint64_t{18446744073709551615ULL}},
                                                                        {"size", size_t{1} << 40},
                                                                        {"ok", false},
                                                                        {"uid", json::Value()},
                                                                        {"ratio", 0.25},
                                                                        {"structured", object},
                                                                        {"none", no_text},
                                                                        {"é \"key\"", std::string_view("ü")}},
                                        time);
    EXPECT_EQ(line, LineThroughJsonWriter("info", "request \"x\"", expected_fields, time));
    EXPECT_THAT(json::Parse(line), IsOk());
  }
  EXPECT_EQ(FormatLine(Level::kError, "m", {}, base), LineThroughJsonWriter("error", "m", {}, base));
  EXPECT_EQ(FormatLine(Level::kWarn, "m", {{"n", 7u}}, base), LineThroughJsonWriter("warn", "m", {{"n", 7}}, base));
}

// Each line is written whole, once, even when threads log long lines at the same time; lines under
// the level are dropped.
TEST(LogTest, ConcurrentLinesNeverInterleaveInTheFile) {
  TempDir dir;
  const std::string path = dir.file("writd.log");
  ASSERT_THAT(LogToFile(path), IsOk());
  SetLevel(Level::kInfo);
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  std::vector<std::thread> threads;
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([thread] {
      const std::string filler(10000 + thread, static_cast<char>('a' + thread));  // over PIPE_BUF
      for (int index = 0; index < kLines; ++index) {
        Info("line", {{"thread", thread}, {"index", index}, {"filler", filler}});
        Debug("dropped", {{"thread", thread}});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::ifstream file(path);
  std::string text;
  int lines = 0;
  std::vector<int> next(kThreads, 0);
  while (std::getline(file, text)) {
    auto parsed = json::Parse(text);
    ASSERT_THAT(parsed, IsOk()) << text.substr(0, 200);
    ASSERT_EQ(parsed->Find("msg")->as_string(), "line");
    const int64_t thread = parsed->Find("thread")->as_int();
    EXPECT_EQ(parsed->Find("index")->as_int(), next[thread]++);  // in order per thread
    EXPECT_EQ(parsed->Find("filler")->as_string(), std::string(10000 + thread, static_cast<char>('a' + thread)));
    ++lines;
  }
  EXPECT_EQ(lines, kThreads * kLines);
}

// A line written by a thread_local object's destructor, after the logger's own per-thread buffer is
// gone (destruction runs in reverse order of construction), is still written whole.
TEST(LogTest, LinesFromThreadExitDestructorsAreWritten) {
  TempDir dir;
  const std::string path = dir.file("exit.log");
  ASSERT_THAT(LogToFile(path), IsOk());
  std::thread([] {
    struct LogsOnExit {
      ~LogsOnExit() { Info("from a destructor", {{"late", true}}); }
    };
    thread_local LogsOnExit logs_on_exit;  // constructed before the logger's buffer...
    (void)&logs_on_exit;
    Info("first line");  // ...which this first line constructs, so it is destroyed first
  }).join();
  std::ifstream file(path);
  std::string first, second;
  ASSERT_TRUE(std::getline(file, first));
  ASSERT_TRUE(std::getline(file, second));
  EXPECT_EQ(json::Parse(first)->Find("msg")->as_string(), "first line");
  EXPECT_EQ(json::Parse(second)->Find("msg")->as_string(), "from a destructor");
  EXPECT_TRUE(json::Parse(second)->Find("late")->as_bool());
}

TEST(LogTest, UnopenableFileIsAnError) {
  EXPECT_THAT(LogToFile("/nonexistent-dir/writd.log"), FailsWith(Code::kUnavailable, ::testing::HasSubstr("cannot open log file")));
}

}  // namespace
}  // namespace writ::log
