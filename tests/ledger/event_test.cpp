#include "ledger/event.h"

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::ledger {
namespace {

TEST(EventTest, KindNamesRoundTripAndAreStable) {
  EXPECT_EQ(EventKindName(EventKind::kDecision), "decision");
  EXPECT_EQ(static_cast<int>(EventKind::kDecision), 1);
  EXPECT_EQ(static_cast<int>(EventKind::kReasoningTrace), 11);
  for (int value = 1; value <= 13; ++value) {
    auto kind = static_cast<EventKind>(value);
    EXPECT_EQ(ParseEventKind(EventKindName(kind)).value(), kind);
  }
  EXPECT_THAT(ParseEventKind("nope"), FailsWith(Code::kInvalidArgument));
}

TEST(EventTest, EncodeDecodeRoundTrip) {
  Event event;
  event.id = "0193a000-0000-7000-8000-000000000001";
  event.time = FromUnixMillis(1'700'000'000'123);
  event.kind = EventKind::kDecision;
  event.actor = "a";
  event.subject = "s \"quoted\"";
  event.action = "act";
  event.resource = "res";
  event.decision = Decision::kApprovalRequired;
  event.policy_ids = {"p1", "p2"};
  event.policy_set_version = "v9";
  event.correlation_id = "c";
  event.trace_id = "t";
  event.details.Set("x", 1);
  auto body = EncodeEventBody(event, {});
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(body->rfind("{\"v\":1,\"id\":\"0193a000-0000-7000-8000-000000000001\",\"time\":1700000000123,\"kind\":\"decision\"", 0), 0u);
  std::string leaf = EncodeLeaf(*body, 5, std::string(32, '\x01'));
  auto decoded = DecodeLeaf(leaf);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(decoded->seq, 5u);
  EXPECT_EQ(decoded->prev, std::string(32, '\x01'));
  EXPECT_EQ(decoded->event.subject, event.subject);
  EXPECT_EQ(decoded->event.decision, Decision::kApprovalRequired);
  EXPECT_EQ(decoded->event.policy_ids, event.policy_ids);
  EXPECT_EQ(decoded->event.time, event.time);
  EXPECT_EQ(decoded->event.details, event.details);
  // Deterministic: the same event always encodes to the same bytes.
  EXPECT_EQ(EncodeEventBody(event, {}).value(), *body);
}

TEST(EventTest, SecretsAreFingerprinted) {
  Event event;
  event.id = "x";
  event.details.Set("Password", "hunter2");
  event.secrets.emplace_back("api", "sk-123");
  auto body = EncodeEventBody(event, {.hmac_key = "key"}).value();
  EXPECT_EQ(body.find("hunter2"), std::string::npos);
  EXPECT_EQ(body.find("sk-123"), std::string::npos);
  EXPECT_NE(body.find(SecretFingerprint("key", "sk-123")), std::string::npos);
  auto unkeyed = EncodeEventBody(event, {}).value();
  EXPECT_NE(unkeyed.find("\"redacted\""), std::string::npos);
}

TEST(EventTest, DecodeRejectsGarbage) {
  EXPECT_THAT(DecodeLeaf("{"), FailsWith(Code::kDataLoss));
  EXPECT_THAT(DecodeLeaf("{\"v\":2}"), FailsWith(Code::kDataLoss));
  EXPECT_THAT(DecodeLeaf("[]"), FailsWith(Code::kDataLoss));
}

}  // namespace
}  // namespace writ::ledger
