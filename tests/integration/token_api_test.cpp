// End to end for credentials: a real writd, the real `writ` CLI (token, keys, run) and a real
// JOSE client (Node `jose`) verifying writ tokens from the JWKS.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/encoding.h"
#include "crypto/keys.h"
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
    std::vector<std::string> args;
    if (const std::string yaml = ConfigYaml(); !yaml.empty()) args = {"--config", WriteFile("writd.yaml", yaml)};
    writd_ = std::make_unique<RunningWritd>(dir_.path() / "data", std::move(args));
    ASSERT_TRUE(writd_->Start()) << "writd did not start";
    auto human = Writ("identity create alice --kind human --uid " + std::to_string(::getuid()));
    ASSERT_EQ(human.exit_code, 0) << human.output;
    auto agent = Writ("identity create bot --owner alice --max-ttl 10m");
    ASSERT_EQ(agent.exit_code, 0) << agent.output;
  }

  // writd's config file for this fixture; "" = none (every default).
  virtual std::string ConfigYaml() const { return ""; }

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
  EXPECT_EQ(bundle.Find("spiffe_refresh_hint")->as_int(), 300);
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

TEST_F(TokenApiTest, WritTokenExchangeDelegatesFromTokenFiles) {
  ASSERT_EQ(Writ("identity create lead --owner alice --label may_act=helper").exit_code, 0);
  ASSERT_EQ(Writ("identity create helper --owner alice").exit_code, 0);
  const std::string lead = WriteFile("lead.jwt", IssueFor("lead", "--scope 'repo:read repo:write' --audience writ --audience billing-api") + "\n");
  const std::string helper = WriteFile("helper.jwt", IssueFor("helper"));
  auto exchanged = Writ("token exchange --subject-token-file " + lead + " --actor-token-file " + helper +
                        " --scope repo:read --audience billing-api --ttl 1m");
  ASSERT_EQ(exchanged.exit_code, 0) << exchanged.output;
  EXPECT_THAT(exchanged.output, HasSubstr("acted by spiffe://writ.local/agent/helper"));
  std::string token;
  std::istringstream lines(exchanged.output);
  for (std::string line; std::getline(lines, line);) {
    if (std::count(line.begin(), line.end(), '.') == 2 && line.find(' ') == std::string::npos) token = line;
  }
  auto inspected = Writ("token inspect " + token);
  EXPECT_THAT(inspected.output, HasSubstr("active: yes"));
  EXPECT_THAT(inspected.output, HasSubstr("spiffe://writ.local/agent/helper"));  // the act claim
  EXPECT_THAT(inspected.output, HasSubstr("billing-api"));

  // The actor token may come from $WRIT_TOKEN_FILE (as under `writ run`), the subject from stdin.
  auto from_env = RunShell("WRIT_TOKEN_FILE=" + helper + " " + WRIT_CLI_BINARY +
                               " -o json token exchange --subject-token-file - < " + lead,
                           writd_->socket());
  ASSERT_EQ(from_env.exit_code, 0) << from_env.output;
  EXPECT_THAT(from_env.output, HasSubstr(R"("issued_token_type")"));

  // Refusals: a wider scope, no actor token, an unreadable or empty file.
  auto wider = Writ("token exchange --subject-token-file " + lead + " --actor-token-file " + helper + " --scope admin");
  EXPECT_EQ(wider.exit_code, 1);
  EXPECT_THAT(wider.output, HasSubstr("scope"));
  auto no_actor = RunShell("env -u WRIT_TOKEN_FILE " + std::string(WRIT_CLI_BINARY) + " token exchange --subject-token-file " + lead,
                           writd_->socket());
  EXPECT_EQ(no_actor.exit_code, 1);
  EXPECT_THAT(no_actor.output, HasSubstr("--actor-token-file"));
  auto missing = Writ("token exchange --subject-token-file " + dir_.file("nope.jwt") + " --actor-token-file " + helper);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("cannot read token file"));
  auto empty = Writ("token exchange --subject-token-file " + WriteFile("empty.jwt", "") + " --actor-token-file " + helper);
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_THAT(empty.output, HasSubstr("is empty"));
  // Delegation runs one way: `helper` names no one in may_act, so `lead` cannot act for it.
  auto self = Writ("token exchange --subject-token-file " + helper + " --actor-token-file " + lead);
  EXPECT_EQ(self.exit_code, 1);
}

