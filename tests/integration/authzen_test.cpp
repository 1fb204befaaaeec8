// The AuthZEN interop cases and the certification scenario against a real writd, configured with
// the Cedar policies and entities in tests/integration/authzen/<scenario>/ through `writ policy
// apply`. Prints the counts ("[authzen] todo single 40/40 ...").
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <gtest/gtest.h>

#include "integration/writd_fixture.h"
#include "testing/temp_dir.h"

namespace writ {
namespace {

using testing::RunShell;
using testing::RunningWritd;

const std::string kInterop = std::string(WRIT_SHARED_DIR) + "/conformance/authzen/interop/";

json::Value LoadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = json::Parse(text.str(), {.max_bytes = 16 << 20});
  EXPECT_TRUE(parsed.has_value()) << path;
  return parsed ? *parsed : json::Value();
}

// Search results in a canonical order (the interop runner sorts them too).
std::vector<std::string> SortedResults(const json::Value* results) {
  std::vector<std::string> out;
  if (results == nullptr || !results->is_array()) return out;
  for (const auto& item : results->as_array()) out.push_back(json::Serialize(item));
  std::sort(out.begin(), out.end());
  return out;
}

class AuthzenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writd_ = std::make_unique<RunningWritd>(dir_.path() / "data");
    ASSERT_TRUE(writd_->Start()) << "writd did not start";
    client_ = std::make_unique<server::Client>(server::ClientOptions{.unix_socket = writd_->socket()});
  }

  void Activate(const std::string& scenario) {
    auto applied = RunShell(std::string(WRIT_CLI_BINARY) + " policy apply tests/integration/authzen/" + scenario +
                                " --activate --reason 'interop " + scenario + "'",
                            writd_->socket());
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
  }

  // POSTs `body` and returns (status, parsed answer).
  std::pair<int, json::Value> Post(const std::string& path, const json::Value& body, const server::Headers& headers = {}) {
    auto response = client_->Request("POST", path, body, headers);
    if (!response) return {0, json::Value()};
    auto parsed = response->Json();
    return {response->status, parsed ? *parsed : json::Value()};
  }

  int PostRawStatus(const std::string& path, std::string_view content_type, std::string_view body) {
    auto response = client_->RequestRaw("POST", path, content_type, body);
    return response ? response->status : 0;
  }

  TempDir dir_;
  std::unique_ptr<RunningWritd> writd_;
  std::unique_ptr<server::Client> client_;
};

bool DecisionIs(const json::Value& answer, bool expected) {
  const json::Value* decision = answer.Find("decision");
  return decision != nullptr && decision->is_bool() && decision->as_bool() == expected;
}

TEST_F(AuthzenTest, TodoInteropCasesAllPass) {
  Activate("todo");
  const json::Value cases = LoadJson(kInterop + "authzen-todo-backend/test/decisions-authorization-api-1_0-02.json");
  int single_total = 0, single_pass = 0, batch_total = 0, batch_pass = 0;
  for (const auto& item : cases.Find("evaluation")->as_array()) {
    ++single_total;
    auto [status, answer] = Post("/access/v1/evaluation", *item.Find("request"));
    const bool ok = status == 200 && DecisionIs(answer, item.Find("expected")->as_bool());
    single_pass += ok;
    EXPECT_TRUE(ok) << json::Serialize(*item.Find("request")) << " -> " << status << " " << json::Serialize(answer);
  }
  for (const auto& item : cases.Find("evaluations")->as_array()) {
    ++batch_total;
    auto [status, answer] = Post("/access/v1/evaluations", *item.Find("request"));
    const json::Value* evaluations = answer.Find("evaluations");
    // The interop runner compares the items by JSON string: they must be exactly {"decision":bool}.
    const bool ok = status == 200 && evaluations != nullptr &&
                    json::Serialize(*evaluations) == json::Serialize(*item.Find("expected"));
    batch_pass += ok;
    EXPECT_TRUE(ok) << json::Serialize(answer);
  }
  std::cout << "[authzen] todo single " << single_pass << "/" << single_total << ", batch " << batch_pass << "/"
            << batch_total << std::endl;
  EXPECT_EQ(single_total, 40);
  EXPECT_EQ(batch_total, 3);
}

