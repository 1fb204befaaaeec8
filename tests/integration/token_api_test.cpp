// End to end for credentials: a real writd, the real `writ` CLI (token, keys, run) and a real
// JOSE client (Node `jose`) verifying writ tokens from the JWKS.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/writd_fixture.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::RunShell;
using testing::RunningWritd;

const std::string kNodeDir = std::string(WRIT_SOURCE_DIR) + "/tests/integration/node";

class TokenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writd_ = std::make_unique<RunningWritd>(dir_.path() / "data");
    ASSERT_TRUE(writd_->Start()) << "writd did not start";
    auto human = Writ("identity create alice --kind human --uid " + std::to_string(::getuid()));
    ASSERT_EQ(human.exit_code, 0) << human.output;
    auto agent = Writ("identity create bot --owner alice --max-ttl 10m");
    ASSERT_EQ(agent.exit_code, 0) << agent.output;
  }

  testing::CommandResult Writ(const std::string& arguments) {
    return RunShell(std::string(WRIT_CLI_BINARY) + " " + arguments, writd_->socket());
  }

  // `writ token issue` for an agent (as administrator); returns the token (the output line that
  // is a compact JWS).
  std::string IssueFor(const std::string& agent, const std::string& extra = "") {
    auto issued = Writ("token issue --agent " + agent + " " + extra);
    EXPECT_EQ(issued.exit_code, 0) << issued.output;
    std::istringstream lines(issued.output);
    std::string line;
    while (std::getline(lines, line)) {
      if (std::count(line.begin(), line.end(), '.') == 2 && line.find(' ') == std::string::npos) return line;
    }
    ADD_FAILURE() << "no token in: " << issued.output;
    return "";
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = dir_.file(name);
    std::ofstream(path) << content;
    return path;
  }

  json::Value GetJson(std::string_view target) {
    auto client = writd_->Client();
    auto response = client.Request("GET", target);
    EXPECT_TRUE(response.has_value());
    if (!response) return {};
    EXPECT_EQ(response->status, 200);
    return response->Json().value_or(json::Value());
  }

  writ::TempDir dir_;
  std::unique_ptr<RunningWritd> writd_;
};

TEST_F(TokenApiTest, AdminIssuesInspectsAndRevokesATokenAndTheRevocationSurvivesKill9) {
  const std::string token = IssueFor("bot", "--task triage --ttl 2m");
  ASSERT_EQ(std::count(token.begin(), token.end(), '.'), 2) << token;
  auto inspected = Writ("token inspect " + token);
  ASSERT_EQ(inspected.exit_code, 0) << inspected.output;
  EXPECT_THAT(inspected.output, HasSubstr("spiffe://writ.local/agent/bot"));
  EXPECT_THAT(inspected.output, HasSubstr("triage"));
  EXPECT_THAT(inspected.output, HasSubstr("active: yes"));

  auto revoked = Writ("token revoke --token " + token);
  ASSERT_EQ(revoked.exit_code, 0) << revoked.output;
  EXPECT_THAT(revoked.output, HasSubstr("revoked token"));
  EXPECT_THAT(Writ("token inspect " + token).output, HasSubstr("active: no"));

  writd_->Kill(SIGKILL);
  ASSERT_TRUE(writd_->Start());
  EXPECT_THAT(Writ("token inspect " + token).output, HasSubstr("active: no"));
  // The log names the jti, never the token.
  std::ifstream log(writd_->log_path());
  const std::string log_text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_THAT(log_text, HasSubstr("token revoked"));
  EXPECT_THAT(log_text, Not(HasSubstr(token.substr(token.rfind('.')))));
}

TEST_F(TokenApiTest, SuspendingAnAgentRevokesItsTokensAndRefusesNewOnes) {
  const std::string token = IssueFor("bot");
  ASSERT_EQ(Writ("identity suspend bot").exit_code, 0);
  EXPECT_THAT(Writ("token inspect " + token).output, HasSubstr("active: no"));
  auto refused = Writ("token issue --agent bot");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.output, HasSubstr("suspended"));
}

TEST_F(TokenApiTest, RevokingEveryTokenOfAnAgentByName) {
  const std::string token = IssueFor("bot");
  auto revoked = Writ("token revoke --agent bot");
  ASSERT_EQ(revoked.exit_code, 0) << revoked.output;
  EXPECT_THAT(Writ("token inspect " + token).output, HasSubstr("active: no"));
}

