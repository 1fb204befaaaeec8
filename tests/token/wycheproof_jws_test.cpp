// Wycheproof vectors through the token module's own JWS code path (ParseCompact / VerifySignature /
// VerifyCompactWithJwk): every ES256 (P1363) and Ed25519 case gives the expected verdict, DER
// signatures are never accepted inside a JWS, and the JWS-level file's ES256 cases give theirs
// while every other algorithm in it is refused by the allow-list.
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/json.h"
#include "token/jws.h"

namespace writ::token {
namespace {

const std::string kDir = std::string(WRIT_SHARED_DIR) + "/conformance/wycheproof/";

json::Value Load(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto parsed = json::Parse(buffer.str(), {.max_bytes = 64 << 20, .max_depth = 64});
  EXPECT_TRUE(parsed.has_value()) << path;
  return parsed.value_or(json::Value());
}

std::string StringAt(const json::Value& object, std::string_view key) {
  const json::Value* value = object.Find(key);
  return value != nullptr && value->is_string() ? value->as_string() : std::string();
}

struct Tally {
  int valid = 0, invalid = 0, acceptable = 0;
};

// Runs a signature-vector file (msg, sig hex) through VerifySignature as a JWS would.
Tally RunSignatureFile(const std::string& file, crypto::KeyAlgorithm algorithm, bool der) {
  Tally tally;
  const json::Value root = Load(kDir + file);
  const json::Value* groups = root.Find("testGroups");
  if (groups == nullptr) {
    ADD_FAILURE() << "no testGroups in " << file;
    return tally;
  }
  for (const json::Value& group : groups->as_array()) {
    const json::Value* key_json = group.Find("publicKey") != nullptr ? group.Find("publicKey") : group.Find("key");
    const std::string raw_hex = algorithm == crypto::KeyAlgorithm::kEs256 ? StringAt(*key_json, "uncompressed")
                                                                          : StringAt(*key_json, "pk");
    auto key = crypto::PublicKey::FromRaw(algorithm, HexDecode(raw_hex).value_or(""));
    for (const json::Value& test : group.Find("tests")->as_array()) {
      const std::string result = StringAt(test, "result");
      const std::string message = HexDecode(StringAt(test, "msg")).value();
      ParsedJws parsed;
      parsed.algorithm = algorithm;
      parsed.signing_input = message;
      parsed.signature = HexDecode(StringAt(test, "sig")).value();
      const bool accepted = key.has_value() && VerifySignature(parsed, *key).has_value();
      const std::string id = file + " tcId " + std::to_string(test.Find("tcId")->as_int());
      if (der) {
        EXPECT_FALSE(accepted) << id << ": a DER signature must never verify inside a JWS";
      } else if (result == "valid") {
        EXPECT_TRUE(accepted) << id;
      } else if (result == "invalid") {
        EXPECT_FALSE(accepted) << id;
      }
      (result == "valid" ? tally.valid : result == "invalid" ? tally.invalid : tally.acceptable)++;
    }
  }
  return tally;
}

TEST(WycheproofJwsTest, EcdsaP256P1363VectorsV1) {
  const Tally tally = RunSignatureFile("testvectors_v1/ecdsa_secp256r1_sha256_p1363_test.json", crypto::KeyAlgorithm::kEs256, false);
  EXPECT_EQ(tally.valid + tally.invalid + tally.acceptable, 252);
}

TEST(WycheproofJwsTest, EcdsaP256P1363VectorsLegacy) {
  const Tally tally = RunSignatureFile("testvectors/ecdsa_secp256r1_sha256_p1363_test.json", crypto::KeyAlgorithm::kEs256, false);
  EXPECT_EQ(tally.valid + tally.invalid + tally.acceptable, 219);
}

TEST(WycheproofJwsTest, Ed25519VectorsV1) {
  const Tally tally = RunSignatureFile("testvectors_v1/ed25519_test.json", crypto::KeyAlgorithm::kEd25519, false);
  EXPECT_EQ(tally.valid + tally.invalid + tally.acceptable, 150);
}

TEST(WycheproofJwsTest, Ed25519VectorsLegacy) {
  const Tally tally = RunSignatureFile("testvectors/eddsa_test.json", crypto::KeyAlgorithm::kEd25519, false);
  EXPECT_EQ(tally.valid + tally.invalid + tally.acceptable, 145);
}

TEST(WycheproofJwsTest, DerSignaturesAreNeverAcceptedInAJws) {
  const Tally v1 = RunSignatureFile("testvectors_v1/ecdsa_secp256r1_sha256_test.json", crypto::KeyAlgorithm::kEs256, true);
  EXPECT_EQ(v1.valid + v1.invalid + v1.acceptable, 471);
  const Tally legacy = RunSignatureFile("testvectors/ecdsa_secp256r1_sha256_test.json", crypto::KeyAlgorithm::kEs256, true);
  EXPECT_EQ(legacy.valid + legacy.invalid + legacy.acceptable, 387);
}

TEST(WycheproofJwsTest, JsonWebSignatureVectors) {
  const json::Value root = Load(kDir + "testvectors/json_web_signature_test.json");
  int es256_checked = 0, refused_by_allow_list = 0;
  for (const json::Value& group : root.Find("testGroups")->as_array()) {
    const json::Value* jwk = group.Find("public");
    const bool es256_or_ed25519 =
        jwk != nullptr && ((StringAt(*jwk, "kty") == "EC" && StringAt(*jwk, "crv") == "P-256") ||
                           (StringAt(*jwk, "kty") == "OKP" && StringAt(*jwk, "crv") == "Ed25519"));
    for (const json::Value& test : group.Find("tests")->as_array()) {
      const std::string jws = StringAt(test, "jws");
      const std::string result = StringAt(test, "result");
      const std::string id = "tcId " + StringAt(test, "tcId") + " (" + StringAt(test, "comment") + ")";
      if (jws.empty()) continue;  // JWE or JSON-serialization cases: not compact JWS
      if (es256_or_ed25519) {
        const bool accepted = VerifyCompactWithJwk(jws, *jwk).has_value();
        if (result == "valid") {
          EXPECT_TRUE(accepted) << id;
        } else if (result == "invalid") {
          EXPECT_FALSE(accepted) << id;
        }
        ++es256_checked;
      } else {
        // HMAC, RSA, P-384/P-521 keys: outside the allow-list, so nothing verifies with them.
        const json::Value no_key;
        EXPECT_FALSE(VerifyCompactWithJwk(jws, jwk != nullptr ? *jwk : no_key).has_value()) << id;
        ++refused_by_allow_list;
      }
    }
  }
  EXPECT_GT(es256_checked, 30);
  EXPECT_GT(refused_by_allow_list, 300);
}

}  // namespace
}  // namespace writ::token