TEST_F(AuthzenTest, ApiGatewayInteropCasesAllPass) {
  Activate("gateway");
  const json::Value cases = LoadJson(kInterop + "authzen-api-gateways/test-harness/test/decisions.json");
  int total = 0, pass = 0;
  for (const auto& item : cases.Find("evaluation")->as_array()) {
    ++total;
    auto [status, answer] = Post("/access/v1/evaluation", *item.Find("request"));
    const bool ok = status == 200 && DecisionIs(answer, item.Find("expected")->as_bool());
    pass += ok;
    EXPECT_TRUE(ok) << json::Serialize(*item.Find("request")) << " -> " << json::Serialize(answer);
  }
  std::cout << "[authzen] api gateway " << pass << "/" << total << std::endl;
  EXPECT_EQ(total, 25);
}

TEST_F(AuthzenTest, SearchInteropCasesAllPass) {
  Activate("search");
  for (std::string kind : {"subject", "resource", "action"}) {
    const json::Value cases = LoadJson(kInterop + "authzen-search-demo/test/" + kind + "/results.json");
    int total = 0, pass = 0;
    for (const auto& item : cases.Find("evaluation")->as_array()) {
      ++total;
      auto [status, answer] = Post("/access/v1/search/" + kind, *item.Find("request"));
      // The runner deep-compares the whole body: only `results`.
      const bool ok = status == 200 && answer.is_object() && answer.as_object().size() == 1 &&
                      SortedResults(answer.Find("results")) == SortedResults(item.Find("expected")->Find("results"));
      pass += ok;
      EXPECT_TRUE(ok) << kind << ": " << json::Serialize(*item.Find("request")) << " -> " << json::Serialize(answer);
    }
    std::cout << "[authzen] search " << kind << " " << pass << "/" << total << std::endl;
  }
}

json::Value Entity(std::string type, std::string id, json::Value properties = json::Value()) {
  json::Value out = json::Object{{"type", std::move(type)}, {"id", std::move(id)}};
  if (!properties.is_null()) out.Set("properties", std::move(properties));
  return out;
}

json::Value Eval(json::Value subject, json::Value action, json::Value resource) {
  return json::Object{{"subject", std::move(subject)}, {"action", std::move(action)}, {"resource", std::move(resource)}};
}