TEST_F(TokenApiTest, JwksAndSpiffeBundleFollowRotation) {
  json::Value jwks = GetJson("/.well-known/jwks.json");
  ASSERT_EQ(jwks.Find("keys")->as_array().size(), 1u);
  const json::Value& key = jwks.Find("keys")->as_array().front();
  EXPECT_EQ(key.Find("alg")->as_string(), "ES256");
  EXPECT_EQ(key.Find("kty")->as_string(), "EC");
  EXPECT_EQ(key.Find("d"), nullptr);  // public keys only
  json::Value bundle = GetJson("/.well-known/spiffe-bundle");
  EXPECT_EQ(bundle.Find("spiffe_sequence")->as_int(), 1);
  EXPECT_EQ(bundle.Find("keys")->as_array().front().Find("use")->as_string(), "jwt-svid");

  auto rotated = Writ("keys rotate");
  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  EXPECT_EQ(GetJson("/.well-known/jwks.json").Find("keys")->as_array().size(), 2u);
  EXPECT_EQ(GetJson("/.well-known/spiffe-bundle").Find("spiffe_sequence")->as_int(), 2);
  auto listed = Writ("keys list");
  EXPECT_THAT(listed.output, HasSubstr("active"));
  EXPECT_THAT(listed.output, HasSubstr("retired"));
}

TEST_F(TokenApiTest, NodeJoseVerifiesAWritTokenFromTheJwks) {
  auto install = RunShell(kNodeDir + "/run-npm-ci.sh", writd_->socket());
  ASSERT_EQ(install.exit_code, 0) << install.output;
  const std::string good = WriteFile("good.jwt", IssueFor("bot", "--audience billing-api"));
  const std::string verify = "node " + kNodeDir + "/verify.mjs '" + writd_->socket() + "' ";
  auto accepted = RunShell(verify + good + " spiffe://writ.local billing-api", writd_->socket());
  EXPECT_THAT(accepted.output, HasSubstr(R"("ok":true)"));
  EXPECT_THAT(accepted.output, HasSubstr(R"("sub":"spiffe://writ.local/agent/bot")"));
  EXPECT_THAT(accepted.output, HasSubstr(R"("alg":"ES256")"));
  // Wrong audience and wrong issuer are refused by jose too.
  EXPECT_THAT(RunShell(verify + good + " spiffe://writ.local writ", writd_->socket()).output,
              HasSubstr("ERR_JWT_CLAIM_VALIDATION_FAILED"));
  EXPECT_THAT(RunShell(verify + good + " spiffe://other billing-api", writd_->socket()).output,
              HasSubstr("ERR_JWT_CLAIM_VALIDATION_FAILED"));
  // After a rotation the old token still verifies (overlap) and a new one verifies with the new key.
  ASSERT_EQ(Writ("keys rotate").exit_code, 0);
  EXPECT_THAT(RunShell(verify + good + " spiffe://writ.local billing-api", writd_->socket()).output,
              HasSubstr(R"("keys":2)"));
  const std::string fresh = WriteFile("fresh.jwt", IssueFor("bot", "--audience billing-api"));
  EXPECT_THAT(RunShell(verify + fresh + " spiffe://writ.local billing-api", writd_->socket()).output,
              HasSubstr(R"("ok":true)"));
  // A tampered token is refused.
  std::string tampered = IssueFor("bot", "--audience billing-api");
  tampered[tampered.rfind('.') + 3] = tampered[tampered.rfind('.') + 3] == 'A' ? 'B' : 'A';
  EXPECT_THAT(RunShell(verify + WriteFile("bad.jwt", tampered) + " spiffe://writ.local billing-api", writd_->socket()).output,
              HasSubstr(R"("ok":false)"));
}

TEST_F(TokenApiTest, TokenExchangeDelegatesWithANestedActClaim) {
  ASSERT_EQ(Writ("identity create lead --owner alice --label may_act=helper").exit_code, 0);
  ASSERT_EQ(Writ("identity create helper --owner alice").exit_code, 0);
  json::Value request;
  request.Set("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange");
  request.Set("subject_token", IssueFor("lead", "--scope 'repo:read repo:write'"));
  request.Set("subject_token_type", "urn:ietf:params:oauth:token-type:jwt");
  request.Set("actor_token", IssueFor("helper"));
  request.Set("actor_token_type", "urn:ietf:params:oauth:token-type:jwt");
  request.Set("scope", "repo:read");
  auto client = writd_->Client();
  auto response = client.Request("POST", "/v1/token", request);
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200) << response->body;
  const json::Value body = response->Json().value();
  EXPECT_EQ(body.Find("scope")->as_string(), "repo:read");
  const json::Value* claims = body.Find("claims");
  EXPECT_EQ(claims->Find("sub")->as_string(), "spiffe://writ.local/agent/lead");
  EXPECT_EQ(claims->Find("act")->Find("sub")->as_string(), "spiffe://writ.local/agent/helper");
  auto inspected = Writ("token inspect " + body.Find("access_token")->as_string());
  EXPECT_THAT(inspected.output, HasSubstr("active: yes"));
  // Growing the scope is refused.
  request.Set("scope", "admin");
  auto refused = client.Request("POST", "/v1/token", request);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
}

class WritRunTest : public TokenApiTest {
 protected:
  void SetUp() override {
    TokenApiTest::SetUp();
    shell_ = std::filesystem::canonical("/bin/sh").string();
    auto agent = Writ("identity create shell-bot --owner alice --max-ttl 10m --selector-uid " +
                      std::to_string(::getuid()) + " --selector-exe " + shell_);
    ASSERT_EQ(agent.exit_code, 0) << agent.output;
  }
  std::string shell_;
};

TEST_F(WritRunTest, CommandGetsAPrivateTokenFileAndItsExitCodeIsPassedOn) {
  auto run = Writ("run --as shell-bot --task nightly -- /bin/sh -c "
                  "'stat -c mode=%a,owner=%u \"$WRIT_TOKEN_FILE\"; echo agent=$WRIT_AGENT; "
                  "cut -d. -f1 \"$WRIT_TOKEN_FILE\" | wc -c; exit 7'");
  EXPECT_EQ(run.exit_code, 7) << run.output;
  EXPECT_THAT(run.output, HasSubstr("mode=600,owner=" + std::to_string(::getuid())));
  EXPECT_THAT(run.output, HasSubstr("agent=shell-bot"));
}

TEST_F(WritRunTest, TheTokenIsValidForTheAgentWhileTheCommandRuns) {
  auto run = Writ("run --as shell-bot -- /bin/sh -c '" + std::string(WRIT_CLI_BINARY) +
                  " token inspect \"$(cat \"$WRIT_TOKEN_FILE\")\"'");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("spiffe://writ.local/agent/shell-bot"));
  EXPECT_THAT(run.output, HasSubstr("active: yes"));
}

