// Every hostile token shape is refused, each with its own TokenErrorKind.
#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "token_fixture.h"

namespace writ::token {
namespace {

class HostileTokenTest : public TokenStackTest {
 protected:
  // A token with this exact header and payload JSON, signed by the active key.
  std::string Forge(std::string_view header, std::string_view payload) {
    const auto key = keys_->Active();
    std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
    return input + "." + Base64UrlEncode(key->private_key->Sign(input).value());
  }
  std::string Header(std::string_view alg = "ES256") {
    return std::string(R"({"alg":")") + std::string(alg) + R"(","kid":")" + keys_->Active()->kid + R"(","typ":"JWT"})";
  }
  // Valid claims for `bot` at the fake clock's now, plus `extra` members; nbf shifted by `nbf_offset`.
  std::string Payload(std::string_view extra = "", int64_t nbf_offset = 0) {
    const int64_t now = ToUnixSeconds(clock_.Now());
    return std::string(R"({"iss":"spiffe://example.org","sub":"spiffe://example.org/agent/bot","aud":"writ",)") +
           R"("iat":)" + std::to_string(now) + R"(,"nbf":)" + std::to_string(now + nbf_offset) +
           R"(,"jti":"j-forged")" + std::string(extra) + R"(,"exp":)" + std::to_string(now + 600) + "}";
  }
};

TEST_F(HostileTokenTest, ForgedTokenWithValidShapeIsAccepted) {
  // The baseline the other cases modify: the forging helper itself produces a valid token.
  EXPECT_EQ(Rejection(Forge(Header(), Payload())), std::nullopt);
}

TEST_F(HostileTokenTest, AlgNoneIsRefused) {
  const std::string header = std::string(R"({"alg":"none","kid":")") + keys_->Active()->kid + "\"}";
  EXPECT_EQ(Rejection(Base64UrlEncode(header) + "." + Base64UrlEncode(Payload()) + "."), TokenErrorKind::kAlgNone);
  EXPECT_EQ(Rejection(Base64UrlEncode(header) + "." + Base64UrlEncode(Payload()) + ".c2ln"), TokenErrorKind::kAlgNone);
}

TEST_F(HostileTokenTest, Hs256SignedWithThePublicKeyIsRefused) {
  const std::string input = Base64UrlEncode(Header("HS256")) + "." + Base64UrlEncode(Payload());
  for (const std::string& secret : {keys_->Active()->public_key.ToPem(), keys_->Active()->public_key.Raw()}) {
    const auto mac = crypto::HmacSha256(secret, input);
    const std::string token = input + "." + Base64UrlEncode(crypto::AsBytes(mac));
    EXPECT_EQ(Rejection(token), TokenErrorKind::kAlgNotAllowed);
  }
}

TEST_F(HostileTokenTest, UnknownKidIsRefused) {
  const auto stranger = crypto::PrivateKey::Generate(crypto::KeyAlgorithm::kEs256).value();
  const std::string header =
      std::string(R"({"alg":"ES256","kid":")") + stranger.public_key().Thumbprint() + R"(","typ":"JWT"})";
  const std::string token = SignCompact(stranger, stranger.public_key().Thumbprint(), "JWT", Payload()).value();
  EXPECT_EQ(Rejection(token), TokenErrorKind::kUnknownKid);
}

TEST_F(HostileTokenTest, KidTricksAreRefused) {
  const std::vector<std::string> kids = {"../../../../etc/passwd", "x' OR '1'='1", "", "kid\\u0000",
                                       std::string(43, '.'), std::string(44, 'A'), std::string(1000, 'A')};
  for (const std::string& kid : kids) {
    const std::string header = std::string(R"({"alg":"ES256","kid":")") + kid + "\"}";
    EXPECT_EQ(Rejection(Forge(header, Payload())), TokenErrorKind::kBadKid) << kid;
  }
  EXPECT_EQ(Rejection(Forge(R"({"alg":"ES256"})", Payload())), TokenErrorKind::kBadKid);
  EXPECT_EQ(Rejection(Forge(R"({"alg":"ES256","kid":7})", Payload())), TokenErrorKind::kBadKid);
}

TEST_F(HostileTokenTest, KeyUrlAndEmbeddedKeyHeadersAreRefused) {
  const std::string kid = keys_->Active()->kid;
  const std::vector<std::string> members = {R"("jku":"https://evil.example/jwks.json")", R"("x5u":"https://evil.example/c.pem")",
                                            R"("jwk":{"kty":"EC"})", R"("x5c":["MIIB"])", R"("crit":["exp"])"};
  for (const std::string& member : members) {
    const std::string header = std::string(R"({"alg":"ES256","kid":")") + kid + "\"," + member + "}";
    EXPECT_EQ(Rejection(Forge(header, Payload())), TokenErrorKind::kForbiddenHeader) << member;
  }
}

TEST_F(HostileTokenTest, ExpiredTokenIsRefused) {
  const IssuedToken issued = IssueBot();
  clock_.Advance(std::chrono::minutes(5) + std::chrono::seconds(31));
  EXPECT_EQ(Rejection(issued.token), TokenErrorKind::kExpired);
}

TEST_F(HostileTokenTest, NotYetValidTokenIsRefused) {
  EXPECT_EQ(Rejection(Forge(Header(), Payload("", 120))), TokenErrorKind::kNotYetValid);
  EXPECT_EQ(Rejection(Forge(Header(), Payload("", 20))), std::nullopt);  // within the 30s skew
}

TEST_F(HostileTokenTest, WrongAudienceIsRefused) {
  const IssuedToken issued = IssueBot({.audience = {"billing-api"}});
  EXPECT_EQ(Rejection(issued.token, "writ"), TokenErrorKind::kWrongAudience);
  EXPECT_EQ(Rejection(issued.token, "billing-api"), std::nullopt);
}

TEST_F(HostileTokenTest, WrongIssuerIsRefused) {
  std::string payload = Payload();
  payload.replace(payload.find("spiffe://example.org\""), 21, "spiffe://evil.example\"");
  EXPECT_EQ(Rejection(Forge(Header(), payload)), TokenErrorKind::kWrongIssuer);
}

TEST_F(HostileTokenTest, TamperedPayloadIsRefused) {
  const IssuedToken issued = IssueBot();
  const size_t first = issued.token.find('.');
  const size_t second = issued.token.find('.', first + 1);
  std::string payload = Base64UrlDecode(issued.token.substr(first + 1, second - first - 1)).value();
  payload.replace(payload.find("agent/bot"), 9, "agent/bos");
  const std::string tampered = issued.token.substr(0, first + 1) + Base64UrlEncode(payload) + issued.token.substr(second);
  EXPECT_EQ(Rejection(tampered), TokenErrorKind::kBadSignature);
  std::string flipped = issued.token;
  flipped[second + 5] = flipped[second + 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Rejection(flipped), TokenErrorKind::kBadSignature);
}

TEST_F(HostileTokenTest, TruncatedTokensAreRefused) {
  const IssuedToken issued = IssueBot();
  const std::string& token = issued.token;
  // Cut anywhere: its own kind, `truncated`, whatever base64url the cut leaves behind.
  EXPECT_EQ(Rejection(token.substr(0, token.rfind('.'))), TokenErrorKind::kTruncated);
  EXPECT_EQ(Rejection(token.substr(0, token.rfind('.') + 1)), TokenErrorKind::kTruncated);
  for (size_t cut = 1; cut < 86; ++cut) {
    EXPECT_EQ(Rejection(token.substr(0, token.size() - cut)), TokenErrorKind::kTruncated) << "cut " << cut;
  }
  EXPECT_EQ(Rejection(token.substr(0, token.find('.') + 5)), TokenErrorKind::kTruncated);
  EXPECT_EQ(Rejection(token.substr(0, 10)), TokenErrorKind::kTruncated);
  EXPECT_EQ(Rejection(""), TokenErrorKind::kTruncated);
  EXPECT_EQ(TokenErrorName(TokenErrorKind::kTruncated), "truncated");
  // A signature with bytes added is not truncated: it just does not verify.
  EXPECT_EQ(Rejection(token + "AA"), TokenErrorKind::kBadSignature);
  EXPECT_EQ(Rejection("...."), TokenErrorKind::kMalformed);
  EXPECT_EQ(Rejection(token + ".extra"), TokenErrorKind::kMalformed);
}

TEST_F(HostileTokenTest, OversizeTokenIsRefusedBeforeParsing) {
  EXPECT_EQ(Rejection(std::string(9000, 'A')), TokenErrorKind::kOversize);
  EXPECT_EQ(Rejection(Forge(Header(), Payload(",\"pad\":\"" + std::string(9000, 'x') + "\""))), TokenErrorKind::kOversize);
}

TEST_F(HostileTokenTest, RevokedTokenIsRefusedEvenWhenCached) {
  const IssuedToken issued = IssueBot();
  EXPECT_EQ(Rejection(issued.token), std::nullopt);
  EXPECT_EQ(verifier_->cached_tokens(), 1u);
  ASSERT_THAT(revocations_->RevokeJti(issued.claims.jti, issued.claims.sub, TimePoint(std::chrono::seconds(issued.claims.exp))), IsOk());
  EXPECT_EQ(Rejection(issued.token), TokenErrorKind::kRevoked);
}

TEST_F(HostileTokenTest, TokenOfSuspendedIdentityIsRefused) {
  const IssuedToken cached = IssueBot();
  EXPECT_EQ(Rejection(cached.token), std::nullopt);
  const IssuedToken cold = IssueBot();
  ASSERT_THAT(registry_->Transition(identity::Kind::kAgent, "bot", identity::State::kSuspended, {"root", "test"}), IsOk());
  EXPECT_EQ(Rejection(cached.token), TokenErrorKind::kIdentityInactive);
  EXPECT_EQ(Rejection(cold.token), TokenErrorKind::kIdentityInactive);
}

TEST_F(HostileTokenTest, JsonTricksInHeaderAndPayloadAreMalformed) {
  EXPECT_EQ(Rejection(Forge("[]", Payload())), TokenErrorKind::kMalformed);
  EXPECT_EQ(Rejection(Forge(R"({"alg":"ES256","alg":"none"})", Payload())), TokenErrorKind::kMalformed);
  EXPECT_EQ(Rejection(Forge(Header(), "not json")), TokenErrorKind::kMalformed);
  EXPECT_EQ(Rejection(Forge(Header(), R"({"iss":"spiffe://example.org"})")), TokenErrorKind::kMalformed);
  EXPECT_EQ(Rejection(Forge(Header(), std::string(20, '[') + std::string(20, ']'))), TokenErrorKind::kMalformed);
}

}  // namespace
}  // namespace writ::token
