#include "ledger/event.h"

#include <random>

#include <gtest/gtest.h>

#include "common/json.h"

#include "testing/matchers.h"

namespace writ::ledger {
namespace {

TEST(EventTest, KindNamesRoundTripAndAreStable) {
  EXPECT_EQ(EventKindName(EventKind::kDecision), "decision");
  EXPECT_EQ(static_cast<int>(EventKind::kDecision), 1);
  EXPECT_EQ(static_cast<int>(EventKind::kReasoningTrace), 11);
  for (int value = 1; value <= 13; ++value) {
    auto kind = static_cast<EventKind>(value);
    EXPECT_EQ(ParseEventKind(EventKindName(kind)).value(), kind);
  }
  EXPECT_THAT(ParseEventKind("nope"), FailsWith(Code::kInvalidArgument));
}

TEST(EventTest, EncodeDecodeRoundTrip) {
  Event event;
  event.id = "0193a000-0000-7000-8000-000000000001";
  event.time = FromUnixMillis(1'700'000'000'123);
  event.kind = EventKind::kDecision;
  event.actor = "a";
  event.subject = "s \"quoted\"";
  event.action = "act";
  event.resource = "res";
  event.decision = Decision::kApprovalRequired;
  event.policy_ids = {"p1", "p2"};
  event.policy_set_version = "v9";
  event.correlation_id = "c";
  event.trace_id = "t";
  event.details.Set("x", 1);
  auto body = EncodeEventBody(event, {});
  ASSERT_THAT(body, IsOk());
  EXPECT_EQ(body->rfind("{\"v\":1,\"id\":\"0193a000-0000-7000-8000-000000000001\",\"time\":1700000000123,\"kind\":\"decision\"", 0), 0u);
  std::string leaf = EncodeLeaf(*body, 5, std::string(32, '\x01'));
  auto decoded = DecodeLeaf(leaf);
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(decoded->seq, 5u);
  EXPECT_EQ(decoded->prev, std::string(32, '\x01'));
  EXPECT_EQ(decoded->event.subject, event.subject);
  EXPECT_EQ(decoded->event.decision, Decision::kApprovalRequired);
  EXPECT_EQ(decoded->event.policy_ids, event.policy_ids);
  EXPECT_EQ(decoded->event.time, event.time);
  EXPECT_EQ(decoded->event.details, event.details);
  // Deterministic: the same event always encodes to the same bytes.
  EXPECT_EQ(EncodeEventBody(event, {}).value(), *body);
}

TEST(EventTest, SecretsAreFingerprinted) {
  Event event;
  event.id = "x";
  event.details.Set("Password", "hunter2");
  event.secrets.emplace_back("api", "sk-123");
  auto body = EncodeEventBody(event, {.hmac_key = "key"}).value();
  EXPECT_EQ(body.find("hunter2"), std::string::npos);
  EXPECT_EQ(body.find("sk-123"), std::string::npos);
  EXPECT_NE(body.find(SecretFingerprint("key", "sk-123")), std::string::npos);
  auto unkeyed = EncodeEventBody(event, {}).value();
  EXPECT_NE(unkeyed.find("\"redacted\""), std::string::npos);
}

// The body as the format was first written, with json::Writer: the direct encoder must give exactly
// these bytes (a change of one byte would change every leaf hash after a rebuild, and the meaning of
// docs/ledger_format.md §1).
std::string WriterBody(const Event& event, const json::Value& details) {
  json::Writer writer;
  writer.BeginObject();
  writer.Key("v").Int(1);
  writer.Key("id").String(event.id);
  writer.Key("time").Int(ToUnixMillis(event.time));
  writer.Key("kind").String(EventKindName(event.kind));
  auto maybe = [&](std::string_view key, const std::string& value) {
    if (!value.empty()) writer.Key(key).String(value);
  };
  maybe("actor", event.actor);
  maybe("subject", event.subject);
  maybe("action", event.action);
  maybe("resource", event.resource);
  if (event.decision != Decision::kNone) writer.Key("decision").String(DecisionName(event.decision));
  if (!event.policy_ids.empty()) {
    writer.Key("policies").BeginArray();
    for (const std::string& policy : event.policy_ids) writer.String(policy);
    writer.EndArray();
  }
  maybe("policy_set_version", event.policy_set_version);
  maybe("correlation_id", event.correlation_id);
  maybe("trace_id", event.trace_id);
  if (details.is_object()) writer.Key("details").Json(details);
  writer.EndObject();
  std::string body = writer.Take();
  body.pop_back();
  return body;
}

// Strings that exercise every escaping path: plain, quotes and backslashes, control bytes, DEL,
// valid multi-byte UTF-8 and invalid bytes (replaced by U+FFFD).
std::string RandomString(std::mt19937& random) {
  static const std::vector<std::string> kPieces = {"plain", "spiffe://writ.test/agent/bot-1", "\"", "\\", "\n",
                                                   std::string(1, '\x01'), "\x7f", "\xc3\xa9", "\xe2\x82\xac",
                                                   "\xf0\x9f\x98\x80", "\xff", "\xc3", "</script>", " ", ""};
  std::string text;
  const int pieces = static_cast<int>(random() % 5);
  for (int i = 0; i < pieces; ++i) text += kPieces[random() % kPieces.size()];
  return text;
}

json::Value RandomJson(std::mt19937& random, int depth) {
  switch (random() % (depth > 2 ? 6 : 8)) {
    case 0: return json::Value(nullptr);
    case 1: return json::Value(random() % 2 == 0);
    case 2: return json::Value(static_cast<int64_t>(random()) - (int64_t{1} << 31));
    case 3: return json::Value(uint64_t{18446744073709551615ULL} - random() % 10);
    case 4: return json::Value(static_cast<double>(random() % 100000) / 7.0);
    case 5: return json::Value(RandomString(random));
    case 6: {
      json::Array array;
      for (int i = static_cast<int>(random() % 4); i > 0; --i) array.push_back(RandomJson(random, depth + 1));
      return json::Value(std::move(array));
    }
    default: {
      json::Value object(json::Object{});
      for (int i = static_cast<int>(random() % 4); i > 0; --i) object.Set(RandomString(random), RandomJson(random, depth + 1));
      return object;
    }
  }
}

TEST(EventTest, DirectEncodingHasExactlyTheWriterBytes) {
  std::mt19937 random(20261122);
  for (int n = 0; n < 3000; ++n) {
    Event event;
    event.id = n % 10 == 0 ? RandomString(random) + "x" : "0193a000-0000-7000-8000-00000000" + std::to_string(1000 + n);
    event.time = FromUnixMillis(n % 5 == 0 ? -static_cast<int64_t>(random()) : int64_t{1'700'000'000'000} + n);
    event.kind = static_cast<EventKind>(1 + n % 14);
    event.actor = RandomString(random);
    event.subject = RandomString(random);
    event.action = RandomString(random);
    event.resource = RandomString(random);
    event.decision = static_cast<Decision>(n % 4);
    for (int i = static_cast<int>(random() % 3); i > 0; --i) event.policy_ids.push_back(RandomString(random));
    event.policy_set_version = RandomString(random);
    event.correlation_id = RandomString(random);
    event.trace_id = RandomString(random);
    if (n % 3 != 0) {
      event.details = json::Value(json::Object{});
      for (int i = static_cast<int>(random() % 5); i > 0; --i) {
        std::string name = RandomString(random) + std::to_string(i);
        event.details.Set(name, RandomJson(random, 0));
      }
    }
    auto body = EncodeEventBody(event, {});
    ASSERT_THAT(body, IsOk());
    ASSERT_EQ(*body, WriterBody(event, event.details)) << "event " << n;
  }
}

TEST(EventTest, DirectEncodingEscapesEveryByteValueAtEveryWordPosition) {
  // The plain-string check reads eight bytes at a time: each byte value, at each position of a word
  // and of the tail, must be escaped exactly as json::AppendQuoted does.
  for (int value = 0; value < 256; ++value) {
    for (size_t at = 0; at < 19; ++at) {
      Event event;
      event.id = "x";
      event.actor = std::string(19, 'a');
      event.actor[at] = static_cast<char>(value);
      ASSERT_EQ(EncodeEventBody(event, {}).value(), WriterBody(event, event.details)) << value << " at " << at;
    }
  }
}

TEST(EventTest, DirectEncodingOfSecretsAndLimits) {
  Event event;
  event.id = "0193a000-0000-7000-8000-000000000001";
  event.details.Set("user", "alice");
  event.details.Set("nested", json::Value(json::Object{{"Token", json::Value("t0k")}, {"n", json::Value(1.5)}}));
  event.secrets.emplace_back("api_key", "sk-123");
  const std::string body = EncodeEventBody(event, {.hmac_key = "k"}).value();
  json::Value redacted = event.details;
  redacted.mutable_object()[1].second.mutable_object()[0].second = json::Value(SecretFingerprint("k", "t0k"));
  redacted.Set("api_key", SecretFingerprint("k", "sk-123"));
  EXPECT_EQ(body, WriterBody(event, redacted));
  EXPECT_EQ(body.find("t0k"), std::string::npos);
  // The limit counts the encoded bytes (escapes included) plus room for the position.
  Event big;
  big.id = "x";
  big.actor = std::string(1000, '"');  // 2000 bytes once escaped
  EXPECT_THAT(EncodeEventBody(big, {.max_event_bytes = 1500}), FailsWith(Code::kResourceExhausted));
  EXPECT_THAT(EncodeEventBody(big, {.max_event_bytes = 4096}), IsOk());
  Event bad;
  bad.id = "x";
  bad.details = json::Value(3);
  EXPECT_THAT(EncodeEventBody(bad, {}), FailsWith(Code::kInvalidArgument));
}

TEST(EventTest, DecodeRejectsGarbage) {
  EXPECT_THAT(DecodeLeaf("{"), FailsWith(Code::kDataLoss));
  EXPECT_THAT(DecodeLeaf("{\"v\":2}"), FailsWith(Code::kDataLoss));
  EXPECT_THAT(DecodeLeaf("[]"), FailsWith(Code::kDataLoss));
}

}  // namespace
}  // namespace writ::ledger
