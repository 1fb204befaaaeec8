// End to end: identity changes reach the audit ledger; `writ audit` reads it, proves an event and
// verifies the whole ledger offline; a row edited in the database file is caught.
#include <algorithm>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/writd_fixture.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ {
namespace {

using ::testing::HasSubstr;
using testing::RunningWritd;
using testing::RunShell;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writd_ = std::make_unique<RunningWritd>(dir_.path() / "data");
    ASSERT_TRUE(writd_->Start()) << "writd did not start";
  }

  testing::CommandResult Writ(const std::string& arguments) {
    return RunShell(std::string(WRIT_CLI_BINARY) + " " + arguments, writd_->socket());
  }

  writ::TempDir dir_;
  std::unique_ptr<RunningWritd> writd_;
};

TEST_F(AuditTest, IdentityChangesAreRecordedProvableAndVerifiable) {
  ASSERT_EQ(Writ("identity create alice --kind human").exit_code, 0);
  ASSERT_EQ(Writ("identity create bot --owner alice").exit_code, 0);
  ASSERT_EQ(Writ("identity suspend bot --reason 'odd traffic'").exit_code, 0);

  auto events = Writ("-o json audit query --kind identity_changed");
  ASSERT_EQ(events.exit_code, 0) << events.output;
  auto parsed = json::Parse(events.output);
  ASSERT_THAT(parsed, IsOk()) << events.output;
  const json::Array& items = parsed->Find("items")->as_array();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].Find("action")->as_string(), "suspend");
  EXPECT_EQ(items[2].Find("subject")->as_string(), "spiffe://writ.local/agent/bot");
  EXPECT_EQ(items[2].Find("details")->Find("reason")->as_string(), "odd traffic");

  auto proof = Writ("audit prove --id " + items[1].Find("id")->as_string());
  ASSERT_EQ(proof.exit_code, 0) << proof.output;
  EXPECT_THAT(proof.output, HasSubstr("\"leaf_hash\""));
  EXPECT_THAT(Writ("audit prove --id no-such-event").exit_code, 1);

  auto verified = Writ("audit verify");
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_THAT(verified.output, HasSubstr("ledger verifies: 3 events"));
}

TEST_F(AuditTest, AgentsAttachReasoningTracesWithTheirToken) {
  ASSERT_EQ(Writ("identity create alice --kind human").exit_code, 0);
  ASSERT_EQ(Writ("identity create bot --owner alice").exit_code, 0);
  auto issued = Writ("token issue --agent bot");
  ASSERT_EQ(issued.exit_code, 0) << issued.output;
  std::string token;
  std::istringstream lines(issued.output);
  for (std::string line; std::getline(lines, line);) {
    if (std::count(line.begin(), line.end(), '.') == 2 && line.find(' ') == std::string::npos) token = line;
  }
  ASSERT_FALSE(token.empty()) << issued.output;
  auto post = [&](const std::string& authorization, const std::string& body) {
    return RunShell("curl -s -w ' %{http_code}' --unix-socket " + writd_->socket() +
                        " -H 'Content-Type: application/json' " + authorization + " --data '" + body +
                        "' http://writd/v1/traces",
                    writd_->socket());
  };
  auto added = post("-H 'Authorization: Bearer " + token + "'",
                    R"({"correlation_id":"corr-1","reasoning":"the issue looks like a duplicate"})");
  EXPECT_THAT(added.output, HasSubstr(" 201")) << added.output;
  EXPECT_THAT(post("", R"({"correlation_id":"corr-1","reasoning":"x"})").output, HasSubstr(" 401"));
  EXPECT_THAT(post("-H 'Authorization: Bearer " + token + "x'", R"({"correlation_id":"c","reasoning":"x"})").output,
              HasSubstr(" 401"));
  EXPECT_THAT(post("-H 'Authorization: Bearer " + token + "'", R"({"correlation_id":"c"})").output, HasSubstr(" 400"));
  EXPECT_THAT(post("-H 'Authorization: Bearer " + token + "'",
                   R"({"correlation_id":"c","reasoning":")" + std::string(70'000, 'a') + R"("})")
                  .output,
              HasSubstr(" 413"));

  auto events = Writ("-o json audit query --correlation-id corr-1");
  ASSERT_EQ(events.exit_code, 0) << events.output;
  const json::Value parsed = json::Parse(events.output).value();
  const json::Array& items = parsed.Find("items")->as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].Find("kind")->as_string(), "reasoning_trace");
  EXPECT_EQ(items[0].Find("subject")->as_string(), "spiffe://writ.local/agent/bot");
  // The token itself never reaches the ledger.
  auto all = Writ("-o json audit query --limit 1000");
  EXPECT_EQ(all.output.find(token), std::string::npos);
}

TEST_F(AuditTest, AnEditedEventIsCaughtByOfflineVerification) {
  ASSERT_EQ(Writ("identity create alice --kind human").exit_code, 0);
  ASSERT_EQ(Writ("identity create mallory --kind human").exit_code, 0);
  auto vkey = RunShell("curl -s --unix-socket " + writd_->socket() + " http://writd/v1/audit/key", writd_->socket());
  ASSERT_THAT(vkey.output, HasSubstr("+"));
  writd_->Kill(SIGTERM);
  const std::string db = (dir_.path() / "data" / "writ.db").string();
  // Rewrite history: the first event now names mallory as the actor.
  auto edit = RunShell("sqlite3 " + db + " \"UPDATE ledger_segments SET data = replace(data, 'uid:', 'mallory-') "
                       "WHERE first_idx = 0\"", "");
  ASSERT_EQ(edit.exit_code, 0) << edit.output;
  while (!vkey.output.empty() && vkey.output.back() == '\n') vkey.output.pop_back();
  auto verified = RunShell(std::string(WRIT_CLI_BINARY) + " audit verify --data-dir " + (dir_.path() / "data").string() +
                               " --vkey '" + vkey.output + "'",
                           "");
  EXPECT_EQ(verified.exit_code, 3) << verified.output;
  EXPECT_THAT(verified.output, HasSubstr("does NOT verify: event 0"));
}

}  // namespace
}  // namespace writ
