// The AuthZEN evaluation routes as writd serves them: asynchronous handlers over a DecisionRecorder,
// through a real HttpServer with one I/O thread. With a real strict ledger, the answer comes only
// once the decision is durable; with a ledger that refuses, every answer is a deny (fail closed);
// and the I/O thread stays free while a decision waits for its acknowledgement.
#include <condition_variable>
#include <future>
#include <mutex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "authz/admin_guard.h"
#include "authz/engine.h"
#include "crypto/keys.h"
#include "identity/registry.h"
#include "ledger/ledger.h"
#include "ledger/note.h"
#include "server/authz_api.h"
#include "server/client.h"
#include "server/decision_recorder.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "store/ledger_store.h"
#include "store/sqlite_store.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::server {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kPolicies[] = R"(
@id("alice-reads")
permit(principal == User::"alice", action == Action::"read", resource);
)";
constexpr char kAllowed[] =
    R"({"subject":{"type":"User","id":"alice"},"action":{"name":"read"},"resource":{"type":"Doc","id":"1"}})";
constexpr char kBatch[] = R"({"subject":{"type":"User","id":"alice"},"resource":{"type":"Doc","id":"1"},
  "evaluations":[{"action":{"name":"read"}},{"action":{"name":"write"}},{"action":{"name":"read"}}]})";

class AuthzenAsyncTest : public ::testing::Test {
 protected:
  // `real_ledger`: strict appends to the ledger; else asynchronous appends park until the test acknowledges them.
  void Start(bool real_ledger) {
    store_ = store::SqliteStore::Open(dir_.file("writ.db")).value();
    registry_ = identity::Registry::Create(store_->identities(), {}).value();
    ledger_store_ = store::sqlite::OpenLedgerStore(store_->database()).value();
    signer_.emplace(ledger::NoteSigner::Create(
                        "writ.test/ledger", crypto::PrivateKey::FromEd25519Seed(std::string(32, '\x07')).value())
                        .value());
    ledger_ = ledger::Ledger::Open({.origin = "writ.test/ledger", .signer = &*signer_}, *ledger_store_).value();
    DecisionRecorder::AppendAsync append_async = [this](ledger::Event, std::function<void(Status)> done) {
      std::lock_guard lock(mu_);
      parked_.push_back(std::move(done));
      cv_.notify_all();
    };
    if (real_ledger) {
      append_async = [this](ledger::Event event, std::function<void(Status)> done) {
        ledger_->AppendAsync(std::move(event), [done = std::move(done)](Result<ledger::Receipt> receipt) {
          if (receipt) return done(Ok());
          done(Fail(std::move(receipt).error()));
        });
      };
    }
    recorder_.emplace(
        [this](ledger::Event event) -> Status {
          auto receipt = ledger_->Append(std::move(event));
          if (!receipt) return Fail(std::move(receipt).error());
          return Ok();
        },
        std::move(append_async), &metrics_);
    engine_ = authz::Engine::Create({.registry = registry_.get(), .store = &store_->policies(), .recorder = &*recorder_})
                  .value();
    const authz::VersionInfo info = engine_->Apply({{{"policies.cedar", kPolicies}}}, "tester", "test").value();
    ASSERT_THAT(engine_->Activate(info.version, "tester", "test"), IsOk());
    guard_ = authz::AdminGuard::Create(std::string(authz::kDefaultAdminPolicies)).value();
    pdp_.api_key = "test-key";
    AddAuthzRoutes(router_, *engine_, nullptr, *registry_, admin_, *guard_, pdp_,
                   {.recorder = &*recorder_, .metrics = &metrics_});
    router_.Get("/ping", [](const Request&) -> Result<Response> { return JsonResponse(200, json::Object{}); });
    server_ = HttpServer::Start({.unix_socket_path = dir_.file("writd.sock"), .tcp_port = 0, .threads = 1}, router_).value();
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  Result<ClientResponse> Post(std::string_view path, std::string_view body) {
    Client client({.unix_socket = dir_.file("writd.sock"), .timeout = 10s});
    return client.RequestRaw("POST", path, "application/json", body);
  }
  std::future<Result<ClientResponse>> PostLater(std::string path, std::string body) {
    return std::async(std::launch::async, [this, path, body] { return Post(path, body); });
  }
  // Waits until `count` asynchronous appends are parked, and takes them.
  std::vector<std::function<void(Status)>> TakeParked(size_t count) {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, 5s, [&] { return parked_.size() >= count; }));
    return std::exchange(parked_, {});
  }

  TempDir dir_;
  DecisionMetrics metrics_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<identity::Registry> registry_;
  std::unique_ptr<store::LedgerStore> ledger_store_;
  std::optional<ledger::NoteSigner> signer_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void(Status)>> parked_;  // guarded by mu_
  std::optional<DecisionRecorder> recorder_;
  std::unique_ptr<authz::Engine> engine_;
  std::unique_ptr<authz::AdminGuard> guard_;
  AdminAccess admin_;
  PdpAccess pdp_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(AuthzenAsyncTest, AnswerComesOnlyOnceTheDecisionIsDurable) {
  Start(/*real_ledger=*/true);
  const uint64_t before = ledger_->Size();  // the policy set's apply and activation
  auto single = Post("/access/v1/evaluation", kAllowed);
  ASSERT_THAT(single, IsOk());
  EXPECT_EQ(single->status, 200);
  EXPECT_EQ(single->Json()->Find("decision")->as_bool(), true);
  EXPECT_EQ(ledger_->Size(), before + 1);  // durable before the answer was sent

  auto batch = Post("/access/v1/evaluations", kBatch);
  ASSERT_THAT(batch, IsOk());
  EXPECT_EQ(batch->body, R"({"evaluations":[{"decision":true},{"decision":false},{"decision":true}]})");
  EXPECT_EQ(ledger_->Size(), before + 4);
  EXPECT_EQ(metrics_.allow.Value(), 3u);
  EXPECT_EQ(metrics_.deny.Value(), 1u);
  EXPECT_EQ(metrics_.decision.Read().count, 2u);
  EXPECT_EQ(metrics_.ledger_append.Read().count, 4u + before);  // policy events are timed too

  // Malformed requests are still 400, recording nothing.
  auto bad = Post("/access/v1/evaluation", R"({"subject":{"type":"User"}})");
  ASSERT_THAT(bad, IsOk());
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(ledger_->Size(), before + 4);
}

