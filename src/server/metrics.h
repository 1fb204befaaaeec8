// Metrics for writd's own measurements, rendered in the Prometheus text exposition format
// (version 0.0.4) at GET /metrics (docs/metrics.md).
//
// Counter and Histogram are lock-free on the hot path: each update is a relaxed atomic add on a
// shard picked by the calling thread, so I/O threads never contend on one cache line; reading
// sums the shards (a reader may see an update to the count before the matching update to the
// sum: the figures are for monitoring, not accounting).
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace writ::server {

inline constexpr size_t kMetricShards = 16;

class Counter {
 public:
  void Add(uint64_t amount = 1);
  uint64_t Value() const;

 private:
  struct alignas(64) Shard {
    std::atomic<uint64_t> value{0};
  };
  std::array<Shard, kMetricShards> shards_{};
};

class Histogram {
 public:
  // `bounds`: upper bounds of the buckets, strictly increasing (the +Inf bucket is implicit).
  explicit Histogram(std::vector<std::chrono::nanoseconds> bounds);
  // Bounds from 1 µs to 10 s, finer around the microseconds a decision takes.
  static Histogram ForLatency();

  void Observe(std::chrono::nanoseconds duration);

  struct Snapshot {
    std::vector<std::chrono::nanoseconds> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    uint64_t count = 0;
    std::chrono::nanoseconds sum{0};
    // The q-quantile (0 < q < 1), interpolated linearly inside its bucket; 0 when empty; the
    // last bound when it falls in +Inf.
    std::chrono::nanoseconds Quantile(double q) const;
  };
  Snapshot Read() const;

 private:
  // Shard s occupies cells [base_ + s * stride_, ... + stride_): a count per bound, the +Inf
  // count, then the sum in nanoseconds; stride_ is a whole number of cache lines.
  std::atomic<uint64_t>* Cells(size_t shard) const { return cells_.get() + base_ + shard * stride_; }
  std::vector<std::chrono::nanoseconds> bounds_;
  size_t stride_ = 0;
  size_t base_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> cells_;
};

// Appends metrics to a Prometheus text exposition. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*;
// label values are escaped here.
class PrometheusText {
 public:
  // `# HELP` and `# TYPE` lines for the metric `name` (type "counter", "gauge" or "histogram").
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample; `labels` is a list of (name, value) pairs.
  void Sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              double value);
  // A whole histogram family in seconds: name_bucket{le=...}, name_sum, name_count.
  void HistogramSeconds(std::string_view name, std::string_view help, const Histogram::Snapshot& snapshot);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// What writd measures of its decision path.
struct DecisionMetrics {
  // Recorded decisions by outcome (the ledger event's decision).
  Counter allow;
  Counter deny;
  Counter approval_required;
  // Decisions answered deny (or 503 for a search) because the ledger refused them.
  Counter record_failures;
  // Per AuthZEN request: authentication, body parse, evaluation, ledger enqueue and the answer's
  // JSON; not the wait for the ledger's durable acknowledgement.
  Histogram decision = Histogram::ForLatency();
  // From handing a decision to the ledger to its acknowledgement (durable in strict mode, queued
  // in batched mode).
  Histogram ledger_append = Histogram::ForLatency();

  // The exposition of every metric above.
  std::string RenderPrometheus() const;
};

}  // namespace writ::server
