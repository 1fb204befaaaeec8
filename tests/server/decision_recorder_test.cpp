// DecisionRecorder: which events are deferred, how a Deferral reports their acknowledgements, and
// the decision metrics it keeps. The ledger is faked through the two append functions (a real
// strict ledger is in authzen_async_test.cpp).
#include "server/decision_recorder.h"

#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::server {
namespace {

using ::testing::HasSubstr;

ledger::Event Decision(ledger::Decision outcome) {
  ledger::Event event;
  event.kind = ledger::EventKind::kDecision;
  event.decision = outcome;
  return event;
}

class DecisionRecorderTest : public ::testing::Test {
 protected:
  DecisionRecorder MakeRecorder(bool asynchronous) {
    DecisionRecorder::AppendAsync append_async;
    if (asynchronous) {
      append_async = [this](ledger::Event event, std::function<void(Status)> done) {
        queued_.push_back(std::move(event));
        acks_.push_back(std::move(done));
      };
    }
    return DecisionRecorder(
        [this](ledger::Event event) -> Status {
          if (!sync_status_) return sync_status_;
          appended_.push_back(std::move(event));
          return Ok();
        },
        std::move(append_async), &metrics_);
  }

  DecisionMetrics metrics_;
  Status sync_status_ = Ok();
  std::vector<ledger::Event> appended_;           // synchronous appends
  std::vector<ledger::Event> queued_;             // asynchronous appends ...
  std::vector<std::function<void(Status)>> acks_;  // ... and their acknowledgements
};

TEST_F(DecisionRecorderTest, DefersOnlyWithAnAsynchronousAppend) {
  EXPECT_TRUE(MakeRecorder(true).defers());
  DecisionRecorder batched = MakeRecorder(false);
  EXPECT_FALSE(batched.defers());
  {
    DecisionRecorder::Deferral deferral(batched);  // changes nothing: recorded at once
    EXPECT_THAT(batched.Record(Decision(ledger::Decision::kDeny)), IsOk());
    EXPECT_EQ(appended_.size(), 1u);
  }
  EXPECT_TRUE(queued_.empty());
}

TEST_F(DecisionRecorderTest, WithoutADeferralEverythingIsSynchronous) {
  DecisionRecorder recorder = MakeRecorder(true);
  EXPECT_THAT(recorder.Record(Decision(ledger::Decision::kAllow)), IsOk());
  EXPECT_EQ(appended_.size(), 1u);
  EXPECT_TRUE(queued_.empty());
  sync_status_ = Fail(Code::kUnavailable, "disk full");
  EXPECT_THAT(recorder.Record(Decision(ledger::Decision::kAllow)), FailsWith(Code::kUnavailable, HasSubstr("disk full")));
  EXPECT_EQ(metrics_.record_failures.Value(), 1u);
  EXPECT_EQ(metrics_.allow.Value(), 2u);
}

TEST_F(DecisionRecorderTest, DeferralQueuesDecisionsAndReportsWhenAllAreDurable) {
  DecisionRecorder recorder = MakeRecorder(true);
  std::optional<Status> result;
  {
    DecisionRecorder::Deferral deferral(recorder);
    EXPECT_THAT(recorder.Record(Decision(ledger::Decision::kAllow)), IsOk());
    EXPECT_THAT(recorder.Record(Decision(ledger::Decision::kDeny)), IsOk());
    // Not decisions of a request: recorded at once, as before.
    ledger::Event policy;
    policy.kind = ledger::EventKind::kPolicyChanged;
    EXPECT_THAT(recorder.Record(policy), IsOk());
    EXPECT_THAT(recorder.Record(Decision(ledger::Decision::kNone)), IsOk());  // a search's record
    deferral.Then([&](Status recorded) { result = std::move(recorded); });
    // After Then, nothing more is deferred.
    EXPECT_THAT(recorder.Record(Decision(ledger::Decision::kAllow)), IsOk());
  }
  EXPECT_EQ(queued_.size(), 2u);
  EXPECT_EQ(appended_.size(), 3u);
  EXPECT_FALSE(result.has_value());
  acks_[1](Ok());
  EXPECT_FALSE(result.has_value());
  std::thread([&] { acks_[0](Ok()); }).join();
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(*result, IsOk());
  EXPECT_EQ(metrics_.allow.Value(), 2u);
  EXPECT_EQ(metrics_.deny.Value(), 1u);
  EXPECT_EQ(metrics_.ledger_append.Read().count, 4u);  // decisions and the search's record, not the policy event
}

TEST_F(DecisionRecorderTest, OneRefusedDecisionFailsTheWholeDeferral) {
  DecisionRecorder recorder = MakeRecorder(true);
  std::optional<Status> result;
  {
    DecisionRecorder::Deferral deferral(recorder);
    for (int i = 0; i < 3; ++i) ASSERT_THAT(recorder.Record(Decision(ledger::Decision::kAllow)), IsOk());
    deferral.Then([&](Status recorded) { result = std::move(recorded); });
  }
  acks_[0](Ok());
  acks_[1](Fail(Code::kUnavailable, "ledger cannot write: disk full"));
  acks_[2](Fail(Code::kUnavailable, "ledger cannot write: later"));
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(*result, FailsWith(Code::kUnavailable, HasSubstr("disk full")));
  EXPECT_EQ(metrics_.record_failures.Value(), 2u);
}

TEST_F(DecisionRecorderTest, ThenRunsAtOnceWhenNothingIsOutstanding) {
  DecisionRecorder recorder = MakeRecorder(true);
  bool ran = false;
  {
    DecisionRecorder::Deferral deferral(recorder);
    deferral.Then([&](const Status& recorded) { ran = recorded.has_value(); });
  }
  EXPECT_TRUE(ran);
  // An append refused at once (the ledger calls back before returning) is reported too.
  DecisionRecorder refusing(
      [](ledger::Event) -> Status { return Ok(); },
      [](ledger::Event, const std::function<void(Status)>& done) { done(Fail(Code::kUnavailable, "closing")); },
      nullptr);
  std::optional<Status> result;
  {
    DecisionRecorder::Deferral deferral(refusing);
    ASSERT_THAT(refusing.Record(Decision(ledger::Decision::kAllow)), IsOk());
    deferral.Then([&](Status recorded) { result = std::move(recorded); });
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(*result, FailsWith(Code::kUnavailable));
}

TEST_F(DecisionRecorderTest, BatchedDurabilityNeverDefers) {
  DecisionRecorder recorder = MakeRecorder(false);
  DecisionRecorder::Deferral deferral(recorder);
  EXPECT_THAT(recorder.Record(Decision(ledger::Decision::kAllow)), IsOk());
  EXPECT_EQ(appended_.size(), 1u);
  bool ran = false;
  deferral.Then([&](const Status&) { ran = true; });
  EXPECT_TRUE(ran);
}

TEST_F(DecisionRecorderTest, DeferralsNestAndBelongToOneRecorderAndThread) {
  DecisionRecorder recorder = MakeRecorder(true);
  DecisionRecorder other = MakeRecorder(true);
  DecisionRecorder::Deferral outer(recorder);
  {
    DecisionRecorder::Deferral inner(recorder);
    ASSERT_THAT(recorder.Record(Decision(ledger::Decision::kAllow)), IsOk());
    inner.Then([](const Status&) {});
  }
  EXPECT_EQ(queued_.size(), 1u);
  ASSERT_THAT(recorder.Record(Decision(ledger::Decision::kAllow)), IsOk());  // the outer one again
  EXPECT_EQ(queued_.size(), 2u);
  ASSERT_THAT(other.Record(Decision(ledger::Decision::kAllow)), IsOk());  // another recorder: not deferred
  EXPECT_EQ(appended_.size(), 1u);
  std::thread([&] { ASSERT_THAT(recorder.Record(Decision(ledger::Decision::kDeny)), IsOk()); }).join();
  EXPECT_EQ(appended_.size(), 2u);  // another thread: not deferred
  outer.Then([](const Status&) {});
}

}  // namespace
}  // namespace writ::server
