#include "approvals/approvals.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../authz/authz_test_util.h"
#include "testing/matchers.h"

namespace writ::approvals {
namespace {

using ::testing::HasSubstr;
using authz::testing::World;

constexpr std::string_view kPolicies = R"(
@id("delete-needs-approval") @approval("required") @approvers("Writ::Group::\"sre\"")
permit (principal is Writ::Agent, action == Writ::Action::"mcp:call", resource == Writ::Tool::"github/delete_repo");
@id("humans-decide") permit (principal is Writ::Human, action in [Writ::Action::"approval:grant", Writ::Action::"approval:deny"], resource is Writ::Approval);
)";

class ApprovalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_.AddGroup("sre");
    world_.AddHuman("alice", {"sre"});
    world_.AddHuman("mallory");
    world_.AddAgent("triage-bot", "alice");
    world_.Activate(std::string(kPolicies));
    approvals_ = Approvals::Create({.clock = &world_.clock}, world_.store->policies(), *world_.engine).value();
  }

  authz::DecisionRequest Request(std::string repo = "writ") {
    authz::DecisionRequest request;
    request.principal = {"Writ::Agent", "triage-bot"};
    request.action = {"Writ::Action", "mcp:call"};
    request.resource = {"Writ::Tool", "github/delete_repo"};
    request.context = json::Object{{"repo", repo}};
    return request;
  }

  // Runs the request through the engine and the gate, as the AuthZEN layer does.
  Result<authz::ApprovalAnswer> Ask(const authz::DecisionRequest& request) {
    const authz::DecisionResult result = world_.engine->Decide(request);
    EXPECT_EQ(result.outcome, authz::Outcome::kApprovalRequired);
    return approvals_->Resolve(request, result);
  }

  std::string PendingId(const authz::DecisionRequest& request) {
    auto answer = Ask(request);
    EXPECT_THAT(answer, IsOk());
    EXPECT_FALSE(answer->allowed);
    return answer->ticket.Find("id")->as_string();
  }

  World world_;
  std::unique_ptr<Approvals> approvals_;
};

TEST_F(ApprovalsTest, GrantAllowsTheNextMatchingRequestOnce) {
  const std::string id = PendingId(Request());
  EXPECT_EQ(PendingId(Request()), id);  // the same request is not duplicated
  ASSERT_THAT(approvals_->Grant(id, "alice", std::chrono::milliseconds(0), "ok"), IsOk());
  auto first = Ask(Request());
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(first->allowed);
  EXPECT_EQ(approvals_->Get(id)->state, State::kUsed);
  EXPECT_NE(PendingId(Request()), id);  // used: a new request is needed
}

TEST_F(ApprovalsTest, GrantIsBoundToTheContextHash) {
  const std::string id = PendingId(Request("writ"));
  ASSERT_THAT(approvals_->Grant(id, "alice", std::chrono::milliseconds(0), ""), IsOk());
  auto other = Ask(Request("another-repo"));
  ASSERT_THAT(other, IsOk());
  EXPECT_FALSE(other->allowed);
}

TEST_F(ApprovalsTest, TimedGrantAllowsUntilItsTtlEnds) {
  const std::string id = PendingId(Request());
  ASSERT_THAT(approvals_->Grant(id, "alice", std::chrono::minutes(10), ""), IsOk());
  EXPECT_TRUE(Ask(Request())->allowed);
  EXPECT_TRUE(Ask(Request())->allowed);
  world_.clock.Advance(std::chrono::minutes(11));
  EXPECT_FALSE(Ask(Request())->allowed);
}

TEST_F(ApprovalsTest, PendingRequestsExpire) {
  const std::string id = PendingId(Request());
  world_.clock.Advance(std::chrono::minutes(16));
  EXPECT_EQ(approvals_->Get(id)->state, State::kExpired);
  EXPECT_THAT(approvals_->Grant(id, "alice", std::chrono::milliseconds(0), ""), FailsWith(Code::kFailedPrecondition));
}

TEST_F(ApprovalsTest, ApproverOutsideTheGroupOrUnknownIsRefused) {
  const std::string id = PendingId(Request());
  EXPECT_THAT(approvals_->Grant(id, "mallory", std::chrono::milliseconds(0), ""),
              FailsWith(Code::kPermissionDenied, HasSubstr("not in")));
  EXPECT_THAT(approvals_->Grant(id, "nobody", std::chrono::milliseconds(0), ""), FailsWith(Code::kPermissionDenied));
  EXPECT_EQ(approvals_->Get(id)->state, State::kPending);
}

