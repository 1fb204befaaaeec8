#include "identity/registry.h"

#include <gtest/gtest.h>

#include "store/identity_store.h"
#include "store/sqlite_store.h"
#include "testing/fake_clock.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::identity {
namespace {

using ::testing::HasSubstr;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::SqliteStore::Open(dir_.file("writ.db")).value();
    registry_ = Registry::Create(store_->identities(), {.trust_domain = "example.org", .clock = &clock_}).value();
  }

  Result<Identity> Create(std::string_view body) {
    WRIT_ASSIGN_OR_RETURN(Identity spec, ParseCreateRequest(json::Parse(body).value()));
    return registry_->CreateIdentity(std::move(spec), admin_);
  }

  TempDir dir_;
  FakeClock clock_;
  ChangeContext admin_{"root", "setup"};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, AgentNeedsARegisteredOwner) {
  EXPECT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice"})"),
              FailsWith(Code::kInvalidArgument, HasSubstr("owner `alice` is not a registered human")));
  ASSERT_THAT(Create(R"({"kind":"human","name":"alice"})"), IsOk());
  const auto agent = Create(R"({"kind":"agent","name":"bot","owner":"alice"})").value();
  EXPECT_EQ(agent.spiffe_id, "spiffe://example.org/agent/bot");
  EXPECT_EQ(agent.version, 1);
  EXPECT_EQ(agent.state, State::kActive);
  EXPECT_EQ(agent.created_at, clock_.Now());
  EXPECT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice"})"),
              FailsWith(Code::kConflict, "agent `bot` already exists"));
}

TEST_F(RegistryTest, GroupsMustExist) {
  ASSERT_THAT(Create(R"({"kind":"human","name":"alice"})"), IsOk());
  EXPECT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice","groups":["bots"]})"),
              FailsWith(Code::kInvalidArgument, "group `bots` does not exist"));
  ASSERT_THAT(Create(R"({"kind":"group","name":"bots"})"), IsOk());
  EXPECT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice","groups":["bots"]})"), IsOk());
  EXPECT_THAT(Create(R"({"kind":"group","name":"loop","groups":["loop"]})"), FailsWith(Code::kInvalidArgument));
}

TEST_F(RegistryTest, LifecycleVersionsAndHistory) {
  ASSERT_THAT(Create(R"({"kind":"human","name":"alice"})"), IsOk());
  ASSERT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice"})"), IsOk());
  clock_.Advance(std::chrono::minutes(1));
  auto suspended = registry_->Transition(Kind::kAgent, "bot", State::kSuspended, {"alice", "looks odd"});
  ASSERT_THAT(suspended, IsOk());
  EXPECT_EQ(suspended->version, 2);
  ASSERT_THAT(registry_->Transition(Kind::kAgent, "bot", State::kActive, {"alice", "fine"}), IsOk());
  ASSERT_THAT(registry_->Transition(Kind::kAgent, "bot", State::kRevoked, {"alice", "key leaked"}), IsOk());
  EXPECT_THAT(registry_->Transition(Kind::kAgent, "bot", State::kActive, {"alice", ""}),
              FailsWith(Code::kFailedPrecondition, "agent `bot`: cannot go from `revoked` to `active`"));
  ASSERT_THAT(registry_->Transition(Kind::kAgent, "bot", State::kRetired, {"alice", "gone"}), IsOk());
  const auto history = registry_->History(Kind::kAgent, "bot").value();
  ASSERT_EQ(history.size(), 5u);
  EXPECT_EQ(history[0].change, "create");
  EXPECT_EQ(history[1].change, "suspend");
  EXPECT_EQ(history[1].author, "alice");
  EXPECT_EQ(history[1].reason, "looks odd");
  EXPECT_EQ(history[1].changed_at, history[0].changed_at + std::chrono::minutes(1));
  EXPECT_EQ(history[4].identity.state, State::kRetired);
  EXPECT_THAT(registry_->Update(Kind::kAgent, "bot", {.tier = Tier::kHigh}, admin_),
              FailsWith(Code::kFailedPrecondition, HasSubstr("retired")));
  EXPECT_THAT(registry_->History(Kind::kAgent, "ghost"), FailsWith(Code::kNotFound));
}