TEST_F(AuthzenTest, CertificationScenarioDecisionsSearchesAndMalformedRequests) {
  Activate("certification");
  const json::Value read = json::Object{{"name", "read"}};
  const json::Value write = json::Object{{"name", "write"}};
  const json::Value archived = json::Object{{"status", "archived"}};
  struct Case {
    json::Value request;
    bool expected;
  };
  const std::vector<Case> decisions = {
      {Eval(Entity("user", "alice"), read, Entity("record", "record-1")), true},
      {Eval(Entity("user", "alice"), write, Entity("record", "record-1")), true},
      {Eval(Entity("user", "bob"), read, Entity("record", "record-1")), true},
      {Eval(Entity("user", "bob"), write, Entity("record", "record-1")), false},
      {Eval(Entity("user", "alice"), write, Entity("record", "record-1", archived)), false},
      {Eval(Entity("user", "carol", json::Object{{"role", "admin"}}), write, Entity("record", "record-9", archived)), true},
      {Eval(Entity("user", "alice"), json::Object{{"name", "delete"}, {"properties", json::Object{{"soft", true}}}},
            Entity("record", "record-1")), true},
      {Eval(Entity("user", "alice"), json::Object{{"name", "delete"}, {"properties", json::Object{{"soft", false}}}},
            Entity("record", "record-1")), false},
  };
  int decision_pass = 0;
  for (const auto& c : decisions) {
    json::Value with_context = c.request;
    with_context.Set("context", json::Object{{"time", "2026-11-22T03:00:00Z"}, {"ip", "10.0.0.1"}});
    auto [status, answer] = Post("/access/v1/evaluation", c.request);
    auto [status2, answer2] = Post("/access/v1/evaluation", with_context);
    auto [status3, answer3] = Post("/access/v1/evaluation", c.request);  // repeated: identical answer
    const bool ok = status == 200 && status2 == 200 && DecisionIs(answer, c.expected) && DecisionIs(answer2, c.expected) &&
                    json::Serialize(answer) == json::Serialize(answer3);
    decision_pass += ok;
    EXPECT_TRUE(ok) << json::Serialize(c.request) << " -> " << json::Serialize(answer);
  }

  struct Search {
    std::string kind;
    json::Value request;
    std::vector<std::string> must_include;
  };
  const std::vector<Search> searches = {
      {"subject", Eval(json::Object{{"type", "user"}}, read, Entity("record", "record-1")),
       {R"({"type":"user","id":"alice"})", R"({"type":"user","id":"bob"})"}},
      {"resource", Eval(Entity("user", "alice"), read, json::Object{{"type", "record"}}), {R"({"type":"record","id":"record-1"})"}},
      {"action", json::Object{{"subject", Entity("user", "alice")}, {"resource", Entity("record", "record-1")}},
       {R"({"name":"read"})", R"({"name":"write"})"}},
      {"subject", Eval(json::Object{{"type", "user"}}, write, Entity("record", "record-2")), {R"({"type":"user","id":"bob"})"}},
      {"resource", Eval(Entity("user", "bob"), write, json::Object{{"type", "record"}}), {R"({"type":"record","id":"record-2"})"}},
      {"action", json::Object{{"subject", Entity("user", "bob")}, {"resource", Entity("record", "record-2")}}, {R"({"name":"write"})"}},
  };
  int search_pass = 0;
  for (const auto& s : searches) {
    auto [status, answer] = Post("/access/v1/search/" + s.kind, s.request);
    const auto results = SortedResults(answer.Find("results"));
    bool ok = status == 200;
    for (const auto& expected : s.must_include) ok = ok && std::count(results.begin(), results.end(), expected) == 1;
    search_pass += ok;
    EXPECT_TRUE(ok) << s.kind << " " << json::Serialize(s.request) << " -> " << json::Serialize(answer);
  }

  // Every malformed request of the scenario is a 400.
  const std::string ok_body = json::Serialize(decisions[0].request);
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"missing subject", R"({"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}})"},
      {"missing action", R"({"subject":{"type":"user","id":"alice"},"resource":{"type":"record","id":"record-1"}})"},
      {"missing resource", R"({"subject":{"type":"user","id":"alice"},"action":{"name":"read"}})"},
      {"subject without type", R"({"subject":{"id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}})"},
      {"subject without id", R"({"subject":{"type":"user"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}})"},
      {"action without name", R"({"subject":{"type":"user","id":"alice"},"action":{},"resource":{"type":"record","id":"record-1"}})"},
      {"resource without type", R"({"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"id":"record-1"}})"},
      {"resource without id", R"({"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record"}})"},
      {"string subject", R"({"subject":"alice","action":{"name":"read"},"resource":{"type":"record","id":"record-1"}})"},
      {"numeric action name", R"({"subject":{"type":"user","id":"alice"},"action":{"name":7},"resource":{"type":"record","id":"record-1"}})"},
      {"malformed JSON", R"({"subject":{"type":"user","id":"alice"},)"},
      {"empty body", ""},
      {"array body", "[]"},
  };
  int malformed_pass = 0;
  for (const auto& [name, body] : malformed) {
    const int status = PostRawStatus("/access/v1/evaluation", "application/json", body);
    malformed_pass += status == 400;
    EXPECT_EQ(status, 400) << name;
  }
  const int text_plain = PostRawStatus("/access/v1/evaluation", "text/plain", ok_body);
  malformed_pass += text_plain == 400;
  EXPECT_EQ(text_plain, 400) << "wrong Content-Type";

  // X-Request-ID echoed.
  server::Headers headers;
  headers.Set("X-Request-ID", "cert-req-42");
  auto echoed = client_->Request("POST", "/access/v1/evaluation", decisions[0].request, headers);
  ASSERT_TRUE(echoed.has_value());
  EXPECT_EQ(echoed->headers.Get("X-Request-ID").value_or(""), "cert-req-42");

  // A batch whose item 2 lacks a resource: 200 with 2 items, item 2 false.
  json::Value batch = json::Object{
      {"subject", Entity("user", "alice")},
      {"action", read},
      {"evaluations", json::Array{json::Object{{"resource", Entity("record", "record-1")}},
                                  json::Object{{"action", write}}}}};
  batch.mutable_object().erase(std::remove_if(batch.mutable_object().begin(), batch.mutable_object().end(),
                                              [](const json::Member& m) { return m.first == "resource"; }),
                               batch.mutable_object().end());
  auto [batch_status, batch_answer] = Post("/access/v1/evaluations", batch);
  EXPECT_EQ(batch_status, 200);
  const json::Value* items = batch_answer.Find("evaluations");
  ASSERT_NE(items, nullptr);
  ASSERT_EQ(items->as_array().size(), 2u);
  EXPECT_TRUE(DecisionIs(items->as_array()[0], true));
  EXPECT_TRUE(DecisionIs(items->as_array()[1], false));

  // Search on an unknown type: empty results, not 400; page.limit accepted; paging walks all.
  auto [unknown_status, unknown] = Post("/access/v1/search/subject",
                                        Eval(json::Object{{"type", "robot"}}, read, Entity("record", "record-1")));
  EXPECT_EQ(unknown_status, 200);
  EXPECT_TRUE(SortedResults(unknown.Find("results")).empty());
  json::Value paged = Eval(json::Object{{"type", "user"}}, read, Entity("record", "record-1"));
  paged.Set("page", json::Object{{"limit", 1}});
  auto [page_status, first_page] = Post("/access/v1/search/subject", paged);
  EXPECT_EQ(page_status, 200);
  ASSERT_NE(first_page.Find("page"), nullptr);
  EXPECT_EQ(SortedResults(first_page.Find("results")).size(), 1u);
  EXPECT_EQ(first_page.Find("page")->Find("next_token")->as_string(), "1");

  // Metadata.
  auto metadata = client_->Request("GET", "/.well-known/authzen-configuration");
  ASSERT_TRUE(metadata.has_value());
  EXPECT_EQ(metadata->status, 200);

  std::cout << "[authzen] certification decisions " << decision_pass << "/8, searches " << search_pass
            << "/6, malformed 400s " << malformed_pass << "/" << malformed.size() + 1 << std::endl;
}

