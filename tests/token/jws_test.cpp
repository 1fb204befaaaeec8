#include "token/jws.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "testing/matchers.h"
#include "token/claims.h"

namespace writ::token {
namespace {

// RFC 8037 Appendix A.1 key and A.4 signature (deterministic Ed25519).
constexpr std::string_view kRfc8037D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr std::string_view kRfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr std::string_view kRfc8037Jws =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

json::Value Jwk(std::string_view text) { return json::Parse(text).value(); }

TEST(JwsTest, Rfc8037SignatureIsReproducedByteForByte) {
  const auto key = crypto::PrivateKey::FromEd25519Seed(Base64UrlDecode(kRfc8037D).value()).value();
  EXPECT_EQ(key.public_key().Thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  const std::string_view input = kRfc8037Jws.substr(0, kRfc8037Jws.rfind('.'));
  const std::string signature = key.Sign(input).value();
  EXPECT_EQ(std::string(input) + "." + Base64UrlEncode(signature), kRfc8037Jws);
}

TEST(JwsTest, Rfc8037VectorVerifiesWithItsJwk) {
  const json::Value jwk = Jwk(std::string(R"({"kty":"OKP","crv":"Ed25519","x":")") + std::string(kRfc8037X) + "\"}");
  auto payload = VerifyCompactWithJwk(kRfc8037Jws, jwk);
  ASSERT_TRUE(payload.has_value()) << payload.error().message;
  EXPECT_EQ(*payload, "Example of Ed25519 signing");
}

TEST(JwsTest, Rfc7515Es256VectorVerifies) {
  const json::Value jwk = Jwk(R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                  "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
  const std::string token =
      "eyJhbGciOiJFUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
  EXPECT_TRUE(VerifyCompactWithJwk(token, jwk).has_value());
  std::string tampered = token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  auto rejected = VerifyCompactWithJwk(tampered, jwk);
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().kind, TokenErrorKind::kBadSignature);
}

TEST(JwsTest, AlgorithmNamesOnInput) {
  EXPECT_EQ(ParseAlg("ES256").value(), crypto::KeyAlgorithm::kEs256);
  EXPECT_EQ(ParseAlg("EdDSA").value(), crypto::KeyAlgorithm::kEd25519);
  EXPECT_EQ(ParseAlg("Ed25519").value(), crypto::KeyAlgorithm::kEd25519);
  EXPECT_EQ(ParseAlg("none").error().kind, TokenErrorKind::kAlgNone);
  EXPECT_EQ(ParseAlg("NoNe").error().kind, TokenErrorKind::kAlgNone);
  EXPECT_EQ(ParseAlg("HS256").error().kind, TokenErrorKind::kAlgNotAllowed);
  EXPECT_EQ(ParseAlg("RS256").error().kind, TokenErrorKind::kAlgNotAllowed);
  EXPECT_EQ(ParseAlg("es256").error().kind, TokenErrorKind::kAlgNotAllowed);
}

TEST(JwsTest, SignedTokenRoundTripsForBothAlgorithms) {
  for (const auto algorithm : {crypto::KeyAlgorithm::kEs256, crypto::KeyAlgorithm::kEd25519}) {
    const auto key = crypto::PrivateKey::Generate(algorithm).value();
    const std::string kid = key.public_key().Thumbprint();
    const std::string token = SignCompact(key, kid, "JWT", R"({"a":1})").value();
    auto parsed = ParseCompact(token);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed->kid, kid);
    EXPECT_EQ(parsed->typ, "JWT");
    EXPECT_EQ(parsed->payload, R"({"a":1})");
    EXPECT_TRUE(VerifySignature(*parsed, key.public_key()).has_value());
    // A key of the other algorithm is refused before any signature math.
    const auto other = crypto::PrivateKey::Generate(algorithm == crypto::KeyAlgorithm::kEs256
                                                        ? crypto::KeyAlgorithm::kEd25519
                                                        : crypto::KeyAlgorithm::kEs256).value();
    EXPECT_EQ(VerifySignature(*parsed, other.public_key()).error().kind, TokenErrorKind::kAlgNotAllowed);
  }
}

TEST(JwsTest, ErrorNamesAreStable) {
  EXPECT_EQ(TokenErrorName(TokenErrorKind::kAlgNone), "alg_none");
  EXPECT_EQ(TokenErrorName(TokenErrorKind::kIdentityInactive), "identity_inactive");
  const Error error = TokenError{TokenErrorKind::kExpired, "token `x` expired 3s ago"}.ToError();
  EXPECT_EQ(error.code, Code::kUnauthenticated);
  EXPECT_EQ(error.message, "expired: token `x` expired 3s ago");
}

TEST(ClaimsTest, RoundTripAndRequiredClaims) {
  Claims claims{.iss = "spiffe://td", .sub = "spiffe://td/agent/bot", .aud = {"a", "b"}, .exp = 200, .iat = 100,
                .nbf = 100, .jti = "j1", .task = "t", .scope = "read write"};
  EXPECT_EQ(ParseClaims(SerializeClaims(claims)).value(), claims);
  EXPECT_EQ(ParseClaims(R"({"iss":"i","sub":"s","exp":1,"iat":1,"jti":"j"})").error().kind, TokenErrorKind::kMalformed);
  EXPECT_EQ(ParseClaims(R"({"iss":"i","sub":"s","aud":[],"exp":1,"iat":1,"jti":"j"})").error().kind,
            TokenErrorKind::kMalformed);
  EXPECT_EQ(ParseClaims(R"({"iss":"i","sub":"s","aud":"a","exp":"1","iat":1,"jti":"j"})").error().kind,
            TokenErrorKind::kMalformed);
  EXPECT_EQ(AgentNameFromSpiffeId("spiffe://td/agent/bot", "td"), "bot");
  EXPECT_EQ(AgentNameFromSpiffeId("spiffe://td/agent/a/b", "td"), "");
  EXPECT_EQ(AgentNameFromSpiffeId("spiffe://other/agent/bot", "td"), "");
}

}  // namespace
}  // namespace writ::token
