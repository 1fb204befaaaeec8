#include "common/clock.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"
#include "testing/matchers.h"

namespace writ {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(ClockTest, Rfc3339RoundTripsWithMilliseconds) {
  const TimePoint time = FromUnixMillis(1'795'831'250'123);
  const std::string text = FormatRfc3339(time);
  EXPECT_EQ(text, "2026-11-28T02:00:50.123Z");
  EXPECT_EQ(ParseRfc3339(text).value(), time);
}

TEST(ClockTest, Rfc3339AppliesOffsets) {
  EXPECT_EQ(ParseRfc3339("2026-11-22T03:00:00+01:00").value(), ParseRfc3339("2026-11-22T02:00:00Z").value());
  EXPECT_EQ(ToUnixMillis(ParseRfc3339("1970-01-01T00:00:00.5Z").value()), 500);
}

TEST(ClockTest, Rfc3339RejectsMalformedText) {
  for (const char* text : {"", "2026-11-22", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                           "2026-11-22T25:00:00Z", "2026-11-22T00:00:00", "2026-11-22T00:00:00Zjunk",
                           "2026-11-22T00:00:00.Z"}) {
    EXPECT_THAT(ParseRfc3339(text), FailsWith(Code::kInvalidArgument)) << text;
  }
}

TEST(ClockTest, DurationsParseAndFormat) {
  EXPECT_EQ(ParseDuration("5m").value(), milliseconds(300'000));
  EXPECT_EQ(ParseDuration("1h30m").value(), milliseconds(5'400'000));
  EXPECT_EQ(ParseDuration("250ms").value(), milliseconds(250));
  EXPECT_EQ(ParseDuration("7d").value(), milliseconds(604'800'000));
  EXPECT_EQ(FormatDuration(milliseconds(5'400'000)), "1h30m");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(1'250)), "1s250ms");
}

TEST(ClockTest, DurationsRejectBadText) {
  EXPECT_THAT(ParseDuration(""), FailsWith(Code::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ParseDuration("5"), FailsWith(Code::kInvalidArgument, HasSubstr("missing unit")));
  EXPECT_THAT(ParseDuration("5y"), FailsWith(Code::kInvalidArgument, HasSubstr("unknown unit")));
  EXPECT_THAT(ParseDuration("-5m"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ParseDuration("99999999999999999d"), FailsWith(Code::kInvalidArgument));
}

TEST(ClockTest, FakeClockMovesOnlyWhenAdvanced) {
  FakeClock clock;
  const TimePoint start = clock.Now();
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(std::chrono::minutes(6));
  EXPECT_EQ(clock.Now() - start, std::chrono::minutes(6));
}

}  // namespace
}  // namespace writ
