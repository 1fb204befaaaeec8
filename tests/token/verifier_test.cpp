// Issuing and verifying with the real stack: claims, TTL caps, cache, revocation persistence.
#include <gtest/gtest.h>

#include "token_fixture.h"

namespace writ::token {
namespace {

using ::testing::HasSubstr;

class VerifierTest : public TokenStackTest {};

TEST_F(VerifierTest, IssuedTokenCarriesTheAgentsClaimsAndVerifies) {
  const IssuedToken issued = IssueBot({.audience = {"writ", "github-proxy"}, .task = "triage-42", .scope = "issues:read"});
  EXPECT_EQ(issued.claims.iss, kIssuer);
  EXPECT_EQ(issued.claims.sub, "spiffe://example.org/agent/bot");
  EXPECT_EQ(issued.claims.exp - issued.claims.iat, 300);
  EXPECT_EQ(issued.claims.nbf, issued.claims.iat);
  EXPECT_EQ(issued.claims.jti.size(), 36u);
  EXPECT_EQ(issued.kid, keys_->Active()->kid);
  auto verified = verifier_->Verify(issued.token, "github-proxy");
  ASSERT_TRUE(verified.has_value()) << verified.error().message;
  EXPECT_EQ((*verified)->claims, issued.claims);
  EXPECT_EQ((*verified)->agent, "bot");
  // The token never shows up in an error message.
  auto refused = verifier_->Verify(issued.token, "other");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().ToError().message.find(issued.token.substr(0, 20)), std::string::npos);
}

TEST_F(VerifierTest, TtlIsCappedByTheAgentsMaxTtl) {
  const IssuedToken issued = IssueBot({.ttl = std::chrono::hours(2)});
  EXPECT_EQ(issued.claims.exp - issued.claims.iat, 600);  // bot's max_ttl is 10m
  EXPECT_THAT(issuer_->Issue({.agent = "bot", .ttl = std::chrono::seconds(0)}), FailsWith(Code::kInvalidArgument));
}

TEST_F(VerifierTest, OnlyActiveAgentsGetTokens) {
  EXPECT_THAT(issuer_->Issue({.agent = "nobody"}), FailsWith(Code::kNotFound));
  EXPECT_THAT(issuer_->Issue({.agent = "alice"}), FailsWith(Code::kNotFound));  // a human, not an agent
  ASSERT_THAT(registry_->Transition(identity::Kind::kAgent, "bot", identity::State::kSuspended, {"root", "t"}), IsOk());
  EXPECT_THAT(issuer_->Issue({.agent = "bot"}), FailsWith(Code::kFailedPrecondition, HasSubstr("suspended")));
}

TEST_F(VerifierTest, ResumedAgentGetsWorkingTokensButOldOnesStayRevoked) {
  const IssuedToken before = IssueBot();
  ASSERT_THAT(registry_->Transition(identity::Kind::kAgent, "bot", identity::State::kSuspended, {"root", "t"}), IsOk());
  clock_.Advance(std::chrono::seconds(2));
  ASSERT_THAT(registry_->Transition(identity::Kind::kAgent, "bot", identity::State::kActive, {"root", "t"}), IsOk());
  const IssuedToken after = IssueBot();
  EXPECT_EQ(Rejection(before.token), TokenErrorKind::kRevoked);
  EXPECT_EQ(Rejection(after.token), std::nullopt);
}

TEST_F(VerifierTest, VerifiedTokensAreCachedUntilExpiry) {
  const IssuedToken issued = IssueBot();
  EXPECT_EQ(Rejection(issued.token), std::nullopt);
  EXPECT_EQ(Rejection(issued.token), std::nullopt);
  EXPECT_EQ(verifier_->cached_tokens(), 1u);
  clock_.Advance(std::chrono::seconds(300 + 20));  // inside the skew
  EXPECT_EQ(Rejection(issued.token), std::nullopt);
  clock_.Advance(std::chrono::seconds(15));
  EXPECT_EQ(Rejection(issued.token), TokenErrorKind::kExpired);  // the cached entry expires too
}

TEST_F(VerifierTest, RevocationsSurviveARestart) {
  const IssuedToken by_jti = IssueBot();
  const IssuedToken kept = IssueBot();
  ASSERT_THAT(revocations_->RevokeJti(by_jti.claims.jti, by_jti.claims.sub, TimePoint(std::chrono::seconds(by_jti.claims.exp))),
              IsOk());
  Open();
  EXPECT_EQ(Rejection(by_jti.token), TokenErrorKind::kRevoked);
  EXPECT_EQ(Rejection(kept.token), std::nullopt);
  ASSERT_THAT(revocations_->RevokeSubject(kept.claims.sub), IsOk());
  Open();
  EXPECT_EQ(Rejection(kept.token), TokenErrorKind::kRevoked);
}

TEST_F(VerifierTest, ExpiredRevocationsArePruned) {
  const IssuedToken issued = IssueBot();
  ASSERT_THAT(revocations_->RevokeJti(issued.claims.jti, issued.claims.sub, TimePoint(std::chrono::seconds(issued.claims.exp))),
              IsOk());
  EXPECT_EQ(revocations_->revoked_jtis(), 1u);
  clock_.Advance(std::chrono::minutes(6));
  ASSERT_THAT(revocations_->Prune(), IsOk());
  EXPECT_EQ(revocations_->revoked_jtis(), 0u);
  Open();
  EXPECT_EQ(revocations_->revoked_jtis(), 0u);
}

TEST_F(VerifierTest, AgentStateChangesReachTheVerifierWithoutARevocation) {
  // A verifier whose revocation list is not subscribed to the registry still refuses tokens of an
  // agent that stopped being active: its own view of agent states follows the registry.
  auto unsubscribed = Revocations::Open(store_->tokens(), &clock_).value();
  Verifier verifier(*keys_, *unsubscribed, *registry_, {.issuer = std::string(kIssuer), .trust_domain = "example.org",
                                                        .clock = &clock_});
  EXPECT_TRUE(verifier.Verify(IssueBot().token, "writ").has_value());
  const IssuedToken second = IssueBot();
  ASSERT_THAT(registry_->Transition(identity::Kind::kAgent, "bot", identity::State::kSuspended, {"root", "t"}), IsOk());
  auto refused = verifier.Verify(second.token, "writ");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, TokenErrorKind::kIdentityInactive);
}