TEST_F(TokenApiTest, TokenInspectReadsTheArgumentWritTokenFileOrStdin) {
  const std::string file = WriteFile("bot.jwt", IssueFor("bot", "--task from-file") + "\n");
  auto from_env = RunShell("WRIT_TOKEN_FILE=" + file + " " + WRIT_CLI_BINARY + " token inspect", writd_->socket());
  EXPECT_EQ(from_env.exit_code, 0) << from_env.output;
  EXPECT_THAT(from_env.output, HasSubstr("from-file"));
  auto from_stdin = RunShell(std::string(WRIT_CLI_BINARY) + " token inspect - < " + file, writd_->socket());
  EXPECT_THAT(from_stdin.output, HasSubstr("active: yes"));
  auto nothing = RunShell("env -u WRIT_TOKEN_FILE " + std::string(WRIT_CLI_BINARY) + " token inspect < /dev/null",
                          writd_->socket());
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_THAT(nothing.output, HasSubstr("no token on stdin"));
  auto missing = RunShell("WRIT_TOKEN_FILE=" + dir_.file("gone.jwt") + " " + WRIT_CLI_BINARY + " token inspect",
                          writd_->socket());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.output, HasSubstr("cannot read token file"));
}

// A DPoP proof for POST /v1/token signed by `key`, with a `nonce` claim unless `nonce` is empty.
std::string TokenEndpointProof(const crypto::PrivateKey& key, const std::string& jti, const std::string& nonce = "") {
  json::Value header;
  header.Set("typ", "dpop+jwt");
  header.Set("alg", "ES256");
  header.Set("jwk", key.public_key().ToJwk());
  json::Value claims;
  claims.Set("jti", jti);
  claims.Set("htm", "POST");
  claims.Set("htu", "http://localhost/v1/token");
  claims.Set("iat", ToUnixSeconds(SystemClock().Now()));
  if (!nonce.empty()) claims.Set("nonce", nonce);
  const std::string input = Base64UrlEncode(json::Serialize(header)) + "." + Base64UrlEncode(json::Serialize(claims));
  return input + "." + Base64UrlEncode(key.Sign(input).value());
}

TEST_F(TokenApiTest, ADpopProofAtTheTokenEndpointBindsTheToken) {
  const auto key = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEs256).value();
  json::Value request;
  request.Set("agent", "bot");
  server::Headers headers;
  headers.Set("DPoP", TokenEndpointProof(key, "proof-1"));
  auto client = writd_->Client();
  auto response = client.Request("POST", "/v1/token", request, headers);
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200) << response->body;
  const json::Value body = response->Json().value();
  EXPECT_EQ(body.Find("token_type")->as_string(), "DPoP");
  EXPECT_EQ(body.Find("claims")->Find("cnf")->Find("jkt")->as_string(), key.public_key().Thumbprint());
  EXPECT_FALSE(response->headers.Get("DPoP-Nonce").has_value());  // nonces are off by default
  // The same proof again is a replay.
  auto replayed = client.Request("POST", "/v1/token", request, headers);
  ASSERT_TRUE(replayed.has_value());
  EXPECT_EQ(replayed->status, 400);
  EXPECT_THAT(replayed->body, HasSubstr("already used"));
}

// token.dpop_nonce: the token endpoint asks for a server nonce (RFC 9449 §8).
class DpopNonceTest : public TokenApiTest {
 protected:
  std::string ConfigYaml() const override { return "token:\n  dpop_nonce: true\n"; }
};

