// RFC 9449: a key-bound token verifies only with a fresh proof by that key for this request.
#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "token/dpop.h"
#include "token_fixture.h"

namespace writ::token {
namespace {

constexpr std::string_view kUrl = "https://api.example/v1/things";

class DpopTest : public TokenStackTest {
 protected:
  void SetUp() override {
    TokenStackTest::SetUp();
    client_key_ = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEs256).value();
    dpop_ = std::make_unique<DpopVerifier>(DpopOptions{.clock = &clock_});
    bound_ = IssueBot({.dpop_jkt = client_key_->public_key().Thumbprint()});
  }

  struct ProofFields {
    std::string jti = "p1";
    std::string htm = "POST";
    std::string htu = std::string(kUrl);
    int64_t iat_offset = 0;
    std::string ath;  // "" = the hash of bound_.token
    std::string typ = "dpop+jwt";
    bool include_private = false;
    std::string nonce;  // "" = no nonce claim
  };

  std::string Proof(const ProofFields& fields, const crypto::PrivateKey* key = nullptr) {
    const crypto::PrivateKey& signer = key != nullptr ? *key : *client_key_;
    json::Value jwk = signer.public_key().ToJwk();
    if (fields.include_private) jwk.Set("d", "AAAA");
    json::Value header;
    header.Set("typ", fields.typ);
    header.Set("alg", "ES256");
    header.Set("jwk", jwk);
    json::Value payload;
    payload.Set("jti", fields.jti);
    payload.Set("htm", fields.htm);
    payload.Set("htu", fields.htu);
    payload.Set("iat", ToUnixSeconds(clock_.Now()) + fields.iat_offset);
    if (!fields.nonce.empty()) payload.Set("nonce", fields.nonce);
    payload.Set("ath", fields.ath.empty() ? Base64UrlEncode(crypto::AsBytes(crypto::Sha256(bound_.token))) : fields.ath);
    const std::string input = Base64UrlEncode(json::Serialize(header)) + "." + Base64UrlEncode(json::Serialize(payload));
    return input + "." + Base64UrlEncode(signer.Sign(input).value());
  }

  std::optional<TokenErrorKind> Present(const std::string& proof, std::string_view method = "POST",
                                        std::string_view url = kUrl) {
    DpopPresentation presentation{dpop_.get(), proof, method, url};
    auto verified = verifier_->Verify(bound_.token, "writ", &presentation);
    if (verified) return std::nullopt;
    return verified.error().kind;
  }

  std::optional<crypto::PrivateKey> client_key_;
  std::unique_ptr<DpopVerifier> dpop_;
  IssuedToken bound_;
};

TEST_F(DpopTest, BoundTokenCarriesCnfAndNeedsAProof) {
  EXPECT_EQ(bound_.claims.cnf_jkt, client_key_->public_key().Thumbprint());
  EXPECT_EQ(ParseClaims(SerializeClaims(bound_.claims)).value().cnf_jkt, bound_.claims.cnf_jkt);
  EXPECT_EQ(Rejection(bound_.token), TokenErrorKind::kDpopRequired);
  EXPECT_EQ(Present(Proof({})), std::nullopt);
  // Introspection-style verification reports the binding instead of requiring the proof.
  EXPECT_TRUE(verifier_->VerifyAnyAudience(bound_.token).has_value());
}

TEST_F(DpopTest, ReplayedProofIsRefused) {
  const std::string proof = Proof({});
  EXPECT_EQ(Present(proof), std::nullopt);
  EXPECT_EQ(Present(proof), TokenErrorKind::kDpopReplayed);
}

TEST_F(DpopTest, ProofForAnotherRequestOrTokenIsRefused) {
  EXPECT_EQ(Present(Proof({.jti = "a"}), "GET"), TokenErrorKind::kDpopInvalid);
  EXPECT_EQ(Present(Proof({.jti = "b"}), "POST", "https://api.example/v1/other"), TokenErrorKind::kDpopInvalid);
  EXPECT_EQ(Present(Proof({.jti = "c", .ath = "not-the-hash"})), TokenErrorKind::kDpopInvalid);
  EXPECT_EQ(Present(Proof({.jti = "d", .iat_offset = -300})), TokenErrorKind::kDpopInvalid);
  EXPECT_EQ(Present(Proof({.jti = "e", .typ = "JWT"})), TokenErrorKind::kDpopInvalid);
  EXPECT_EQ(Present(Proof({.jti = "f", .include_private = true})), TokenErrorKind::kDpopInvalid);
  EXPECT_EQ(Present("garbage"), TokenErrorKind::kDpopInvalid);
  // The query string is not part of htu.
  EXPECT_EQ(Present(Proof({.jti = "g"}), "POST", std::string(kUrl) + "?page=2"), std::nullopt);
}

TEST_F(DpopTest, ProofByAnotherKeyIsAMismatch) {
  const auto other = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEs256).value();
  EXPECT_EQ(Present(Proof({.jti = "x"}, &other)), TokenErrorKind::kDpopMismatch);
}