TEST_F(RegistryTest, UpdateChecksVersionAndReferences) {
  ASSERT_THAT(Create(R"({"kind":"human","name":"alice"})"), IsOk());
  ASSERT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice"})"), IsOk());
  EXPECT_THAT(registry_->Update(Kind::kAgent, "bot", {.owner = "mallory"}, admin_),
              FailsWith(Code::kInvalidArgument, HasSubstr("mallory")));
  EXPECT_THAT(registry_->Update(Kind::kAgent, "bot", {.tier = Tier::kHigh}, admin_, 7), FailsWith(Code::kConflict));
  const auto updated = registry_->Update(Kind::kAgent, "bot", {.tier = Tier::kHigh}, admin_, 1).value();
  EXPECT_EQ(updated.tier, Tier::kHigh);
  EXPECT_EQ(registry_->Get(Kind::kAgent, "bot")->version, 2);
}

TEST_F(RegistryTest, ListFiltersByStateOwnerAndTier) {
  ASSERT_THAT(Create(R"({"kind":"human","name":"alice"})"), IsOk());
  ASSERT_THAT(Create(R"({"kind":"human","name":"bob"})"), IsOk());
  ASSERT_THAT(Create(R"({"kind":"agent","name":"a1","owner":"alice","tier":"high"})"), IsOk());
  ASSERT_THAT(Create(R"({"kind":"agent","name":"a2","owner":"alice"})"), IsOk());
  ASSERT_THAT(Create(R"({"kind":"agent","name":"b1","owner":"bob"})"), IsOk());
  ASSERT_THAT(registry_->Transition(Kind::kAgent, "a2", State::kSuspended, admin_), IsOk());
  EXPECT_EQ(registry_->List({.kind = Kind::kAgent}).value().size(), 3u);
  EXPECT_EQ(registry_->List({.kind = Kind::kAgent, .owner = "alice"}).value().size(), 2u);
  EXPECT_EQ(registry_->List({.kind = Kind::kAgent, .state = State::kSuspended}).value().at(0).name, "a2");
  EXPECT_EQ(registry_->List({.kind = Kind::kAgent, .tier = Tier::kHigh}).value().at(0).name, "a1");
  EXPECT_EQ(registry_->List({.kind = Kind::kAgent, .after = "a2", .limit = 5}).value().at(0).name, "b1");
  EXPECT_THAT(registry_->List({.kind = Kind::kAgent, .limit = 0}), FailsWith(Code::kInvalidArgument));
}

TEST_F(RegistryTest, ListenersHearEveryDurableChange) {
  std::vector<std::string> heard;
  registry_->AddListener([&](const Version& version) {
    heard.push_back(version.change + ":" + version.identity.name + ":" + std::string(StateName(version.identity.state)));
  });
  ASSERT_THAT(Create(R"({"kind":"human","name":"alice"})"), IsOk());
  ASSERT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice"})"), IsOk());
  ASSERT_THAT(registry_->Transition(Kind::kAgent, "bot", State::kSuspended, admin_), IsOk());
  EXPECT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice"})"), FailsWith(Code::kConflict));
  EXPECT_EQ(heard, (std::vector<std::string>{"create:alice:active", "create:bot:active", "suspend:bot:suspended"}));
}

TEST_F(RegistryTest, ChangesNeedAnAuthorAndABoundedReason) {
  ASSERT_THAT(Create(R"({"kind":"human","name":"alice"})"), IsOk());
  EXPECT_THAT(registry_->Transition(Kind::kHuman, "alice", State::kSuspended, {"", ""}), FailsWith(Code::kInvalidArgument));
  EXPECT_THAT(registry_->Transition(Kind::kHuman, "alice", State::kSuspended, {"root", std::string(2000, 'x')}),
              FailsWith(Code::kInvalidArgument, HasSubstr("reason")));
}