TEST_F(AuthzenAsyncTest, WaitingForTheLedgerHoldsNoThread) {
  Start(/*real_ledger=*/false);
  auto waiting = PostLater("/access/v1/evaluation", kAllowed);
  auto acks = TakeParked(1);
  ASSERT_EQ(acks.size(), 1u);
  // One I/O thread, and it is free.
  Client client({.unix_socket = dir_.file("writd.sock"), .timeout = 5s});
  EXPECT_EQ(client.Request("GET", "/ping")->status, 200);
  EXPECT_EQ(waiting.wait_for(50ms), std::future_status::timeout);  // not answered before durable
  acks[0](Ok());
  auto answer = waiting.get();
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->Json()->Find("decision")->as_bool(), true);
}

TEST_F(AuthzenAsyncTest, RefusedRecordTurnsEveryAnswerIntoADeny) {
  Start(/*real_ledger=*/false);
  auto single = PostLater("/access/v1/evaluation", kAllowed);
  TakeParked(1)[0](Fail(Code::kUnavailable, "ledger cannot write: disk full"));
  auto answer = single.get();
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->Json()->Find("decision")->as_bool(), false);
  EXPECT_THAT(answer->body, HasSubstr("the decision could not be recorded: ledger cannot write: disk full"));

  // In a batch, one refused record denies every item (items already recorded included: fail closed).
  auto batch = PostLater("/access/v1/evaluations", kBatch);
  auto acks = TakeParked(3);
  ASSERT_EQ(acks.size(), 3u);
  acks[0](Ok());
  acks[1](Ok());
  acks[2](Fail(Code::kUnavailable, "ledger cannot write: disk full"));
  answer = batch.get();
  ASSERT_THAT(answer, IsOk());
  const json::Value body = answer->Json().value();
  ASSERT_EQ(body.Find("evaluations")->as_array().size(), 3u);
  for (const json::Value& item : body.Find("evaluations")->as_array()) EXPECT_FALSE(item.Find("decision")->as_bool());
  EXPECT_EQ(metrics_.record_failures.Value(), 2u);
}

TEST_F(AuthzenAsyncTest, LedgerThatNeverAnswersIs500NotAnAllow) {
  Start(/*real_ledger=*/false);
  auto single = PostLater("/access/v1/evaluation", kAllowed);
  { auto dropped = TakeParked(1); }  // the ledger drops its callback (e.g. destroyed)
  auto answer = single.get();
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->status, 500);
}

TEST_F(AuthzenAsyncTest, MetricsNeedTheCallerToBeAuthenticated) {
  Start(/*real_ledger=*/true);
  ASSERT_THAT(Post("/access/v1/evaluation", kAllowed), IsOk());
  Client local({.unix_socket = dir_.file("writd.sock"), .timeout = 5s});
  auto metrics = local.Request("GET", "/metrics");
  ASSERT_THAT(metrics, IsOk());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->headers.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(metrics->body, HasSubstr("writ_decisions_total{outcome=\"allow\"} 1\n"));
  EXPECT_THAT(metrics->body, HasSubstr("writ_decision_duration_seconds_count 1\n"));

  Client remote({.unix_socket = "", .tcp_port = server_->tcp_port(), .timeout = 5s});
  EXPECT_EQ(remote.Request("GET", "/metrics")->status, 401);
  Headers key;
  key.Set("Authorization", "Bearer test-key");
  EXPECT_EQ(remote.Request("GET", "/metrics", std::nullopt, key)->status, 200);
}

}  // namespace
}  // namespace writ::server
