#include "crypto/hash.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/random.h"

namespace writ::crypto {
namespace {

std::string Hex(const Sha256Digest& digest) { return HexEncode(std::span<const uint8_t>(digest)); }

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, MillionAs) {
  EXPECT_EQ(Hex(Sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, IncrementalMatchesOneShotAndResets) {
  std::string data = RandomBytes(1000);
  Sha256Hasher hasher;
  for (size_t i = 0; i < data.size(); i += 37) hasher.Update(std::string_view(data).substr(i, 37));
  EXPECT_EQ(hasher.Finish(), Sha256(data));
  EXPECT_EQ(hasher.Finish(), Sha256(""));  // reset after Finish
  hasher.Update("abc");
  EXPECT_EQ(hasher.Finish(), Sha256("abc"));
}

// RFC 4231 test cases 1, 2 and 6.
TEST(HmacSha256Test, Rfc4231) {
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Test, VerifyAcceptsOnlyTheExactMac) {
  Sha256Digest mac = HmacSha256("key", "data");
  std::string good(AsBytes(mac));
  EXPECT_TRUE(VerifyHmacSha256("key", "data", good));
  std::string flipped = good;
  flipped[31] ^= 1;
  EXPECT_FALSE(VerifyHmacSha256("key", "data", flipped));
  EXPECT_FALSE(VerifyHmacSha256("key", "data", good.substr(0, 16)));
  EXPECT_FALSE(VerifyHmacSha256("other", "data", good));
  EXPECT_EQ(Hex(HmacSha256("", "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(RandomTest, BytesDiffer) {
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
  EXPECT_TRUE(RandomBytes(0).empty());
}

}  // namespace
}  // namespace writ::crypto
