#include "crypto/aead.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/random.h"
#include "testing/matchers.h"

namespace writ::crypto {
namespace {

std::string Unhex(std::string_view hex) { return HexDecode(hex).value(); }

// McGrew & Viega GCM spec test cases 13–16 (AES-256).
TEST(AesGcmTest, KnownAnswers) {
  std::string zero_key(32, '\0');
  std::string zero_nonce(12, '\0');
  auto empty = Aes256GcmEncryptWithNonce(zero_key, zero_nonce, "", "");
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(HexEncode(*empty), "530f8afbc74536b9a963b4f1c4cb738b");

  auto block = Aes256GcmEncryptWithNonce(zero_key, zero_nonce, std::string(16, '\0'), "");
  ASSERT_THAT(block, IsOk());
  EXPECT_EQ(HexEncode(*block), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");

  std::string key = Unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  std::string nonce = Unhex("cafebabefacedbaddecaf888");
  std::string plaintext = Unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
      "b16aedf5aa0de657ba637b39");
  std::string aad = Unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  auto sealed = Aes256GcmEncryptWithNonce(key, nonce, plaintext, aad);
  ASSERT_THAT(sealed, IsOk());
  EXPECT_EQ(HexEncode(*sealed),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
            "c5f61e6393ba7a0abcc9f662"
            "76fc6ece0f4e1768cddf8853bb2d551b");
  auto opened = Aes256GcmDecryptWithNonce(key, nonce, *sealed, aad);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(*opened, plaintext);
}

TEST(AesGcmTest, SealOpenRoundTripWithFreshNonces) {
  std::string key = RandomBytes(32);
  auto first = Aes256GcmSeal(key, "secret", "vault/1");
  auto second = Aes256GcmSeal(key, "secret", "vault/1");
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(*first, *second);
  EXPECT_EQ(first->size(), kGcmNonceSize + 6 + kGcmTagSize);
  auto opened = Aes256GcmOpen(key, *first, "vault/1");
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(*opened, "secret");
}

TEST(AesGcmTest, TamperingWrongAadOrKeyFailsWithDataLoss) {
  std::string key = RandomBytes(32);
  std::string box = Aes256GcmSeal(key, "secret", "a").value();
  EXPECT_THAT(Aes256GcmOpen(key, box, "b"), FailsWith(Code::kDataLoss));
  EXPECT_THAT(Aes256GcmOpen(RandomBytes(32), box, "a"), FailsWith(Code::kDataLoss));
  for (size_t i = 0; i < box.size(); ++i) {
    std::string bad = box;
    bad[i] ^= 0x40;
    EXPECT_THAT(Aes256GcmOpen(key, bad, "a"), FailsWith(Code::kDataLoss)) << "byte " << i;
  }
  EXPECT_THAT(Aes256GcmOpen(key, box.substr(0, 27), "a"), FailsWith(Code::kDataLoss));
}

TEST(AesGcmTest, BadKeySizeIsInvalidArgument) {
  EXPECT_THAT(Aes256GcmSeal("short", "x"), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(Aes256GcmOpen("short", std::string(40, 'x')), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(Aes256GcmEncryptWithNonce(std::string(32, 'k'), "n", "x", ""), FailsWith(Code::kInvalidArgument));
}

}  // namespace
}  // namespace writ::crypto