TEST_F(VerifierTest, SignatureOnlyCheckIgnoresExpiry) {
  const IssuedToken issued = IssueBot();
  clock_.Advance(std::chrono::hours(1));
  EXPECT_EQ(Rejection(issued.token), TokenErrorKind::kExpired);
  auto claims = verifier_->VerifySignatureOnly(issued.token);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->jti, issued.claims.jti);
}

TEST_F(VerifierTest, Ed25519KeysIssueEdDsaTokensAndAcceptTheEd25519AlgName) {
  Open({.algorithm = crypto::KeyAlgorithm::kEd25519});
  // The store already holds an ES256 key from SetUp: rotate to get an Ed25519 one.
  ASSERT_THAT(keys_->Rotate(), IsOk());
  const IssuedToken issued = IssueBot();
  const std::string header = Base64UrlDecode(issued.token.substr(0, issued.token.find('.'))).value();
  EXPECT_NE(header.find(R"("alg":"EdDSA")"), std::string::npos);
  EXPECT_EQ(Rejection(issued.token), std::nullopt);
  // The same claims under the RFC 9864 name.
  const auto key = keys_->Active();
  const std::string renamed_header = std::string(R"({"alg":"Ed25519","kid":")") + key->kid + "\"}";
  const std::string input = Base64UrlEncode(renamed_header) + "." + Base64UrlEncode(SerializeClaims(issued.claims));
  EXPECT_EQ(Rejection(input + "." + Base64UrlEncode(key->private_key->Sign(input).value())), std::nullopt);
}

}  // namespace
}  // namespace writ::token
