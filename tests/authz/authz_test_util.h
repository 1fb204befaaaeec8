// Shared fixture pieces for the decision-service tests: a real SQLite store in a temp dir, a
// registry over an identity store that can be made to fail, and a recorder that can fail.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "authz/engine.h"
#include "identity/registry.h"
#include "store/identity_store.h"
#include "store/sqlite_store.h"
#include "testing/fake_clock.h"
#include "testing/temp_dir.h"

namespace writ::authz::testing {

// The uids most tests decide on.
inline const cedar::EntityUid kBot{"Writ::Agent", "triage-bot"};
inline const cedar::EntityUid kCall{"Writ::Action", "mcp:call"};
inline const cedar::EntityUid kRead{"Writ::Tool", "github/read"};

// The real identity store, with failure injection (LevelDB's error-injecting Env, in small).
class FlakyIdentityStore final : public store::IdentityStore {
 public:
  explicit FlakyIdentityStore(store::IdentityStore& real) : real_(real) {}
  bool fail = false;
  Status Create(const store::IdentityRecord& record) override {
    if (fail) return Fail(Code::kUnavailable, "injected store failure");
    return real_.Create(record);
  }
  Status Append(const store::IdentityRecord& record) override {
    if (fail) return Fail(Code::kUnavailable, "injected store failure");
    return real_.Append(record);
  }
  Result<std::optional<store::IdentityRecord>> Latest(const std::string& kind, const std::string& name) override {
    if (fail) return Fail(Code::kUnavailable, "injected store failure");
    return real_.Latest(kind, name);
  }
  Result<std::vector<store::IdentityRecord>> List(const store::IdentityQuery& query) override {
    if (fail) return Fail(Code::kUnavailable, "injected store failure");
    return real_.List(query);
  }
  Result<std::vector<store::IdentityRecord>> History(const std::string& kind, const std::string& name) override {
    if (fail) return Fail(Code::kUnavailable, "injected store failure");
    return real_.History(kind, name);
  }

 private:
  store::IdentityStore& real_;
};

class FakeRecorder final : public Recorder {
 public:
  bool fail = false;
  std::vector<ledger::Event> events;
  Status Record(ledger::Event event) override {
    if (fail) return Fail(Code::kUnavailable, "injected ledger failure");
    events.push_back(std::move(event));
    return Ok();
  }
};

struct World {
  TempDir dir;
  FakeClock clock;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<FlakyIdentityStore> identities;
  std::unique_ptr<identity::Registry> registry;
  FakeRecorder recorder;
  std::unique_ptr<Engine> engine;

  World() {
    store = store::SqliteStore::Open((dir.path() / "writ.db").string()).value();
    identities = std::make_unique<FlakyIdentityStore>(store->identities());
    registry = identity::Registry::Create(*identities, {.clock = &clock}).value();
    engine = Engine::Create({.clock = &clock, .registry = registry.get(), .store = &store->policies(),
                             .recorder = &recorder}).value();
  }

  void AddHuman(const std::string& name, std::vector<std::string> groups = {}) {
    identity::Identity human;
    human.kind = identity::Kind::kHuman;
    human.name = name;
    human.groups = std::move(groups);
    (void)registry->CreateIdentity(human, {"test", ""}).value();
  }
  void AddGroup(const std::string& name, std::vector<std::string> groups = {}) {
    identity::Identity group;
    group.kind = identity::Kind::kGroup;
    group.name = name;
    group.groups = std::move(groups);
    (void)registry->CreateIdentity(group, {"test", ""}).value();
  }
  void AddAgent(const std::string& name, const std::string& owner) {
    identity::Identity agent;
    agent.kind = identity::Kind::kAgent;
    agent.name = name;
    agent.owner = owner;
    (void)registry->CreateIdentity(agent, {"test", ""}).value();
  }

  // Applies and activates a set made of one policies file (and optional entities). Returns the version.
  int64_t Activate(const std::string& policies, const std::string& entities = "") {
    PolicySource source;
    source.files["policies.cedar"] = policies;
    if (!entities.empty()) source.files["entities.json"] = entities;
    const VersionInfo info = engine->Apply(source, "tester", "test").value();
    return engine->Activate(info.version, "tester", "test").value().version;
  }

  DecisionResult Decide(cedar::EntityUid principal, cedar::EntityUid action, cedar::EntityUid resource) {
    DecisionRequest request;
    request.principal = std::move(principal);
    request.action = std::move(action);
    request.resource = std::move(resource);
    return engine->Decide(request);
  }
};

}  // namespace writ::authz::testing