TEST_F(DpopTest, ServerNoncesAreRequiredFreshAndOurOwn) {
  dpop_ = std::make_unique<DpopVerifier>(DpopOptions{.require_nonce = true, .nonce_lifetime = std::chrono::seconds(60),
                                                     .clock = &clock_});
  EXPECT_EQ(Present(Proof({.jti = "n1"})), TokenErrorKind::kDpopUseNonce);
  EXPECT_EQ(TokenErrorName(TokenErrorKind::kDpopUseNonce), "use_dpop_nonce");
  const std::string nonce = dpop_->IssueNonce();
  EXPECT_EQ(nonce.size(), 32u);
  EXPECT_EQ(Present(Proof({.jti = "n2", .nonce = nonce})), std::nullopt);
  // A nonce may serve several proofs while fresh; each proof's jti is still single-use.
  EXPECT_EQ(Present(Proof({.jti = "n3", .nonce = nonce})), std::nullopt);
  EXPECT_EQ(Present(Proof({.jti = "n3", .nonce = nonce})), TokenErrorKind::kDpopReplayed);
  // Forged, tampered, foreign and stale nonces are refused with use_dpop_nonce.
  std::string tampered = nonce;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Present(Proof({.jti = "n4", .nonce = tampered})), TokenErrorKind::kDpopUseNonce);
  EXPECT_EQ(Present(Proof({.jti = "n5", .nonce = "not-a-nonce"})), TokenErrorKind::kDpopUseNonce);
  EXPECT_EQ(Present(Proof({.jti = "n6", .nonce = std::string(4096, 'A')})), TokenErrorKind::kDpopInvalid);  // oversize proof
  const DpopVerifier other({.require_nonce = true, .clock = &clock_});
  EXPECT_EQ(Present(Proof({.jti = "n7", .nonce = other.IssueNonce()})), TokenErrorKind::kDpopUseNonce);
  clock_.Advance(std::chrono::seconds(61));  // the bound token (5 min) is still valid
  EXPECT_EQ(Present(Proof({.jti = "n8", .nonce = nonce})), TokenErrorKind::kDpopUseNonce);
  EXPECT_EQ(Present(Proof({.jti = "n9", .nonce = dpop_->IssueNonce()})), std::nullopt);
  // A nonce from the future (a clock that went back, or a forgery) is refused too.
  const std::string later = dpop_->IssueNonce();
  clock_.Advance(std::chrono::seconds(-10));
  EXPECT_EQ(Present(Proof({.jti = "n10", .nonce = later})), TokenErrorKind::kDpopUseNonce);
}

TEST_F(DpopTest, WithoutRequiredNoncesANonceClaimIsIgnored) {
  EXPECT_EQ(Present(Proof({.jti = "m1", .nonce = "anything"})), std::nullopt);
}

TEST_F(DpopTest, UnboundTokensStayBearerTokens) {
  const IssuedToken bearer = IssueBot();
  EXPECT_EQ(Rejection(bearer.token), std::nullopt);
}

}  // namespace
}  // namespace writ::token