TEST_F(AuthzenTest, BatchSemanticsStopWhereTheSpecSays) {
  Activate("certification");
  auto batch = [](std::string semantic) {
    return json::Value(json::Object{
        {"subject", Entity("user", "bob")},
        {"resource", Entity("record", "record-1")},
        {"options", json::Object{{"evaluations_semantic", semantic}}},
        {"evaluations", json::Array{json::Object{{"action", json::Object{{"name", "read"}}}},
                                    json::Object{{"action", json::Object{{"name", "write"}}}},
                                    json::Object{{"action", json::Object{{"name", "read"}}}}}}});
  };
  auto count = [&](std::string semantic) {
    auto [status, answer] = Post("/access/v1/evaluations", batch(semantic));
    EXPECT_EQ(status, 200);
    const json::Value* items = answer.Find("evaluations");
    return items == nullptr ? 0u : items->as_array().size();
  };
  EXPECT_EQ(count("execute_all"), 3u);
  EXPECT_EQ(count("deny_on_first_deny"), 2u);
  EXPECT_EQ(count("permit_on_first_permit"), 1u);
  auto [status, answer] = Post("/access/v1/evaluations", batch("whatever"));
  EXPECT_EQ(status, 400);
}

TEST_F(AuthzenTest, TcpCallersNeedThePdpKeyOrAWritToken) {
  // writd in this fixture has no WRIT_PDP_API_KEY: TCP callers without a token are refused.
  Activate("certification");
  std::string log_text;
  std::ifstream log(writd_->log_path());
  std::stringstream buffer;
  buffer << log.rdbuf();
  log_text = buffer.str();
  const size_t at = log_text.find("127.0.0.1:");
  if (at == std::string::npos) GTEST_SKIP() << "TCP port not found in the log";
  size_t end = at + 10;
  while (end < log_text.size() && std::isdigit(static_cast<unsigned char>(log_text[end]))) ++end;
  const auto port = static_cast<uint16_t>(std::stoi(log_text.substr(at + 10, end - at - 10)));
  if (port == 0) GTEST_SKIP() << "TCP port not found in the log";
  server::Client tcp({.tcp_port = port});
  auto response = tcp.Request("POST", "/access/v1/evaluation",
                              Eval(Entity("user", "alice"), json::Object{{"name", "read"}}, Entity("record", "record-1")));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 401);

  // A writ token issued to an agent authenticates a TCP caller.
  auto human = RunShell(std::string(WRIT_CLI_BINARY) + " identity create alice --kind human --uid " + std::to_string(::getuid()),
                        writd_->socket());
  ASSERT_EQ(human.exit_code, 0) << human.output;
  auto agent = RunShell(std::string(WRIT_CLI_BINARY) + " identity create pep-bot --owner alice", writd_->socket());
  ASSERT_EQ(agent.exit_code, 0) << agent.output;
  auto issued = client_->Request("POST", "/v1/token", json::Value(json::Object{{"agent", "pep-bot"}}));
  ASSERT_TRUE(issued.has_value());
  ASSERT_EQ(issued->status, 200) << issued->body;
  const std::string jwt = issued->Json()->Find("access_token")->as_string();
  server::Headers bearer;
  bearer.Set("Authorization", "Bearer " + jwt);
  auto with_token = tcp.Request("POST", "/access/v1/evaluation",
                                Eval(Entity("user", "alice"), json::Object{{"name", "read"}}, Entity("record", "record-1")),
                                bearer);
  ASSERT_TRUE(with_token.has_value());
  EXPECT_EQ(with_token->status, 200) << with_token->body;
  bearer.Set("Authorization", "Bearer " + jwt.substr(0, jwt.size() - 4) + "AAAA");
  auto forged = tcp.Request("POST", "/access/v1/evaluation",
                            Eval(Entity("user", "alice"), json::Object{{"name", "read"}}, Entity("record", "record-1")), bearer);
  ASSERT_TRUE(forged.has_value());
  EXPECT_EQ(forged->status, 401);
}

