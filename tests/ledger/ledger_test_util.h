// Shared helpers for ledger tests: a SQLite store in a temp dir, a fixed signer, events.
#pragma once
#include <memory>
#include <string>

#include "crypto/keys.h"
#include "ledger/ledger.h"
#include "ledger/note.h"
#include "store/ledger_store.h"
#include "store/sqlite/database.h"
#include "store/sqlite_store.h"

namespace writ::ledger::testing {

inline NoteSigner TestSigner() {
  auto key = crypto::PrivateKey::FromEd25519Seed(std::string(32, '\x07')).value();
  return NoteSigner::Create("writ.test/ledger", key).value();
}

inline NoteVerifier TestVerifier() { return NoteVerifier::FromVerifierKey(TestSigner().VerifierKey()).value(); }

// A SQLite store file with the ledger component opened on it.
struct TestStore {
  explicit TestStore(const std::string& path, const store::sqlite::LedgerStoreOptions& options = {}) {
    sqlite = store::SqliteStore::Open(path).value();
    ledger = store::sqlite::OpenLedgerStore(sqlite->database(), options).value();
  }
  std::unique_ptr<store::SqliteStore> sqlite;
  std::unique_ptr<store::LedgerStore> ledger;
};

inline Event MakeEvent(int n) {
  Event event;
  event.kind = n % 3 == 0 ? EventKind::kDecision : EventKind::kTokenIssued;
  event.actor = "spiffe://writ.test/agent/bot-" + std::to_string(n % 5);
  event.subject = event.actor;
  event.action = "Writ::Action::\"mcp:call\"";
  event.resource = "Writ::Tool::\"github/create_issue\"";
  event.decision = n % 2 == 0 ? Decision::kAllow : Decision::kDeny;
  event.policy_ids = {"policy" + std::to_string(n % 7)};
  event.policy_set_version = "v3";
  event.correlation_id = "corr-" + std::to_string(n / 10);
  event.details.Set("n", n);
  return event;
}

}  // namespace writ::ledger::testing
