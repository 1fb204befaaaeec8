#include "identity/identity.h"

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::identity {
namespace {

using ::testing::HasSubstr;

TEST(IdentityTest, NamesFollowSpiffePathRules) {
  for (const char* name : {"triage-bot", "a", "A.b_c-9", "x.y"}) EXPECT_THAT(ValidateName(name), IsOk()) << name;
  EXPECT_THAT(ValidateName(""), FailsWith(Code::kInvalidArgument, "name must not be empty"));
  EXPECT_THAT(ValidateName("."), FailsWith(Code::kInvalidArgument, HasSubstr("reserved")));
  EXPECT_THAT(ValidateName(".."), FailsWith(Code::kInvalidArgument, HasSubstr("reserved")));
  for (const char* name : {"a/b", "a b", "a%20", "é", "a\nb", "a:b"}) {
    EXPECT_THAT(ValidateName(name), FailsWith(Code::kInvalidArgument, HasSubstr("SPIFFE"))) << name;
  }
  EXPECT_THAT(ValidateName(std::string(129, 'a')), FailsWith(Code::kInvalidArgument, HasSubstr("longer than 128")));
  EXPECT_THAT(ValidateName(std::string(128, 'a')), IsOk());
}

TEST(IdentityTest, SpiffeIdsNameTheTrustDomainKindAndName) {
  EXPECT_EQ(SpiffeId("example.org", Kind::kAgent, "triage-bot"), "spiffe://example.org/agent/triage-bot");
  EXPECT_THAT(ValidateTrustDomain("example.org"), IsOk());
  EXPECT_THAT(ValidateTrustDomain("Example.org"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(ValidateTrustDomain(""), FailsWith(Code::kInvalidArgument));
}

TEST(IdentityTest, LifecycleAllowsExactlyTheDocumentedTransitions) {
  const State all[] = {State::kActive, State::kSuspended, State::kRevoked, State::kRetired};
  // allowed[from][to]
  const bool allowed[4][4] = {
      /* active    */ {false, true, true, true},
      /* suspended */ {true, false, true, true},
      /* revoked   */ {false, false, false, true},
      /* retired   */ {false, false, false, false},
  };
  for (int from = 0; from < 4; ++from) {
    for (int to = 0; to < 4; ++to) {
      const Status status = CheckTransition(all[from], all[to]);
      EXPECT_EQ(status.has_value(), allowed[from][to]) << StateName(all[from]) << " -> " << StateName(all[to]);
      if (!status) {
        EXPECT_EQ(status.error().code, Code::kFailedPrecondition);
      }
    }
  }
  EXPECT_THAT(CheckTransition(State::kRevoked, State::kActive),
              FailsWith(Code::kFailedPrecondition, "cannot go from `revoked` to `active`"));
}

TEST(IdentityTest, EnumNamesRoundTrip) {
  EXPECT_EQ(ParseKind("human").value(), Kind::kHuman);
  EXPECT_EQ(ParseState("retired").value(), State::kRetired);
  EXPECT_EQ(ParseTier("high").value(), Tier::kHigh);
  EXPECT_THAT(ParseTier("extreme"), FailsWith(Code::kInvalidArgument, "tier `extreme` is not one of low, medium, high"));
}

}  // namespace
}  // namespace writ::identity