TEST_F(DpopNonceTest, AProofWithoutTheServerNonceGetsUseDpopNonceAndARetrySucceeds) {
  const auto key = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEs256).value();
  json::Value request;
  request.Set("agent", "bot");
  auto client = writd_->Client();
  server::Headers headers;
  headers.Set("DPoP", TokenEndpointProof(key, "first"));
  auto refused = client.Request("POST", "/v1/token", request, headers);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(refused->Json().value().Find("error")->as_string(), "use_dpop_nonce");
  const auto nonce = refused->headers.Get("DPoP-Nonce");
  ASSERT_TRUE(nonce.has_value());

  headers.Set("DPoP", TokenEndpointProof(key, "second", std::string(*nonce)));
  auto issued = client.Request("POST", "/v1/token", request, headers);
  ASSERT_TRUE(issued.has_value());
  ASSERT_EQ(issued->status, 200) << issued->body;
  EXPECT_EQ(issued->Json().value().Find("token_type")->as_string(), "DPoP");
  EXPECT_TRUE(issued->headers.Get("DPoP-Nonce").has_value());  // a fresh one for the next proof

  // A made-up nonce is refused the same way.
  headers.Set("DPoP", TokenEndpointProof(key, "third", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  auto forged = client.Request("POST", "/v1/token", request, headers);
  ASSERT_TRUE(forged.has_value());
  EXPECT_EQ(forged->status, 400);
  EXPECT_THAT(forged->body, HasSubstr("use_dpop_nonce"));
}

// The `token:` config keys, end to end: Ed25519 keys, a custom issuer and default audience, and a
// 2 s overlap so a relying party sees a retired key leave the JWKS without a long wait.
class ConfiguredTokenTest : public TokenApiTest {
 protected:
  std::string ConfigYaml() const override {
    return "token:\n  algorithm: EdDSA\n  rotation_period: 24h\n  overlap: 2s\n  default_ttl: 1m\n"
           "  issuer: https://writ.example\n  default_audience: billing-api\n";
  }

  static json::Value Payload(const std::string& token) {
    const size_t first = token.find('.');
    const size_t second = token.find('.', first + 1);
    return json::Parse(Base64UrlDecode(token.substr(first + 1, second - first - 1)).value_or("")).value_or(json::Value());
  }

  // jose's verdict on `token`, judged at its own iat (so only the keys decide, never the clock).
  std::string JoseVerdict(const std::string& token, const std::string& name) {
    const int64_t iat = Payload(token).Find("iat")->as_int();
    return RunShell("node " + kNodeDir + "/verify.mjs '" + writd_->socket() + "' " + WriteFile(name, token) +
                        " https://writ.example billing-api " + std::to_string(iat),
                    writd_->socket())
        .output;
  }

  size_t JwksSize() { return GetJson("/.well-known/jwks.json").Find("keys")->as_array().size(); }
};

TEST_F(ConfiguredTokenTest, TokensFollowTheConfiguredAlgorithmIssuerAudienceAndOverlap) {
  const std::string token = IssueFor("bot");
  const json::Value claims = Payload(token);
  EXPECT_EQ(claims.Find("iss")->as_string(), "https://writ.example");
  EXPECT_EQ(claims.Find("aud")->as_string(), "billing-api");
  // TTLs are capped by the overlap (2 s), below the default (1 m) and the agent's max (10 m).
  EXPECT_EQ(claims.Find("exp")->as_int() - claims.Find("iat")->as_int(), 2);
  const json::Value jwks = GetJson("/.well-known/jwks.json");
  EXPECT_EQ(jwks.Find("keys")->as_array().front().Find("alg")->as_string(), "EdDSA");
  EXPECT_EQ(jwks.Find("keys")->as_array().front().Find("kty")->as_string(), "OKP");
}

TEST_F(ConfiguredTokenTest, NodeJoseRejectsATokenOnceItsKeyIsRotatedPastTheOverlap) {
  auto install = RunShell(kNodeDir + "/run-npm-ci.sh", writd_->socket());
  ASSERT_EQ(install.exit_code, 0) << install.output;
  const std::string token = IssueFor("bot");
  const std::string old_kid = GetJson("/.well-known/jwks.json").Find("keys")->as_array().front().Find("kid")->as_string();
  EXPECT_THAT(JoseVerdict(token, "a.jwt"), HasSubstr(R"("ok":true)"));
  EXPECT_THAT(JoseVerdict(token, "a.jwt"), HasSubstr(R"("alg":"EdDSA")"));

  // First rotation: the old key is retired and stays in the JWKS for the overlap.
  ASSERT_EQ(Writ("keys rotate").exit_code, 0);
  const std::string fresh = IssueFor("bot");
  EXPECT_THAT(JoseVerdict(fresh, "b.jwt"), HasSubstr(R"("ok":true)"));
  // Past the overlap (2 s) the retired key leaves the JWKS; poll rather than sleep a fixed time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (JwksSize() > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(JwksSize(), 1u);
  // jose refuses the token for want of its key, although at its iat it has not expired.
  EXPECT_THAT(JoseVerdict(token, "a.jwt"), HasSubstr("ERR_JWKS_NO_MATCHING_KEY"));
  EXPECT_THAT(Writ("token inspect " + token).output, HasSubstr("active: no"));

  // The second rotation deletes the key past its overlap from the store.
  ASSERT_EQ(Writ("keys rotate").exit_code, 0);
  auto listed = Writ("keys list");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.output, Not(HasSubstr(old_kid)));
}

// rotation_period reaches the daemon's maintenance loop: a 1 s period rotates by itself.
class ShortRotationPeriodTest : public TokenApiTest {
 protected:
  std::string ConfigYaml() const override { return "token:\n  rotation_period: 1s\n  overlap: 1m\n"; }
};

TEST_F(ShortRotationPeriodTest, KeysRotateOnTheirOwn) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int64_t sequence = 1;
  while (sequence < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sequence = GetJson("/.well-known/spiffe-bundle").Find("spiffe_sequence")->as_int();
  }
  EXPECT_GE(sequence, 2);
  EXPECT_EQ(GetJson("/.well-known/spiffe-bundle").Find("spiffe_refresh_hint")->as_int(), 1);  // half the period, at least 1 s
  EXPECT_GE(GetJson("/.well-known/jwks.json").Find("keys")->as_array().size(), 2u);
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

TEST_F(WritRunTest, AsRootTheCommandRunsAsTheAgentsUidAndOwnsItsTokenFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_EQ(Writ("identity create nobody-bot --owner alice --selector-uid 65534 --selector-gid 65534 --selector-exe " +
                 shell_).exit_code, 0);
  auto run = Writ("run --as nobody-bot -- /bin/sh -c 'echo uid=$(id -u); stat -c owner=%u,mode=%a \"$WRIT_TOKEN_FILE\"'");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("uid=65534"));
  EXPECT_THAT(run.output, HasSubstr("owner=65534,mode=600"));
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
