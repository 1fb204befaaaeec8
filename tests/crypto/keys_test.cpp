#include "crypto/keys.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "testing/matchers.h"

namespace writ::crypto {
namespace {

class KeysTest : public ::testing::TestWithParam<KeyAlgorithm> {};

TEST_P(KeysTest, SignVerifyRoundTrip) {
  auto key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  auto signature = key->Sign("hello");
  ASSERT_THAT(signature, IsOk());
  EXPECT_EQ(signature->size(), 64u);
  PublicKey public_key = key->public_key();
  EXPECT_TRUE(public_key.Verify("hello", *signature));
  EXPECT_FALSE(public_key.Verify("hellp", *signature));
  std::string bad = *signature;
  bad[10] ^= 1;
  EXPECT_FALSE(public_key.Verify("hello", bad));
  EXPECT_FALSE(public_key.Verify("hello", ""));
  auto other = PrivateKey::Generate(GetParam()).value();
  EXPECT_FALSE(other.public_key().Verify("hello", *signature));
}

TEST_P(KeysTest, PemRoundTrip) {
  auto key = PrivateKey::Generate(GetParam()).value();
  std::string pem = key.ToPem();
  EXPECT_NE(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto again = PrivateKey::FromPem(pem);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->algorithm(), GetParam());
  EXPECT_TRUE(again->public_key() == key.public_key());
  auto signature = again->Sign("m").value();
  EXPECT_TRUE(key.public_key().Verify("m", signature));

  auto public_again = PublicKey::FromPem(key.public_key().ToPem());
  ASSERT_THAT(public_again, IsOk());
  EXPECT_TRUE(*public_again == key.public_key());
  auto from_der = PublicKey::FromDer(key.public_key().ToDer());
  ASSERT_THAT(from_der, IsOk());
  EXPECT_TRUE(*from_der == key.public_key());
}

TEST_P(KeysTest, RawAndJwkRoundTrip) {
  PublicKey key = PrivateKey::Generate(GetParam()).value().public_key();
  auto from_raw = PublicKey::FromRaw(GetParam(), key.Raw());
  ASSERT_THAT(from_raw, IsOk());
  EXPECT_TRUE(*from_raw == key);
  auto from_jwk = PublicKey::FromJwk(key.ToJwk());
  ASSERT_THAT(from_jwk, IsOk());
  EXPECT_TRUE(*from_jwk == key);
  EXPECT_EQ(key.Thumbprint().size(), 43u);
  EXPECT_EQ(from_jwk->Thumbprint(), key.Thumbprint());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, KeysTest,
                         ::testing::Values(KeyAlgorithm::kEd25519, KeyAlgorithm::kEs256));

TEST(EcdsaTest, DerAndP1363FormsBothVerify) {
  auto key = PrivateKey::Generate(KeyAlgorithm::kEs256).value();
  auto der = key.Sign("msg", SignatureFormat::kDer).value();
  EXPECT_EQ(der[0], 0x30);
  EXPECT_TRUE(key.public_key().Verify("msg", der, SignatureFormat::kDer));
  EXPECT_FALSE(key.public_key().Verify("msg", der, SignatureFormat::kRaw));
  auto raw = key.Sign("msg").value();
  EXPECT_FALSE(key.public_key().Verify("msg", raw, SignatureFormat::kDer));
}

TEST(Ed25519Test, DerFormIsRejected) {
  auto key = PrivateKey::Generate(KeyAlgorithm::kEd25519).value();
  EXPECT_THAT(key.Sign("m", SignatureFormat::kDer), FailsWith(Code::kInvalidArgument));
}

// RFC 8037 appendix A: the Ed25519 key, its public part, thumbprint and a JWS signature.
TEST(Ed25519Test, Rfc8037Vectors) {
  auto seed = Base64UrlDecode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").value();
  auto key = PrivateKey::FromEd25519Seed(seed);
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(Base64UrlEncode(key->public_key().Raw()), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  EXPECT_EQ(key->public_key().Thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  std::string signing_input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  auto signature = key->Sign(signing_input).value();
  EXPECT_EQ(Base64UrlEncode(signature),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
}

TEST(PublicKeyTest, RejectsMalformedInput) {
  EXPECT_THAT(PublicKey::FromRaw(KeyAlgorithm::kEd25519, "short"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromRaw(KeyAlgorithm::kEs256, std::string(65, '\x04')), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromDer("garbage"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(PublicKey::FromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
              FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(PrivateKey::FromPem("nope"), FailsWith(Code::kInvalidArgument));
  json::Value jwk;
  jwk.Set("kty", "RSA");
  jwk.Set("crv", "x");
  jwk.Set("x", "AA");
  EXPECT_THAT(PublicKey::FromJwk(jwk), FailsWith(Code::kInvalidArgument, ::testing::HasSubstr("RSA")));
  EXPECT_THAT(PublicKey::FromJwk(json::Value(1)), FailsWith(Code::kInvalidArgument));
}

}  // namespace
}  // namespace writ::crypto
