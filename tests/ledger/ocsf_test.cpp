#include "ledger/ocsf.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "ledger_test_util.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::ledger {
namespace {

json::Value Ocsf(const Event& event, uint64_t index = 3) {
  return json::Parse(ToOcsfJson(StoredEvent{index, event})).value();
}

TEST(OcsfTest, DecisionIsApiActivityWithAuthorization) {
  Event event = testing::MakeEvent(2);
  event.id = "0193a000-0000-7000-8000-000000000001";
  event.time = FromUnixMillis(1'700'000'000'000);
  event.kind = EventKind::kDecision;
  event.action = "Writ::Action::\"http:GET\"";
  json::Value ocsf = Ocsf(event);
  EXPECT_EQ(ocsf.Find("class_uid")->as_int(), 6003);
  EXPECT_EQ(ocsf.Find("category_uid")->as_int(), 6);
  EXPECT_EQ(ocsf.Find("activity_id")->as_int(), 2);
  EXPECT_EQ(ocsf.Find("type_uid")->as_int(), 600302);
  EXPECT_EQ(ocsf.Find("time")->as_int(), 1'700'000'000'000);
  EXPECT_EQ(ocsf.Find("status_id")->as_int(), 1);
  EXPECT_EQ(ocsf.Find("metadata")->Find("version")->as_string(), "1.8.0");
  EXPECT_EQ(ocsf.Find("metadata")->Find("product")->Find("name")->as_string(), "writ");
  EXPECT_EQ(ocsf.Find("metadata")->Find("sequence")->as_int(), 3);
  const json::Value& authorization = ocsf.Find("actor")->Find("authorizations")->as_array().at(0);
  EXPECT_EQ(authorization.Find("decision")->as_string(), "allowed");
  EXPECT_EQ(authorization.Find("policy")->Find("uid")->as_string(), "policy2");
  EXPECT_EQ(ocsf.Find("api")->Find("request")->Find("uid")->as_string(), event.id);
  EXPECT_NE(ocsf.Find("src_endpoint"), nullptr);
}

TEST(OcsfTest, TokenAndLifecycleClasses) {
  Event token = testing::MakeEvent(1);
  token.kind = EventKind::kTokenIssued;
  token.decision = Decision::kNone;
  json::Value auth = Ocsf(token);
  EXPECT_EQ(auth.Find("class_uid")->as_int(), 3002);
  EXPECT_EQ(auth.Find("category_uid")->as_int(), 3);
  EXPECT_EQ(auth.Find("auth_protocol_id")->as_int(), 6);
  EXPECT_EQ(auth.Find("user")->Find("uid")->as_string(), token.subject);

  Event suspended = testing::MakeEvent(1);
  suspended.kind = EventKind::kIdentityChanged;
  suspended.details.Set("change", "suspend");
  json::Value entity = Ocsf(suspended);
  EXPECT_EQ(entity.Find("class_uid")->as_int(), 3004);
  EXPECT_EQ(entity.Find("activity_id")->as_int(), 12);
  EXPECT_EQ(entity.Find("type_uid")->as_int(), 300412);
}

TEST(OcsfTest, ExportStreamsEveryMatchingEventAsOneLine) {
  TempDir dir;
  testing::TestStore store(dir.file("writ.db"));
  NoteSigner signer = testing::TestSigner();
  auto ledger = Ledger::Open({.signer = &signer}, *store.ledger).value();
  for (int i = 0; i < 1203; ++i) ASSERT_THAT(ledger->Append(testing::MakeEvent(i)), IsOk());
  size_t lines = 0;
  ASSERT_THAT(ExportOcsf(*ledger, {}, [&](std::string_view line) {
                EXPECT_EQ(line.back(), '\n');
                EXPECT_EQ(line.find('\n'), line.size() - 1);
                ++lines;
                return true;
              }),
              IsOk());
  EXPECT_EQ(lines, 1203u);
  size_t decisions = 0;
  ASSERT_THAT(ExportOcsf(*ledger, {.kind = EventKind::kDecision}, [&](std::string_view) {
                ++decisions;
                return decisions < 10;
              }),
              IsOk());
  EXPECT_EQ(decisions, 10u);
}

}  // namespace
}  // namespace writ::ledger
