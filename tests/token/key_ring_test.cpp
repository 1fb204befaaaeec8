// Signing keys: generated once, sealed at rest, reloaded, rotated with an overlap window.
#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "token_fixture.h"

namespace writ::token {
namespace {

using ::testing::HasSubstr;

class KeyRingTest : public TokenStackTest {};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST_F(KeyRingTest, FirstStartMakesOneEs256KeyWhoseKidIsItsThumbprint) {
  const auto key = keys_->Active();
  EXPECT_EQ(key->public_key.algorithm(), crypto::KeyAlgorithm::kEs256);
  EXPECT_EQ(key->kid, key->public_key.Thumbprint());
  EXPECT_TRUE(IsThumbprintKid(key->kid));
  EXPECT_EQ(keys_->sequence(), 1);
  struct stat info {};
  ASSERT_EQ(::stat(dir_.file("master.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(info.st_size, 32);
}

TEST_F(KeyRingTest, KeysAreReloadedAndSealedAtRest) {
  const std::string kid = keys_->Active()->kid;
  const std::string pem = keys_->Active()->private_key->ToPem();
  const IssuedToken issued = IssueBot();
  Open();
  EXPECT_EQ(keys_->Active()->kid, kid);
  EXPECT_EQ(Rejection(issued.token), std::nullopt);
  store_.reset();
  const std::string database = ReadFile(dir_.file("writ.db")) + ReadFile(dir_.file("writ.db-wal"));
  EXPECT_EQ(database.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(database.find(pem.substr(40, 40)), std::string::npos);
  Open();
}

TEST_F(KeyRingTest, AnotherMasterKeyCannotOpenTheKeys) {
  EXPECT_THAT(KeyRing::Open(store_->tokens(), std::string(32, 'k')), FailsWith(Code::kDataLoss));
  EXPECT_THAT(KeyRing::Open(store_->tokens(), "short"), FailsWith(Code::kInvalidArgument));
}

TEST_F(KeyRingTest, MasterKeyReadableByOthersIsRefused) {
  ASSERT_EQ(::chmod(dir_.file("master.key").c_str(), 0644), 0);
  EXPECT_THAT(LoadOrCreateMasterKey(dir_.file("master.key")), FailsWith(Code::kFailedPrecondition, HasSubstr("chmod 600")));
  std::ofstream(dir_.file("short.key")) << "abc";
  ASSERT_EQ(::chmod(dir_.file("short.key").c_str(), 0600), 0);
  EXPECT_THAT(LoadOrCreateMasterKey(dir_.file("short.key")), FailsWith(Code::kFailedPrecondition, HasSubstr("32 bytes")));
}

TEST_F(KeyRingTest, RotationKeepsThePreviousKeyForTheOverlapWindow) {
  Open({.rotation_period = std::chrono::hours(1), .overlap = std::chrono::minutes(10)});
  const std::string old_kid = keys_->Active()->kid;
  const IssuedToken old_token = IssueBot();
  EXPECT_THAT(keys_->RotateIfDue(), IsOk());
  EXPECT_EQ(keys_->Active()->kid, old_kid);  // not due yet
  clock_.Advance(std::chrono::hours(1));
  const IssuedToken late_old = IssueBot();
  ASSERT_EQ(keys_->RotateIfDue().value(), true);
  const std::string new_kid = keys_->Active()->kid;
  EXPECT_NE(new_kid, old_kid);
  EXPECT_EQ(keys_->sequence(), 2);
  EXPECT_EQ(Rejection(late_old.token), std::nullopt);  // signed by the retired key, inside the overlap
  const json::Value jwks = keys_->Jwks();
  ASSERT_EQ(jwks.Find("keys")->as_array().size(), 2u);
  EXPECT_EQ(jwks.Find("keys")->as_array()[0].Find("kid")->as_string(), new_kid);
  EXPECT_EQ(jwks.Find("keys")->as_array()[0].Find("alg")->as_string(), "ES256");
  EXPECT_EQ(jwks.Find("keys")->as_array()[0].Find("use")->as_string(), "sig");
  // TTLs are capped by the overlap, so no token outlives its key.
  EXPECT_LE(late_old.claims.exp - late_old.claims.iat, 600);
  clock_.Advance(std::chrono::minutes(10));
  EXPECT_EQ(keys_->Jwks().Find("keys")->as_array().size(), 1u);
  EXPECT_EQ(keys_->Find(old_kid), nullptr);
  EXPECT_NE(keys_->Find(new_kid), nullptr);
  // After a restart the ring still knows which key is active.
  Open({.rotation_period = std::chrono::hours(1), .overlap = std::chrono::minutes(10)});
  EXPECT_EQ(keys_->Active()->kid, new_kid);
  EXPECT_EQ(Rejection(IssueBot().token), std::nullopt);
}

TEST_F(KeyRingTest, ConfiguringAnotherAlgorithmRotatesAtOpenAndTheOldKeyStillVerifies) {
  const std::string es256_kid = keys_->Active()->kid;
  const IssuedToken es256_token = IssueBot();
  Open({.algorithm = crypto::KeyAlgorithm::kEd25519, .overlap = std::chrono::minutes(10)});
  EXPECT_EQ(keys_->Active()->public_key.algorithm(), crypto::KeyAlgorithm::kEd25519);
  EXPECT_NE(keys_->Active()->kid, es256_kid);
  EXPECT_EQ(keys_->sequence(), 2);
  EXPECT_EQ(Rejection(es256_token.token), std::nullopt);  // inside the overlap
  const IssuedToken eddsa_token = IssueBot();
  EXPECT_EQ(Rejection(eddsa_token.token), std::nullopt);
  EXPECT_EQ(eddsa_token.token.substr(0, eddsa_token.token.find('.')),
            Base64UrlEncode(R"({"alg":"EdDSA","kid":")" + keys_->Active()->kid + R"(","typ":"JWT"})"));
  // Opening again with the same algorithm does not rotate.
  Open({.algorithm = crypto::KeyAlgorithm::kEd25519, .overlap = std::chrono::minutes(10)});
  EXPECT_EQ(keys_->sequence(), 2);
  clock_.Advance(std::chrono::minutes(10));
  EXPECT_EQ(Rejection(es256_token.token), TokenErrorKind::kUnknownKid);
}

TEST_F(KeyRingTest, JwksKeysVerifyIssuedTokensLikeARelyingParty) {
  const IssuedToken issued = IssueBot();
  const json::Value jwks = keys_->Jwks();
  const json::Value& jwk = jwks.Find("keys")->as_array().front();
  auto payload = VerifyCompactWithJwk(issued.token, jwk);
  ASSERT_TRUE(payload.has_value()) << payload.error().message;
  EXPECT_EQ(ParseClaims(*payload).value(), issued.claims);
}

}  // namespace
}  // namespace writ::token
