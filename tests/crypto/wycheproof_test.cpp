// Every Wycheproof vector for ECDSA P-256/SHA-256 (DER and P1363) and Ed25519: valid signatures are
// accepted, invalid ones rejected. "acceptable" cases (legacy encodings) must be rejected too: writ
// is strict.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/json.h"
#include "crypto/keys.h"

namespace writ::crypto {
namespace {

json::Value Load(const std::string& name) {
  std::ifstream in(std::string(WRIT_SHARED_DIR) + "/conformance/wycheproof/testvectors_v1/" + name);
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto value = json::Parse(buffer.str(), {.max_bytes = 16 << 20, .max_depth = 64});
  EXPECT_TRUE(value.has_value()) << name;
  return value ? *value : json::Value();
}

struct Tally {
  int valid = 0;
  int invalid = 0;
  int failures = 0;
};

Tally RunVectors(const std::string& file, SignatureFormat format) {
  Tally tally;
  json::Value root = Load(file);
  const json::Value* groups = root.Find("testGroups");
  if (groups == nullptr || !groups->is_array()) {
    ADD_FAILURE() << "no testGroups in " << file;
    return tally;
  }
  for (const json::Value& group : groups->as_array()) {
    Result<PublicKey> key = Fail(Code::kInvalidArgument, "unset");
    if (const json::Value* der = group.Find("publicKeyDer")) {
      key = PublicKey::FromDer(HexDecode(der->as_string()).value());
    }
    for (const json::Value& test : group.Find("tests")->as_array()) {
      int64_t id = test.Find("tcId")->as_int();
      std::string message = HexDecode(test.Find("msg")->as_string()).value();
      std::string signature = HexDecode(test.Find("sig")->as_string()).value();
      bool want = test.Find("result")->as_string() == "valid";
      bool got = key.has_value() && key->Verify(message, signature, format);
      (want ? tally.valid : tally.invalid)++;
      if (got != want) {
        tally.failures++;
        ADD_FAILURE() << file << " tcId " << id << " (" << test.Find("comment")->as_string() << "): want "
                      << (want ? "valid" : "invalid");
      }
    }
  }
  return tally;
}

TEST(WycheproofTest, EcdsaP256Sha256Der) {
  Tally tally = RunVectors("ecdsa_secp256r1_sha256_test.json", SignatureFormat::kDer);
  EXPECT_EQ(tally.failures, 0);
  EXPECT_GT(tally.valid, 0);
  EXPECT_GT(tally.invalid, 0);
  EXPECT_EQ(tally.valid + tally.invalid, 471);
}

TEST(WycheproofTest, EcdsaP256Sha256P1363) {
  Tally tally = RunVectors("ecdsa_secp256r1_sha256_p1363_test.json", SignatureFormat::kRaw);
  EXPECT_EQ(tally.failures, 0);
  EXPECT_EQ(tally.valid + tally.invalid, 252);
}

TEST(WycheproofTest, Ed25519) {
  Tally tally = RunVectors("ed25519_test.json", SignatureFormat::kRaw);
  EXPECT_EQ(tally.failures, 0);
  EXPECT_EQ(tally.valid + tally.invalid, 150);
}

}  // namespace
}  // namespace writ::crypto
