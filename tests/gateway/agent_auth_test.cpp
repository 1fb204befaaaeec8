// The HTTP proxy's agent authentication against a scripted writd introspection endpoint. (DPoP
// proofs and the real writd are exercised end to end in node/http.test.mjs.)
#include "gateway/agent_auth.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace writ::gateway {
namespace {

constexpr std::string_view kToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

struct Writd {
  int status = 200;
  std::string body = R"({"active":true,"username":"http-bot","jti":"j-1","exp":1800000600})";
  bool reachable = true;
  std::vector<json::Value> asked;

  HttpTransport Transport() {
    return [this](std::string_view method, std::string_view path, std::string_view request,
                  std::chrono::milliseconds, std::string_view, std::string_view) -> Result<HttpReply> {
      EXPECT_EQ(method, "POST");
      EXPECT_EQ(path, "/v1/introspect");
      asked.push_back(json::Parse(request).value());
      if (!reachable) return Fail(Code::kUnavailable, "connect: no such file");
      return HttpReply{.status = status, .body = json::Parse(body).value()};
    };
  }
};

// REQUIRES: `header` outlives the result (it is a view).
AgentCredentials Bearer(const std::string& header) {
  return {.authorization = header, .method = "POST", .url = "http://127.0.0.1:9/mcp"};
}

class AgentAuthTest : public ::testing::Test {
 protected:
  std::unique_ptr<AgentAuthenticator> Make(AgentAuthOptions options = {}) {
    options.clock = &clock_;
    return NewIntrospectingAuthenticator(writd_.Transport(), options);
  }
  const std::string bearer_ = "Bearer " + std::string(kToken);
  FakeClock clock_;  // starts at 1'800'000'000 s
  Writd writd_;
};

TEST_F(AgentAuthTest, AnActiveTokenNamesItsAgentAndGoesToWritdWithTheAudience) {
  auto auth = Make({.audience = "mcp:everything"});
  auto who = auth->Authenticate(Bearer(bearer_));
  ASSERT_TRUE(who) << who.error().description;
  EXPECT_EQ(who->agent, "http-bot");
  EXPECT_EQ(who->jti, "j-1");
  ASSERT_EQ(writd_.asked.size(), 1u);
  EXPECT_EQ(writd_.asked[0].Find("token")->as_string(), kToken);
  EXPECT_EQ(writd_.asked[0].Find("audience")->as_string(), "mcp:everything");
}

TEST_F(AgentAuthTest, AnswersAreCachedForTheRecheckIntervalOnly) {
  auto auth = Make({.recheck = std::chrono::seconds(5)});
  ASSERT_TRUE(auth->Authenticate(Bearer(bearer_)));
  clock_.Advance(std::chrono::seconds(4));
  ASSERT_TRUE(auth->Authenticate(Bearer(bearer_)));
  EXPECT_EQ(writd_.asked.size(), 1u);
  writd_.body = R"({"active":false})";  // revoked meanwhile
  clock_.Advance(std::chrono::seconds(2));
  auto refused = auth->Authenticate(Bearer(bearer_));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 401);
  EXPECT_EQ(refused.error().error, "invalid_token");
  EXPECT_EQ(writd_.asked.size(), 2u);
}

TEST_F(AgentAuthTest, TheCachedCheckAnswersOnlyWithoutWritdAndOnlyWithinTheRecheckInterval) {
  auto auth = Make({.recheck = std::chrono::seconds(5)});
  EXPECT_FALSE(auth->TryAuthenticateCached(Bearer(bearer_)).has_value());  // never checked: writd must be asked
  EXPECT_EQ(writd_.asked.size(), 0u);
  ASSERT_TRUE(auth->Authenticate(Bearer(bearer_)));
  auto cached = auth->TryAuthenticateCached(Bearer(bearer_));
  ASSERT_TRUE(cached.has_value());
  ASSERT_TRUE(cached->has_value());
  EXPECT_EQ((*cached)->agent, "http-bot");
  EXPECT_EQ((*cached)->token, kToken);
  EXPECT_EQ(writd_.asked.size(), 1u);
  // Malformed credentials are refused without writd.
  const std::string basic = "Basic abc";
  auto refused = auth->TryAuthenticateCached(Bearer(basic));
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->has_value());
  // A DPoP proof is checked off the I/O thread, by Authenticate.
  const std::string dpop = "DPoP " + std::string(kToken);
  EXPECT_FALSE(auth->TryAuthenticateCached(Bearer(dpop)).has_value());
  // Past the recheck interval the cached answer is gone: writd is asked again, by Authenticate.
  clock_.Advance(std::chrono::seconds(6));
  EXPECT_FALSE(auth->TryAuthenticateCached(Bearer(bearer_)).has_value());
  EXPECT_EQ(writd_.asked.size(), 1u);
}

