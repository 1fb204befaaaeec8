// A ledger written by session 1 (one row per event, schema version 1) opens after migration 2:
// its events move into one-event segments, the query index and leaf-hash chunks are rebuilt on
// open, and queries, proofs by id and verification work as before.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include "ledger/verify.h"
#include "ledger_test_util.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::ledger {
namespace {

// Schema version 1 of the `ledger` component, as session 1 released it.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, applied_at_ms INTEGER NOT NULL,
  PRIMARY KEY (component, version));
INSERT INTO schema_migrations VALUES ('ledger', 1, 0);
CREATE TABLE ledger_events (idx INTEGER PRIMARY KEY, id TEXT NOT NULL, time_ms INTEGER NOT NULL, kind TEXT NOT NULL,
  subject TEXT NOT NULL, correlation_id TEXT NOT NULL, data BLOB NOT NULL, leaf_hash BLOB NOT NULL);
CREATE UNIQUE INDEX ledger_events_by_id ON ledger_events (id);
CREATE TABLE ledger_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE ledger_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, created_ms INTEGER NOT NULL);
)sql";

void Bind(sqlite3_stmt* stmt, int column, const std::string& bytes) {
  sqlite3_bind_blob(stmt, column, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

TEST(MigrationTest, SessionOneLedgerOpensQueriesAndVerifies) {
  TempDir dir;
  NoteSigner signer = testing::TestSigner();
  std::vector<NoteVerifier> verifiers{testing::TestVerifier()};
  // Events, nodes and checkpoints as the current code writes them (the leaf format did not change).
  const int kEvents = 5000;  // more than one index block
  std::vector<std::string> ids;
  testing::TestStore source(dir.file("source.db"));
  {
    auto ledger = Ledger::Open({.signer = &signer}, *source.ledger).value();
    for (int i = 0; i < kEvents; ++i) ids.push_back(ledger->Append(testing::MakeEvent(i)).value().id);
    ASSERT_THAT(ledger->Checkpoint(), IsOk());
  }
  const std::string old_path = dir.file("old.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(old_path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, kVersion1, nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO ledger_events VALUES (?, ?, 0, '', '', '', ?, ?)", -1, &insert, nullptr);
    std::string hashes = source.ledger->LeafHashes(0, kEvents).value();
    for (int i = 0; i < kEvents; ++i) {
      sqlite3_bind_int64(insert, 1, i);
      Bind(insert, 2, ids[static_cast<size_t>(i)]);
      Bind(insert, 3, source.ledger->ReadEvent(static_cast<uint64_t>(i)).value().value());
      Bind(insert, 4, hashes.substr(static_cast<size_t>(i) * 32, 32));
      ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    sqlite3_prepare_v2(db, "INSERT INTO ledger_nodes VALUES (?, ?, ?)", -1, &insert, nullptr);
    const auto nodes = source.ledger->Nodes().value();
    for (const auto& node : nodes) {
      sqlite3_bind_int64(insert, 1, node.level);
      sqlite3_bind_int64(insert, 2, static_cast<int64_t>(node.index));
      Bind(insert, 3, node.hash);
      ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    sqlite3_prepare_v2(db, "INSERT INTO ledger_checkpoints VALUES (?, ?, 0)", -1, &insert, nullptr);
    const auto checkpoints = source.ledger->Checkpoints().value();
    for (const auto& checkpoint : checkpoints) {
      sqlite3_bind_int64(insert, 1, static_cast<int64_t>(checkpoint.size));
      sqlite3_bind_text(insert, 2, checkpoint.note.c_str(), -1, SQLITE_TRANSIENT);
      ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }

  testing::TestStore store(old_path);
  auto ledger = Ledger::Open({.signer = &signer}, *store.ledger);
  ASSERT_THAT(ledger, IsOk());
  EXPECT_EQ((*ledger)->Size(), static_cast<uint64_t>(kEvents));
  auto by_subject = (*ledger)->Query({.subject = "spiffe://writ.test/agent/bot-2", .limit = 10000}).value();
  EXPECT_EQ(by_subject.size(), static_cast<size_t>(kEvents / 5));
  auto proof = (*ledger)->ProveInclusionById(ids[4321]);
  ASSERT_THAT(proof, IsOk());
  EXPECT_EQ(proof->index, 4321u);
  EXPECT_THAT(VerifyInclusion(proof->index, proof->tree_size, proof->leaf_hash, proof->hashes,
                              (*ledger)->Root(proof->tree_size).value()),
              IsOk());
  ASSERT_THAT((*ledger)->Append(testing::MakeEvent(kEvents)), IsOk());
  ASSERT_THAT((*ledger)->Checkpoint(), IsOk());
  auto report = Verify(*store.ledger, {.verifiers = verifiers});
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok()) << report->problem->what;
  EXPECT_EQ(report->events, static_cast<uint64_t>(kEvents + 1));
}

}  // namespace
}  // namespace writ::ledger