// Reads go to the store every time (parsed documents are kept, not answers): every change is seen
// by the next Get, whatever was read before it.
TEST_F(RegistryTest, EveryChangeIsSeenByTheNextGet) {
  ASSERT_THAT(Create(R"({"kind":"human","name":"alice"})"), IsOk());
  ASSERT_THAT(Create(R"({"kind":"group","name":"bots"})"), IsOk());
  ASSERT_THAT(Create(R"({"kind":"agent","name":"bot","owner":"alice"})"), IsOk());
  ASSERT_EQ(registry_->Get(Kind::kAgent, "bot")->state, State::kActive);
  ASSERT_THAT(registry_->Transition(Kind::kAgent, "bot", State::kSuspended, admin_), IsOk());
  EXPECT_EQ(registry_->Get(Kind::kAgent, "bot")->state, State::kSuspended);
  ASSERT_THAT(registry_->Transition(Kind::kAgent, "bot", State::kActive, admin_), IsOk());
  EXPECT_EQ(registry_->Get(Kind::kAgent, "bot")->state, State::kActive);
  ASSERT_THAT(registry_->Update(Kind::kAgent, "bot", {.groups = std::vector<std::string>{"bots"}}, admin_), IsOk());
  const Identity updated = registry_->Get(Kind::kAgent, "bot").value();
  EXPECT_EQ(updated.groups, std::vector<std::string>{"bots"});
  EXPECT_EQ(updated.version, 4);
  ASSERT_THAT(registry_->Transition(Kind::kAgent, "bot", State::kRevoked, admin_), IsOk());
  const Identity revoked = registry_->Get(Kind::kAgent, "bot").value();
  EXPECT_EQ(revoked.state, State::kRevoked);
  EXPECT_EQ(revoked.groups, std::vector<std::string>{"bots"});
  // A reopened store (nothing in memory) reads the same.
  registry_.reset();
  store_.reset();
  store_ = store::SqliteStore::Open(dir_.file("writ.db")).value();
  registry_ = Registry::Create(store_->identities(), {.trust_domain = "example.org", .clock = &clock_}).value();
  EXPECT_EQ(registry_->Get(Kind::kAgent, "bot").value(), revoked);
}

// An identity store that fails on demand (reads only).
class FailingReads final : public store::IdentityStore {
 public:
  explicit FailingReads(store::IdentityStore& real) : real_(real) {}
  bool fail = false;
  Status Create(const store::IdentityRecord& record) override { return real_.Create(record); }
  Status Append(const store::IdentityRecord& record) override { return real_.Append(record); }
  Result<std::optional<store::IdentityRecord>> Latest(const std::string& kind, const std::string& name) override {
    if (fail) return Fail(Code::kUnavailable, "injected store failure");
    return real_.Latest(kind, name);
  }
  Result<std::vector<store::IdentityRecord>> List(const store::IdentityQuery& query) override { return real_.List(query); }
  Result<std::vector<store::IdentityRecord>> History(const std::string& kind, const std::string& name) override {
    return real_.History(kind, name);
  }

 private:
  store::IdentityStore& real_;
};

// What the registry keeps (parsed documents) never answers for a store that fails: the error
// reaches the caller (a decision then denies: "identity store unavailable").
TEST_F(RegistryTest, StoreFailureIsAnErrorEvenForAnIdentityReadBefore) {
  FailingReads store(store_->identities());
  auto registry = Registry::Create(store, {.trust_domain = "example.org", .clock = &clock_}).value();
  ASSERT_THAT(registry->CreateIdentity(ParseCreateRequest(json::Parse(R"({"kind":"human","name":"alice"})").value()).value(),
                                       admin_),
              IsOk());
  ASSERT_EQ(registry->Get(Kind::kHuman, "alice")->name, "alice");
  store.fail = true;
  EXPECT_THAT(registry->Get(Kind::kHuman, "alice"), FailsWith(Code::kUnavailable, "injected store failure"));
  store.fail = false;
  EXPECT_THAT(registry->Get(Kind::kHuman, "alice"), IsOk());
}

}  // namespace
}  // namespace writ::identity
