#include "server/decision_recorder.h"

#include <atomic>
#include <chrono>
#include <mutex>

namespace writ::server {

// What a Deferral waits for: `outstanding` counts deferred appends plus one for Then itself.
struct DecisionRecorder::Deferral::Pending {
  std::atomic<int64_t> outstanding{1};
  std::mutex mu;
  Status first_failure = Ok();           // guarded by mu
  std::function<void(Status)> done;      // set by Then before its own decrement

  void Acknowledge(Status recorded) {
    if (!recorded) {
      std::lock_guard lock(mu);
      if (first_failure) first_failure = std::move(recorded);
    }
    if (outstanding.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    Status result = Ok();
    {
      std::lock_guard lock(mu);
      result = first_failure;
    }
    if (done) done(std::move(result));
  }
};

namespace {
thread_local DecisionRecorder::Deferral* t_deferral = nullptr;  // the innermost on this thread
}  // namespace

DecisionRecorder::Deferral::Deferral(DecisionRecorder& recorder)
    : recorder_(recorder), pending_(std::make_shared<Pending>()), outer_(t_deferral) {
  t_deferral = this;
}

DecisionRecorder::Deferral::~Deferral() {
  // Deferrals nest strictly (they live on the stack): this one is the innermost.
  t_deferral = outer_;
}

void DecisionRecorder::Deferral::Then(std::function<void(Status)> done) {
  open_ = false;
  pending_->done = std::move(done);
  pending_->Acknowledge(Ok());
}

DecisionRecorder::DecisionRecorder(Append append, AppendAsync append_async, DecisionMetrics* metrics)
    : append_(std::move(append)), append_async_(std::move(append_async)), metrics_(metrics) {}

void DecisionRecorder::Count(const ledger::Event& event) const {
  if (metrics_ == nullptr || event.kind != ledger::EventKind::kDecision) return;
  switch (event.decision) {
    case ledger::Decision::kAllow: metrics_->allow.Add(); break;
    case ledger::Decision::kDeny: metrics_->deny.Add(); break;
    case ledger::Decision::kApprovalRequired: metrics_->approval_required.Add(); break;
    case ledger::Decision::kNone: break;  // a search: recorded, but not one decision
  }
}

Status DecisionRecorder::Record(ledger::Event event) {
  Count(event);
  const auto started = std::chrono::steady_clock::now();
  DecisionMetrics* metrics = metrics_;
  const auto observe = [metrics, started](const Status& recorded) {
    if (metrics == nullptr) return;
    metrics->ledger_append.Observe(std::chrono::steady_clock::now() - started);
    if (!recorded) metrics->record_failures.Add();
  };
  Deferral* deferral = t_deferral;
  if (deferral == nullptr || &deferral->recorder_ != this || !deferral->open_ || !append_async_ ||
      event.kind != ledger::EventKind::kDecision || event.decision == ledger::Decision::kNone) {
    Status recorded = append_(std::move(event));
    observe(recorded);
    return recorded;
  }
  deferral->pending_->outstanding.fetch_add(1, std::memory_order_relaxed);
  append_async_(std::move(event), [observe, pending = deferral->pending_](Status recorded) {
    observe(recorded);
    pending->Acknowledge(std::move(recorded));
  });
  return Ok();
}

}  // namespace writ::server