TEST_F(ApprovalsTest, RequesterCannotApproveItself) {
  authz::DecisionRequest request = Request();
  request.principal = {"Writ::Human", "alice"};
  const authz::DecisionResult result{.outcome = authz::Outcome::kApprovalRequired, .policy_ids = {"p"}};
  auto answer = approvals_->Resolve(request, result);
  ASSERT_THAT(answer, IsOk());
  const std::string id = answer->ticket.Find("id")->as_string();
  EXPECT_THAT(approvals_->Grant(id, "alice", std::chrono::milliseconds(0), ""),
              FailsWith(Code::kPermissionDenied, HasSubstr("own approval")));
}

TEST_F(ApprovalsTest, DenyIsFinalAndRecorded) {
  const std::string id = PendingId(Request());
  ASSERT_THAT(approvals_->Deny(id, "alice", "no"), IsOk());
  EXPECT_THAT(approvals_->Grant(id, "alice", std::chrono::milliseconds(0), ""), FailsWith(Code::kFailedPrecondition));
  bool recorded = false;
  for (const auto& event : world_.recorder.events) recorded |= event.kind == ledger::EventKind::kApprovalDenied;
  EXPECT_TRUE(recorded);
}

TEST_F(ApprovalsTest, LedgerFailureLeavesTheRequestUndecided) {
  const std::string id = PendingId(Request());
  world_.recorder.fail = true;
  // Fails closed: the approver's policy check cannot be recorded, so it is a deny.
  EXPECT_FALSE(approvals_->Grant(id, "alice", std::chrono::milliseconds(0), "").has_value());
  world_.recorder.fail = false;
  EXPECT_EQ(approvals_->Get(id)->state, State::kPending);
}

TEST_F(ApprovalsTest, WaitReturnsWhenDecided) {
  const std::string id = PendingId(Request());
  std::thread approver([&]() { (void)approvals_->Grant(id, "alice", std::chrono::milliseconds(0), ""); });
  auto waited = approvals_->Wait(id, std::chrono::seconds(10));
  approver.join();
  ASSERT_THAT(waited, IsOk());
  EXPECT_EQ(waited->state, State::kGranted);
  EXPECT_THAT(approvals_->Wait("no-such-id", std::chrono::milliseconds(1)), FailsWith(Code::kNotFound));
}

TEST_F(ApprovalsTest, WaitAsyncAnswersEveryWaiterWithoutHoldingTheirThreads) {
  const std::string id = PendingId(Request());
  std::mutex mutex;
  std::vector<State> answered;
  auto record = [&](Result<Approval> approval) {
    std::lock_guard<std::mutex> lock(mutex);
    answered.push_back(approval ? approval->state : State::kExpired);
  };
  for (int n = 0; n < 5; ++n) approvals_->WaitAsync(id, std::chrono::seconds(30), record);
  approvals_->WaitAsync(id, std::chrono::milliseconds(20), record);  // times out still pending
  auto answers = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return answered.size();
  };
  for (int spin = 0; spin < 500 && answers() == 0; ++spin) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard<std::mutex> lock(mutex);
    ASSERT_EQ(answered.size(), 1u);  // WaitAsync returned at once: only the timed-out one answered
    EXPECT_EQ(answered[0], State::kPending);
  }
  ASSERT_THAT(approvals_->Grant(id, "alice", std::chrono::milliseconds(0), ""), IsOk());
  for (int spin = 0; spin < 500; ++spin) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (answered.size() == 6) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(answered.size(), 6u);
  EXPECT_EQ(std::count(answered.begin(), answered.end(), State::kGranted), 5);
}

TEST_F(ApprovalsTest, WaitAsyncIsBoundedAndAnswersUnknownIdsAndShutdown) {
  const std::string id = PendingId(Request());
  std::atomic<int> not_found{0}, unavailable{0};
  auto classify = [&](Result<Approval> approval) {
    if (approval) return;
    if (approval.error().code == Code::kNotFound) ++not_found;
    if (approval.error().code == Code::kUnavailable) ++unavailable;
  };
  for (size_t n = 0; n < Approvals::kMaxWaiters + 3; ++n) approvals_->WaitAsync(id, std::chrono::minutes(5), classify);
  EXPECT_EQ(unavailable.load(), 3);  // over the bound: refused at once, to retry later
  approvals_->WaitAsync("no-such-id", std::chrono::minutes(5), classify);
  EXPECT_EQ(not_found.load(), 1);
  approvals_.reset();  // the waits under way are answered, not dropped
  EXPECT_EQ(unavailable.load(), static_cast<int>(Approvals::kMaxWaiters) + 3);
}

TEST_F(ApprovalsTest, ApprovalsSurviveARestart) {
  const std::string id = PendingId(Request());
  auto reopened = Approvals::Create({.clock = &world_.clock}, world_.store->policies(), *world_.engine).value();
  auto found = reopened->Get(id);
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->state, State::kPending);
  EXPECT_EQ(found->principal, R"(Writ::Agent::"triage-bot")");
}

}  // namespace
}  // namespace writ::approvals
