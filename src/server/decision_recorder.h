// DecisionRecorder: the authz::Recorder of writd. It lets an asynchronous AuthZEN handler evaluate
// on an I/O thread, queue its decisions in the ledger, and answer once they are durable without
// holding the thread through the fsync:
//
//   DecisionRecorder::Deferral deferral(recorder);  // this thread's decisions are now deferred
//   json::Value answer = authzen.Evaluation(...);    // Engine::Decide -> Record: queued, not awaited
//   deferral.Then([respond, answer](Status recorded) { respond(recorded ? answer : deny); });
//
// Only decision events with an outcome, recorded on the thread that owns a live Deferral before
// its Then, are deferred, and only when an asynchronous append is configured (strict durability).
// Everything else — policy changes, approvals, a search's record, other callers' decisions — is
// recorded synchronously, as before.
// The Deferral's owner must turn every answer into a deny when Then reports a failure: no action
// without a record (DESIGN.md).
#pragma once
#include <functional>
#include <memory>

#include "authz/engine.h"
#include "common/result.h"
#include "ledger/event.h"
#include "server/metrics.h"

namespace writ::server {

class DecisionRecorder final : public authz::Recorder {
 public:
  // Returns once the event is recorded (queued in batched mode). Errors: any; nothing recorded.
  using Append = std::function<Status(ledger::Event event)>;
  // Queues the event and calls `done` once, from any thread, when it is durable or refused.
  using AppendAsync = std::function<void(ledger::Event event, std::function<void(Status)> done)>;

  // `append` is required; `append_async` may be empty (then nothing is deferred). `metrics`
  // (borrowed, may be null) counts decisions by outcome and times the appends.
  DecisionRecorder(Append append, AppendAsync append_async, DecisionMetrics* metrics);

  Status Record(ledger::Event event) override;

  // True when decisions can be deferred (an asynchronous append is configured). When false, a
  // Deferral changes nothing: every decision is recorded before Record returns.
  bool defers() const { return static_cast<bool>(append_async_); }

  // Defers the decisions this thread records while the Deferral lives (Deferrals nest: the
  // innermost collects). Not movable; destroy it on the thread that made it.
  class Deferral {
   public:
    explicit Deferral(DecisionRecorder& recorder);
    ~Deferral();
    Deferral(const Deferral&) = delete;
    Deferral& operator=(const Deferral&) = delete;

    // Stops deferring and calls `done` once every decision deferred so far is acknowledged: with
    // Ok when all are recorded, else the first error. Runs at once (on this thread) when nothing
    // is outstanding, else on the thread of the last acknowledgement (the ledger's writer: keep it
    // short). Call at most once; without a call, the acknowledgements are ignored.
    void Then(std::function<void(Status)> done);

   private:
    friend class DecisionRecorder;
    struct Pending;
    DecisionRecorder& recorder_;
    std::shared_ptr<Pending> pending_;
    Deferral* outer_;
    bool open_ = true;  // until Then
  };

 private:
  void Count(const ledger::Event& event) const;

  Append append_;
  AppendAsync append_async_;
  DecisionMetrics* metrics_;
};

}  // namespace writ::server
