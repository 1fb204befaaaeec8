#include "crypto/keys.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

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

// ES256 keys keep prepared OpenSSL contexts: many threads signing and verifying with one key at
// once must each get a context of their own (ASan/TSan builds check the sharing).
TEST(EcdsaTest, OneKeySignsAndVerifiesFromManyThreadsAtOnce) {
  const auto key = PrivateKey::Generate(KeyAlgorithm::kEs256).value();
  const PublicKey public_key = key.public_key();
  std::atomic<int> good{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int thread_index = 0; thread_index < 8; ++thread_index) {
    threads.emplace_back([&, thread_index] {
      for (int round = 0; round < 25; ++round) {
        const std::string message = "m" + std::to_string(thread_index) + "/" + std::to_string(round);
        const auto signature = key.Sign(message);
        if (signature && public_key.Verify(message, *signature)) ++good;
        if (signature && public_key.Verify(message + "x", *signature)) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 8 * 25);
  EXPECT_EQ(wrong.load(), 0);
}

// Signatures whose integers are not minimal DER, negative, or wider than 32 bytes are refused in
// DER form; P1363 with leading zero bytes converts to minimal DER and verifies.
TEST(EcdsaTest, DerIsStrictAndP1363LeadingZerosAreMinimised) {
  const auto key = PrivateKey::Generate(KeyAlgorithm::kEs256).value();
  std::string der = key.Sign("msg", SignatureFormat::kDer).value();
  ASSERT_TRUE(key.public_key().Verify("msg", der, SignatureFormat::kDer));
  // Pad r with a redundant 0x00: same value, not DER.
  std::string padded = der;
  padded.insert(4, 1, '\0');
  padded[3] = static_cast<char>(padded[3] + 1);
  padded[1] = static_cast<char>(padded[1] + 1);
  EXPECT_FALSE(key.public_key().Verify("msg", padded, SignatureFormat::kDer));
  EXPECT_FALSE(key.public_key().Verify("msg", der + std::string(1, '\0'), SignatureFormat::kDer));  // trailing byte
  EXPECT_FALSE(key.public_key().Verify("msg", der.substr(0, der.size() - 1), SignatureFormat::kDer));
  EXPECT_FALSE(key.public_key().Verify("msg", "", SignatureFormat::kDer));
  // Many signatures: some have r or s below 2^248 (leading zero byte in P1363); all verify.
  for (int round = 0; round < 300; ++round) {
    const std::string message = "round " + std::to_string(round);
    const std::string raw = key.Sign(message).value();
    ASSERT_EQ(raw.size(), 64u);
    ASSERT_TRUE(key.public_key().Verify(message, raw)) << round;
  }
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