TEST_F(WritRunTest, AmbientCredentialsAreRemovedAndNamed) {
  auto run = RunShell("GITHUB_TOKEN=ghp_secret AWS_SECRET_ACCESS_KEY=abc KEEP_ME=1 " + std::string(WRIT_CLI_BINARY) +
                          " run --as shell-bot -- /bin/sh -c 'echo gh=${GITHUB_TOKEN:-unset} aws=${AWS_SECRET_ACCESS_KEY:-unset} keep=$KEEP_ME'",
                      writd_->socket());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("gh=unset aws=unset keep=1"));
  EXPECT_THAT(run.output, HasSubstr("removed ambient credentials"));
  EXPECT_THAT(run.output, HasSubstr("GITHUB_TOKEN"));
  EXPECT_THAT(run.output, Not(HasSubstr("ghp_secret")));
}

TEST_F(WritRunTest, ACommandWhoseExecutableDoesNotMatchGetsNoToken) {
  auto run = Writ("run --as shell-bot -- /usr/bin/env true");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("no registered agent matches"));
}

TEST_F(WritRunTest, SeveralMatchingAgentsAreAClearRefusal) {
  ASSERT_EQ(Writ("identity create shell-twin --owner alice --selector-exe " + shell_).exit_code, 0);
  auto run = Writ("run --as shell-bot -- /bin/sh -c true");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("several agents"));
}

TEST_F(WritRunTest, ASignalThatEndsTheCommandIsReportedAs128PlusItsNumber) {
  auto run = Writ("run --as shell-bot -- /bin/sh -c 'kill -TERM $$'");
  EXPECT_EQ(run.exit_code, 128 + SIGTERM) << run.output;
}

}  // namespace
}  // namespace writ