TEST_F(AuthzenTest, ShadowSetDisagreementsAreCountedAndAuditedWithoutChangingAnswers) {
  const auto write_set = [&](const std::string& name, const std::string& policies) {
    const auto dir = dir_.path() / name;
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "policies.cedar") << policies;
    return dir.string();
  };
  const std::string active = write_set("active", R"(@id("read-all") permit (principal, action == Action::"read", resource);)");
  const std::string candidate = write_set("candidate", R"(@id("read-all") permit (principal, action == Action::"read", resource);
@id("no-bob") forbid (principal == user::"bob", action, resource);)");
  const auto writ = [&](const std::string& arguments) {
    return RunShell(std::string(WRIT_CLI_BINARY) + " " + arguments, writd_->socket());
  };
  ASSERT_EQ(writ("policy apply " + active + " --activate").exit_code, 0);
  auto staged = writ("policy apply " + candidate + " --shadow --reason 'try no-bob'");
  ASSERT_EQ(staged.exit_code, 0) << staged.output;
  EXPECT_EQ(writ("policy apply " + candidate + " --shadow --activate").exit_code, 1);  // one or the other

  auto [bob_status, bob] = Post("/access/v1/evaluation", Eval(Entity("user", "bob"), json::Object{{"name", "read"}},
                                                              Entity("record", "record-1")));
  EXPECT_EQ(bob_status, 200);
  EXPECT_TRUE(DecisionIs(bob, true));  // the active set answers
  auto [alice_status, alice] = Post("/access/v1/evaluation", Eval(Entity("user", "alice"), json::Object{{"name", "read"}},
                                                                  Entity("record", "record-1")));
  EXPECT_TRUE(DecisionIs(alice, true));

  auto report = writ("-o json policy shadow-report");
  ASSERT_EQ(report.exit_code, 0) << report.output;
  const json::Value parsed = json::Parse(report.output).value();
  EXPECT_EQ(parsed.Find("version")->as_int(), 2);
  EXPECT_EQ(parsed.Find("active")->as_int(), 1);
  EXPECT_EQ(parsed.Find("agreed")->as_int(), 1);
  EXPECT_EQ(parsed.Find("disagreed")->as_int(), 1);
  EXPECT_EQ(json::Serialize(*parsed.Find("recent")->as_array().at(0).Find("shadow")),
            R"({"decision":"deny","policy_ids":["no-bob"]})");
  auto table = writ("policy shadow-report");
  EXPECT_NE(table.output.find("deny (no-bob)"), std::string::npos) << table.output;

  auto events = writ("-o json audit query --kind decision --limit 1000");
  ASSERT_EQ(events.exit_code, 0) << events.output;
  const json::Value audited = json::Parse(events.output).value();
  int with_shadow = 0;
  for (const auto& event : audited.Find("items")->as_array()) {
    const json::Value* details = event.Find("details");
    const json::Value* shadow = details == nullptr ? nullptr : details->Find("shadow");
    if (shadow == nullptr) continue;
    ++with_shadow;
    EXPECT_EQ(event.Find("decision")->as_string(), "allow");
    EXPECT_EQ(shadow->Find("decision")->as_string(), "deny");
  }
  EXPECT_EQ(with_shadow, 1);

  auto unstaged = writ("policy unstage --reason enough");
  ASSERT_EQ(unstaged.exit_code, 0) << unstaged.output;
  EXPECT_EQ(writ("policy unstage").exit_code, 1);  // nothing staged any more
  EXPECT_NE(writ("policy shadow-report").output.find("no policy set version is staged"), std::string::npos);
  EXPECT_EQ(writ("policy stage 99").exit_code, 1);
}

}  // namespace
}  // namespace writ
