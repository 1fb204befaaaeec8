// RFC 8693 delegation: scope and lifetime only shrink, `act` nests, depth is bounded, and the actor
// must be named by the subject's may_act label.
#include <gtest/gtest.h>

#include "token/delegation.h"
#include "token_fixture.h"

namespace writ::token {
namespace {

using ::testing::HasSubstr;

class DelegationTest : public TokenStackTest {
 protected:
  void SetUp() override {
    TokenStackTest::SetUp();
    ASSERT_THAT(Create(R"({"kind":"agent","name":"lead","owner":"alice","labels":{"may_act":"helper, fetcher"}})"), IsOk());
    ASSERT_THAT(Create(R"({"kind":"agent","name":"helper","owner":"alice","labels":{"may_act":"fetcher"}})"), IsOk());
    ASSERT_THAT(Create(R"({"kind":"agent","name":"fetcher","owner":"alice"})"), IsOk());
    exchanger_ = std::make_unique<Exchanger>(*verifier_, *keys_, *registry_,
                                             ExchangeOptions{.issuer = std::string(kIssuer), .max_depth = 2, .clock = &clock_});
  }
  std::string TokenOf(const std::string& agent, const std::string& scope = "") {
    return issuer_->Issue({.agent = agent, .scope = scope}).value().token;
  }
  std::unique_ptr<Exchanger> exchanger_;
};

TEST_F(DelegationTest, ActorGetsANarrowerTokenThatNamesItInAct) {
  const IssuedToken parent = issuer_->Issue({.agent = "lead", .task = "t1", .scope = "repo:read repo:write"}).value();
  auto delegated = exchanger_->Exchange({.subject_token = parent.token, .actor_token = TokenOf("helper"),
                                         .scope = "repo:read", .ttl = std::chrono::seconds(60)});
  ASSERT_THAT(delegated, IsOk());
  EXPECT_EQ(delegated->claims.sub, "spiffe://example.org/agent/lead");
  EXPECT_EQ(delegated->claims.scope, "repo:read");
  EXPECT_EQ(delegated->claims.task, "t1");
  EXPECT_EQ(delegated->claims.exp - delegated->claims.iat, 60);
  EXPECT_EQ(CurrentActor(delegated->claims), "spiffe://example.org/agent/helper");
  auto verified = verifier_->Verify(delegated->token, "writ");
  ASSERT_TRUE(verified.has_value()) << verified.error().message;
  EXPECT_EQ((*verified)->claims.act, delegated->claims.act);
}

TEST_F(DelegationTest, ScopeAndLifetimeNeverGrow) {
  const IssuedToken parent = issuer_->Issue({.agent = "lead", .ttl = std::chrono::seconds(120), .scope = "a"}).value();
  EXPECT_THAT(exchanger_->Exchange({.subject_token = parent.token, .actor_token = TokenOf("helper"), .scope = "a b"}),
              FailsWith(Code::kPermissionDenied, HasSubstr("subset")));
  auto longer = exchanger_->Exchange({.subject_token = parent.token, .actor_token = TokenOf("helper"),
                                      .ttl = std::chrono::hours(1)});
  ASSERT_THAT(longer, IsOk());
  EXPECT_EQ(longer->claims.exp, parent.claims.exp);
  EXPECT_EQ(longer->claims.scope, "a");
}

TEST_F(DelegationTest, OnlyAgentsNamedInMayActMayAct) {
  EXPECT_THAT(exchanger_->Exchange({.subject_token = TokenOf("lead"), .actor_token = TokenOf("bot")}),
              FailsWith(Code::kPermissionDenied, HasSubstr("may not act for agent `lead`")));
  EXPECT_THAT(exchanger_->Exchange({.subject_token = TokenOf("lead"), .actor_token = "garbage"}),
              FailsWith(Code::kUnauthenticated, HasSubstr("actor_token")));
}

TEST_F(DelegationTest, ChainsNestAndAreBounded) {
  const std::string first = exchanger_->Exchange({.subject_token = TokenOf("lead"), .actor_token = TokenOf("helper")})
                                .value().token;
  // helper's delegated token can be delegated on to fetcher (lead's may_act names fetcher too).
  auto second = exchanger_->Exchange({.subject_token = first, .actor_token = TokenOf("fetcher")});
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(DelegationDepth(second->claims.act), 2u);
  EXPECT_EQ(CurrentActor(second->claims), "spiffe://example.org/agent/fetcher");
  EXPECT_EQ(second->claims.act.Find("act")->Find("sub")->as_string(), "spiffe://example.org/agent/helper");
  EXPECT_THAT(exchanger_->Exchange({.subject_token = second->token, .actor_token = TokenOf("fetcher")}),
              FailsWith(Code::kPermissionDenied, HasSubstr("at most 2")));
  // A delegated token is not an actor token.
  EXPECT_THAT(exchanger_->Exchange({.subject_token = TokenOf("lead"), .actor_token = first}),
              FailsWith(Code::kPermissionDenied));
}

TEST_F(DelegationTest, SuspendingTheActorKillsTheDelegatedToken) {
  const IssuedToken delegated =
      exchanger_->Exchange({.subject_token = TokenOf("lead"), .actor_token = TokenOf("helper")}).value();
  EXPECT_EQ(Rejection(delegated.token), std::nullopt);
  ASSERT_THAT(registry_->Transition(identity::Kind::kAgent, "helper", identity::State::kSuspended, {"root", "t"}), IsOk());
  EXPECT_EQ(Rejection(delegated.token), TokenErrorKind::kIdentityInactive);
}

TEST(ScopeTest, Subset) {
  EXPECT_TRUE(ScopeIsSubset("", "a b"));
  EXPECT_TRUE(ScopeIsSubset("b a", "a b c"));
  EXPECT_FALSE(ScopeIsSubset("a d", "a b c"));
  EXPECT_FALSE(ScopeIsSubset("ab", "a b"));
}

}  // namespace
}  // namespace writ::token
