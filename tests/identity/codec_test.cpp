#include "identity/codec.h"

#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::identity {
namespace {

using ::testing::HasSubstr;

json::Value Json(std::string_view text) { return json::Parse(text).value(); }

TEST(CodecTest, ParsesAFullAgent) {
  const auto agent = ParseCreateRequest(Json(R"({"kind":"agent","name":"triage-bot","owner":"alice","tier":"high",
      "labels":{"team":"sre"},"max_ttl":"10m","groups":["bots"],"description":"triages issues",
      "selectors":{"uid":1000,"gid":1000,"exe_path":"/usr/bin/python3",
                   "exe_sha256":"0000000000000000000000000000000000000000000000000000000000000000"}})")).value();
  EXPECT_EQ(agent.kind, Kind::kAgent);
  EXPECT_EQ(agent.owner, "alice");
  EXPECT_EQ(agent.tier, Tier::kHigh);
  EXPECT_EQ(agent.max_ttl, std::chrono::minutes(10));
  EXPECT_EQ(agent.labels.at("team"), "sre");
  EXPECT_EQ(agent.selectors.uid, 1000u);
  EXPECT_EQ(agent.groups, std::vector<std::string>{"bots"});
}

TEST(CodecTest, RejectsBadCreateRequestsWithPreciseMessages) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([])", "identity must be a JSON object, not array"},
      {R"({"name":"x"})", "identity.kind is required"},
      {R"({"kind":"robot","name":"x"})", "kind `robot` is not one of agent, human, group"},
      {R"({"kind":"agent","name":"x"})", "field `owner` is required: every agent has an accountable human owner"},
      {R"({"kind":"agent","name":"x","owner":"a","tier":"extreme"})", "tier `extreme` is not one of low, medium, high"},
      {R"({"kind":"agent","name":"x","owner":"a","max_ttl":"2d"})", "field `max_ttl` must be between 1s and 1d"},
      {R"({"kind":"agent","name":"x","owner":"a","max_ttl":5})", "field `max_ttl` must be a duration string such as `15m`"},
      {R"({"kind":"agent","name":"x","owner":"a","selectors":{"exe_path":"bin/sh"}})", "field `selectors.exe_path` must be an absolute path"},
      {R"({"kind":"agent","name":"x","owner":"a","selectors":{"exe_sha256":"ABC"}})", "field `selectors.exe_sha256` must be 64 lowercase hex digits"},
      {R"({"kind":"agent","name":"x","owner":"a","selectors":{"uid":-1}})", "field `selectors.uid` must be a Unix id between 0 and 4294967294"},
      {R"({"kind":"agent","name":"x","owner":"a","selectors":{"pid":3}})", "selectors has an unknown field \"pid\""},
      {R"({"kind":"agent","name":"x","owner":"a","state":"active"})", "field `state` is set by writd and cannot be given"},
      {R"({"kind":"agent","name":"x","owner":"a","colour":"red"})", "identity has an unknown field \"colour\""},
      {R"({"kind":"human","name":"x","tier":"low"})", "field `tier` applies only to agents"},
      {R"({"kind":"agent","name":"x","owner":"a","uid":5})", "field `uid` applies only to humans"},
      {R"({"kind":"agent","name":"x","owner":"a","labels":{"Bad Key":"v"}})", "field `labels` key `Bad Key` must have 1 to 63 characters from [a-z0-9._/-]"},
      {R"({"kind":"agent","name":"x","owner":"a","labels":{"k":1}})", "field `labels.k` must be a string, not integer"},
      {R"({"kind":"agent","name":"a/b","owner":"a"})", "name `a/b` may contain only letters, digits, `.`, `-` and `_` (SPIFFE path rules)"},
  };
  for (const auto& [body, message] : cases) {
    EXPECT_THAT(ParseCreateRequest(Json(body)), FailsWith(Code::kInvalidArgument, message)) << body;
  }
}

TEST(CodecTest, StoredDocumentRoundTrips) {
  Identity agent = ParseCreateRequest(Json(R"({"kind":"agent","name":"bot","owner":"alice","labels":{"a":"b"},
      "selectors":{"uid":7}})")).value();
  agent.version = 3;
  agent.state = State::kSuspended;
  agent.spiffe_id = "spiffe://writ.local/agent/bot";
  agent.created_at = FromUnixMillis(1000);
  agent.updated_at = FromUnixMillis(2000);
  const auto back = ParseStoredDocument(json::Serialize(ToJson(agent))).value();
  EXPECT_EQ(back, agent);
  EXPECT_THAT(ParseStoredDocument("{not json"), FailsWith(Code::kDataLoss));
  EXPECT_THAT(ParseStoredDocument(R"({"kind":"agent"})"), FailsWith(Code::kDataLoss));
}

TEST(CodecTest, PatchesChangeOnlyGivenFields) {
  const auto patch = ParsePatch(Kind::kAgent, Json(R"({"tier":"medium","labels":{}})")).value();
  Identity agent;
  agent.tier = Tier::kLow;
  agent.owner = "alice";
  agent.labels = {{"x", "y"}};
  ApplyPatch(patch, agent);
  EXPECT_EQ(agent.tier, Tier::kMedium);
  EXPECT_TRUE(agent.labels.empty());
  EXPECT_EQ(agent.owner, "alice");
  EXPECT_THAT(ParsePatch(Kind::kAgent, Json(R"({})")), FailsWith(Code::kInvalidArgument, HasSubstr("changes nothing")));
  EXPECT_THAT(ParsePatch(Kind::kAgent, Json(R"({"state":"active"})")),
              FailsWith(Code::kInvalidArgument, HasSubstr("use suspend, resume, revoke or retire")));
  EXPECT_THAT(ParsePatch(Kind::kAgent, Json(R"({"name":"other"})")), FailsWith(Code::kInvalidArgument, HasSubstr("cannot be updated")));
  const auto clear = ParsePatch(Kind::kHuman, Json(R"({"uid":null})")).value();
  ASSERT_TRUE(clear.uid.has_value());
  EXPECT_FALSE(clear.uid->has_value());
}

}  // namespace
}  // namespace writ::identity
