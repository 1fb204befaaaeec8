#include "server/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace writ::server {
namespace {

constexpr size_t kCellsPerLine = 64 / sizeof(std::atomic<uint64_t>);

// The calling thread's shard: threads take shards round-robin on first use.
size_t ThisThreadShard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kMetricShards;
  return shard;
}

// Prometheus floats: integers without a fraction, others in the shortest form that round-trips.
std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

std::string EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

double Seconds(std::chrono::nanoseconds duration) { return static_cast<double>(duration.count()) / 1e9; }

}  // namespace

void Counter::Add(uint64_t amount) { shards_[ThisThreadShard()].value.fetch_add(amount, std::memory_order_relaxed); }

uint64_t Counter::Value() const {
  uint64_t total = 0;
  for (const Shard& shard : shards_) total += shard.value.load(std::memory_order_relaxed);
  return total;
}

Histogram::Histogram(std::vector<std::chrono::nanoseconds> bounds) : bounds_(std::move(bounds)) {
  const size_t cells = bounds_.size() + 2;  // + Inf, sum
  stride_ = (cells + kCellsPerLine - 1) / kCellsPerLine * kCellsPerLine;
  cells_ = std::make_unique<std::atomic<uint64_t>[]>(stride_ * kMetricShards + kCellsPerLine);
  // Start the first shard on a cache line boundary.
  const auto address = reinterpret_cast<uintptr_t>(cells_.get());
  base_ = ((64 - address % 64) % 64) / sizeof(std::atomic<uint64_t>);
}

Histogram Histogram::ForLatency() {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  return Histogram({microseconds(1), microseconds(2), microseconds(3), microseconds(5), microseconds(7),
                    microseconds(10), microseconds(15), microseconds(20), microseconds(30), microseconds(50),
                    microseconds(75), microseconds(100), microseconds(200), microseconds(500), milliseconds(1),
                    milliseconds(2), milliseconds(5), milliseconds(10), milliseconds(20), milliseconds(50),
                    milliseconds(100), milliseconds(250), milliseconds(500), milliseconds(1000),
                    milliseconds(2500), milliseconds(10000)});
}

void Histogram::Observe(std::chrono::nanoseconds duration) {
  const size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), duration) - bounds_.begin());
  std::atomic<uint64_t>* cells = Cells(ThisThreadShard());
  cells[bucket].fetch_add(1, std::memory_order_relaxed);
  cells[bounds_.size() + 1].fetch_add(static_cast<uint64_t>(std::max<int64_t>(duration.count(), 0)),
                                      std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative.assign(bounds_.size() + 1, 0);
  uint64_t sum = 0;
  for (size_t shard = 0; shard < kMetricShards; ++shard) {
    const std::atomic<uint64_t>* cells = Cells(shard);
    for (size_t bucket = 0; bucket <= bounds_.size(); ++bucket) {
      snapshot.cumulative[bucket] += cells[bucket].load(std::memory_order_relaxed);
    }
    sum += cells[bounds_.size() + 1].load(std::memory_order_relaxed);
  }
  for (size_t bucket = 1; bucket < snapshot.cumulative.size(); ++bucket) {
    snapshot.cumulative[bucket] += snapshot.cumulative[bucket - 1];
  }
  snapshot.count = snapshot.cumulative.back();
  snapshot.sum = std::chrono::nanoseconds(static_cast<int64_t>(sum));
  return snapshot;
}

std::chrono::nanoseconds Histogram::Snapshot::Quantile(double q) const {
  if (count == 0) return std::chrono::nanoseconds(0);
  const double rank = q * static_cast<double>(count);
  for (size_t bucket = 0; bucket < bounds.size(); ++bucket) {
    if (static_cast<double>(cumulative[bucket]) < rank) continue;
    const uint64_t below = bucket == 0 ? 0 : cumulative[bucket - 1];
    const double lower = bucket == 0 ? 0.0 : static_cast<double>(bounds[bucket - 1].count());
    const double upper = static_cast<double>(bounds[bucket].count());
    const double in_bucket = static_cast<double>(cumulative[bucket] - below);
    const double fraction = in_bucket > 0 ? (rank - static_cast<double>(below)) / in_bucket : 1.0;
    return std::chrono::nanoseconds(static_cast<int64_t>(lower + (upper - lower) * fraction));
  }
  return bounds.empty() ? std::chrono::nanoseconds(0) : bounds.back();
}

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusText::Sample(std::string_view name,
                            std::initializer_list<std::pair<std::string_view, std::string_view>> labels, double value) {
  text_ += name;
  if (labels.size() > 0) {
    text_ += '{';
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!first) text_ += ',';
      first = false;
      fmt::format_to(std::back_inserter(text_), "{}=\"{}\"", label, EscapeLabel(label_value));
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += FormatValue(value);
  text_ += '\n';
}

void PrometheusText::HistogramSeconds(std::string_view name, std::string_view help, const Histogram::Snapshot& snapshot) {
  Family(name, "histogram", help);
  const std::string bucket = fmt::format("{}_bucket", name);
  for (size_t index = 0; index < snapshot.bounds.size(); ++index) {
    Sample(bucket, {{"le", FormatValue(Seconds(snapshot.bounds[index]))}}, static_cast<double>(snapshot.cumulative[index]));
  }
  Sample(bucket, {{"le", "+Inf"}}, static_cast<double>(snapshot.count));
  Sample(fmt::format("{}_sum", name), {}, Seconds(snapshot.sum));
  Sample(fmt::format("{}_count", name), {}, static_cast<double>(snapshot.count));
}

std::string DecisionMetrics::RenderPrometheus() const {
  PrometheusText out;
  out.Family("writ_decisions_total", "counter", "Authorization decisions handed to the ledger, by outcome.");
  out.Sample("writ_decisions_total", {{"outcome", "allow"}}, static_cast<double>(allow.Value()));
  out.Sample("writ_decisions_total", {{"outcome", "deny"}}, static_cast<double>(deny.Value()));
  out.Sample("writ_decisions_total", {{"outcome", "approval_required"}}, static_cast<double>(approval_required.Value()));
  out.Family("writ_decision_record_failures_total", "counter",
             "Decisions answered deny because the ledger did not record them.");
  out.Sample("writ_decision_record_failures_total", {}, static_cast<double>(record_failures.Value()));
  out.HistogramSeconds("writ_decision_duration_seconds",
                       "Time per AuthZEN request in writd: parse, evaluate, ledger enqueue, answer (not the fsync wait).",
                       decision.Read());
  out.HistogramSeconds("writ_ledger_append_duration_seconds",
                       "From handing a decision to the ledger to its acknowledgement (durable when strict).",
                       ledger_append.Read());
  return out.text();
}

}  // namespace writ::server