TEST_F(AgentAuthTest, NeverTrustedPastExpiry) {
  writd_.body = R"({"active":true,"username":"http-bot","exp":1800000002})";
  auto auth = Make({.recheck = std::chrono::seconds(60)});
  ASSERT_TRUE(auth->Authenticate(Bearer(bearer_)));
  clock_.Advance(std::chrono::seconds(3));
  writd_.body = R"({"active":false})";
  EXPECT_FALSE(auth->Authenticate(Bearer(bearer_)));
}

TEST_F(AgentAuthTest, WritdUnreachableFailsClosedWith503EvenWithAStaleCacheEntry) {
  auto auth = Make({.recheck = std::chrono::seconds(1)});
  ASSERT_TRUE(auth->Authenticate(Bearer(bearer_)));
  clock_.Advance(std::chrono::seconds(2));
  writd_.reachable = false;
  auto refused = auth->Authenticate(Bearer(bearer_));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 503);
  writd_.reachable = true;
  writd_.status = 500;
  EXPECT_EQ(auth->Authenticate(Bearer(bearer_)).error().status, 503);
}

TEST_F(AgentAuthTest, MalformedHeadersAreRefusedWithoutAskingWritd) {
  auto auth = Make();
  EXPECT_EQ(auth->Authenticate(Bearer("")).error().error, "");  // no credentials: a bare challenge
  EXPECT_EQ(auth->Authenticate(Bearer("Basic dXNlcjpwdw==")).error().error, "invalid_request");
  EXPECT_EQ(auth->Authenticate(Bearer("Bearer")).error().error, "invalid_request");
  EXPECT_EQ(auth->Authenticate(Bearer("Bearer a\"b")).error().error, "invalid_request");
  EXPECT_EQ(auth->Authenticate(Bearer("Bearer " + std::string(9000, 'a'))).error().error, "invalid_token");
  EXPECT_TRUE(writd_.asked.empty());
}

TEST_F(AgentAuthTest, ABoundTokenNeedsTheDpopSchemeAndABearerTokenRefusesIt) {
  writd_.body = R"({"active":true,"username":"http-bot","exp":1800000600,"cnf":{"jkt":"abc"}})";
  auto auth = Make();
  auto as_bearer = auth->Authenticate(Bearer(bearer_));
  ASSERT_FALSE(as_bearer);
  EXPECT_EQ(as_bearer.error().error, "invalid_token");
  auto no_proof = auth->Authenticate(Bearer("DPoP " + std::string(kToken)));
  ASSERT_FALSE(no_proof);
  EXPECT_EQ(no_proof.error().error, "invalid_dpop_proof");
  const std::string dpop_header = "DPoP " + std::string(kToken);  // outlives the credentials' views
  AgentCredentials bad = Bearer(dpop_header);
  bad.dpop = "not-a-proof";
  bad.dpop_headers = 1;
  EXPECT_EQ(auth->Authenticate(bad).error().error, "invalid_dpop_proof");

  writd_.body = R"({"active":true,"username":"http-bot","exp":1800000600})";
  auto other = Make();
  EXPECT_EQ(other->Authenticate(Bearer("DPoP " + std::string(kToken))).error().error, "invalid_token");
}

TEST(AuthChallenge, NamesBothSchemesAndKeepsTheDescriptionQuotable) {
  EXPECT_EQ(AuthChallenge({.status = 401}), R"(Bearer realm="writ-mcp", DPoP realm="writ-mcp", algs="ES256 EdDSA")");
  const std::string challenge = AuthChallenge({.status = 401, .error = "invalid_token", .description = "a \"b\"\r\n"});
  EXPECT_EQ(challenge.find('\r'), std::string::npos);
  EXPECT_NE(challenge.find(R"(error="invalid_token", error_description="a 'b''')"), std::string::npos) << challenge;
}

}  // namespace
}  // namespace writ::gateway
