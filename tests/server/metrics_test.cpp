// Counter and Histogram (sharded, lock-free) and the Prometheus text exposition of the decision metrics.
#include "server/metrics.h"

#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace writ::server {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(MetricsTest, CounterSumsEveryThreadsAdds) {
  Counter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) counter.Add();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), 80000u);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndInclusive) {
  Histogram histogram({10us, 100us, 1ms});
  histogram.Observe(10us);   // on the bound: in the 10 µs bucket (le = less or equal)
  histogram.Observe(11us);
  histogram.Observe(1ms);
  histogram.Observe(5s);     // +Inf
  histogram.Observe(-3ns);   // a clock that went backwards counts as 0
  const Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_EQ(snapshot.cumulative, (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(snapshot.count, 5u);
  EXPECT_EQ(snapshot.sum, 10us + 11us + 1ms + 5s);
}

TEST(MetricsTest, QuantileInterpolatesInsideTheBucket) {
  Histogram histogram({10us, 20us});
  EXPECT_EQ(histogram.Read().Quantile(0.5), 0ns);
  for (int i = 0; i < 50; ++i) histogram.Observe(5us);
  for (int i = 0; i < 50; ++i) histogram.Observe(15us);
  const auto snapshot = histogram.Read();
  EXPECT_EQ(snapshot.Quantile(0.5), 10us);
  EXPECT_EQ(snapshot.Quantile(0.75), 15us);
  histogram.Observe(1s);
  EXPECT_EQ(histogram.Read().Quantile(0.999), 20us);  // in +Inf: the last bound
}

TEST(MetricsTest, ConcurrentObservationsAreAllCounted) {
  Histogram histogram = Histogram::ForLatency();
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) histogram.Observe(std::chrono::microseconds(t * 7 + i % 40));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(histogram.Read().count, 30000u);
}

// Every line is a comment or `name{label="value",...} number`, as in the text format 0.0.4.
TEST(MetricsTest, DecisionMetricsRenderAsPrometheusText) {
  DecisionMetrics metrics;
  metrics.allow.Add(3);
  metrics.deny.Add();
  metrics.decision.Observe(4us);
  metrics.decision.Observe(12us);
  metrics.ledger_append.Observe(3ms);
  const std::string text = metrics.RenderPrometheus();
  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (\+Inf|-?[0-9.e+-]+)$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::istringstream lines(text);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(std::regex_match(line, sample) || std::regex_match(line, comment)) << line;
    samples += line[0] != '#';
  }
  EXPECT_GT(samples, 50);
  EXPECT_THAT(text, HasSubstr("# TYPE writ_decisions_total counter\n"));
  EXPECT_THAT(text, HasSubstr("writ_decisions_total{outcome=\"allow\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("writ_decisions_total{outcome=\"deny\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("writ_decisions_total{outcome=\"approval_required\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE writ_decision_duration_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("writ_decision_duration_seconds_bucket{le=\"5e-06\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("writ_decision_duration_seconds_bucket{le=\"1.5e-05\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("writ_decision_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("writ_decision_duration_seconds_count 2\n"));
  EXPECT_THAT(text, HasSubstr("writ_decision_duration_seconds_sum 1.6e-05\n"));
  EXPECT_THAT(text, HasSubstr("writ_ledger_append_duration_seconds_count 1\n"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  PrometheusText out;
  out.Sample("m", {{"path", "a\"b\\c\nd"}}, 1);
  EXPECT_EQ(out.text(), "m{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

}  // namespace
}  // namespace writ::server
