// Edits, deletions, reorderings and insertions made directly in the SQLite file are each caught by
// Verify, which names the first bad event.
#include <sqlite3.h>

#include <gtest/gtest.h>

#include "common/encoding.h"

#include "ledger/verify.h"
#include "ledger_test_util.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::ledger {
namespace {

using ::testing::HasSubstr;
using testing::MakeEvent;
using testing::TestSigner;
using testing::TestStore;
using testing::TestVerifier;

// Raw access to the database file, as an attacker with file access has.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK); }
  ~RawDb() { sqlite3_close(db_); }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "") << sql;
  }
  std::string Data(int64_t idx) { return Blob("SELECT data FROM ledger_events WHERE idx = ?", idx); }
  std::string LeafHash(int64_t idx) { return Blob("SELECT leaf_hash FROM ledger_events WHERE idx = ?", idx); }
  void SetRow(int64_t idx, const std::string& data, const std::string& leaf_hash) {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_, "UPDATE ledger_events SET data = ?, leaf_hash = ? WHERE idx = ?", -1, &stmt, nullptr);
    sqlite3_bind_blob(stmt, 1, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(stmt, 2, leaf_hash.data(), static_cast<int>(leaf_hash.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 3, idx);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
  }

 private:
  std::string Blob(const char* sql, int64_t idx) {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
    sqlite3_bind_int64(stmt, 1, idx);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      out.assign(static_cast<const char*>(sqlite3_column_blob(stmt, 0)), static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return out;
  }
  sqlite3* db_ = nullptr;
};

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string HashBytes(const std::string& data) { return std::string(crypto::AsBytes(HashLeaf(data))); }

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestStore store(path_);
    auto ledger = Ledger::Open({.checkpoint_every_events = 1000000, .checkpoint_interval = std::chrono::hours(1),
                                .signer = &signer_},
                               *store.ledger)
                      .value();
    for (int i = 0; i < 20; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
    ASSERT_THAT(ledger->Checkpoint(), IsOk());
    for (int i = 20; i < 40; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
    ASSERT_THAT(ledger->Checkpoint(), IsOk());
  }

  VerifyReport Check() {
    TestStore store(path_);
    auto report = Verify(*store.ledger, {.verifiers = verifiers_});
    EXPECT_THAT(report, IsOk());
    return report ? *report : VerifyReport{};
  }

  TempDir dir_;
  std::string path_ = dir_.file("writ.db");
  NoteSigner signer_ = TestSigner();
  std::vector<NoteVerifier> verifiers_{TestVerifier()};
};

TEST_F(TamperTest, UntouchedLedgerVerifies) {
  VerifyReport report = Check();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.events, 40u);
  EXPECT_EQ(report.checkpoints, 2u);
  EXPECT_EQ(report.uncovered, 0u);
}

TEST_F(TamperTest, EditedEventIsCaught) {
  RawDb db(path_);
  db.SetRow(7, Replace(db.Data(7), "\"n\":7", "\"n\":8"), db.LeafHash(7));
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 7u);
  EXPECT_THAT(report.problem->what, HasSubstr("do not hash to the stored leaf hash"));
}

TEST_F(TamperTest, EditedEventWithRewrittenLeafHashIsCaught) {
  RawDb db(path_);
  std::string data = Replace(db.Data(7), "\"decision\":\"deny\"", "\"decision\":\"allow\"");
  db.SetRow(7, data, HashBytes(data));
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 7u);
  EXPECT_FALSE(report.problem->id.empty());
  EXPECT_THAT(report.problem->what, HasSubstr("links to"));
}

TEST_F(TamperTest, RewrittenChainIsCaughtByTheCheckpointRoot) {
  RawDb db(path_);
  std::string prev;
  for (int64_t idx = 30; idx < 40; ++idx) {
    std::string data = db.Data(idx);
    if (idx == 30) data = Replace(data, "\"decision\":\"allow\"", "\"decision\":\"deny\"");
    if (!prev.empty()) {
      size_t at = data.rfind("\"prev\":\"");
      data = data.substr(0, at) + "\"prev\":\"" + Base64Encode(prev) + "\"}";
    }
    prev = HashBytes(data);
    db.SetRow(idx, data, prev);
  }
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 20u);
  EXPECT_THAT(report.problem->what, HasSubstr("do not hash to the signed root"));
}

TEST_F(TamperTest, DeletedEventIsCaught) {
  RawDb db(path_);
  db.Exec("DELETE FROM ledger_events WHERE idx = 10");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 10u);
  EXPECT_THAT(report.problem->what, HasSubstr("missing"));
}

TEST_F(TamperTest, DeletedAndRenumberedEventIsCaught) {
  RawDb db(path_);
  db.Exec("DELETE FROM ledger_events WHERE idx = 10; UPDATE ledger_events SET idx = idx - 1 WHERE idx > 10");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 10u);
  EXPECT_THAT(report.problem->what, HasSubstr("records position 11"));
}

TEST_F(TamperTest, DeletedTailIsCaught) {
  RawDb db(path_);
  db.Exec("DELETE FROM ledger_events WHERE idx >= 35");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 35u);
  EXPECT_THAT(report.problem->what, HasSubstr("covers events that are missing"));
}

TEST_F(TamperTest, ReorderedEventsAreCaught) {
  RawDb db(path_);
  std::string data3 = db.Data(3), hash3 = db.LeafHash(3);
  db.SetRow(3, db.Data(4), db.LeafHash(4));
  db.SetRow(4, data3, hash3);
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 3u);
  EXPECT_THAT(report.problem->what, HasSubstr("records position 4 but is stored at position 3"));
}

TEST_F(TamperTest, InsertedEventIsCaught) {
  RawDb db(path_);
  // Make room at 12 and insert a well-formed forged event that links to event 11.
  db.Exec("UPDATE ledger_events SET idx = idx + 1000 WHERE idx >= 12; UPDATE ledger_events SET idx = idx - 999 WHERE idx >= 1000");
  std::string forged = Replace(db.Data(13), "\"n\":12", "\"n\":99");
  forged = Replace(forged, db.Data(13).substr(13, 36), "01900000-0000-7000-8000-000000000000");
  db.Exec("INSERT INTO ledger_events SELECT 12, '01900000-0000-7000-8000-000000000000', time_ms, kind, subject, "
          "correlation_id, data, leaf_hash FROM ledger_events WHERE idx = 13");
  db.SetRow(12, forged, HashBytes(forged));
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_GE(report.problem->index, 12u);
  EXPECT_LE(report.problem->index, 13u);
}

TEST_F(TamperTest, EditedColumnIsCaught) {
  RawDb db(path_);
  db.Exec("UPDATE ledger_events SET subject = 'someone-else' WHERE idx = 5");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 5u);
  EXPECT_THAT(report.problem->what, HasSubstr("subject"));
}

TEST_F(TamperTest, ForgedCheckpointIsCaught) {
  RawDb db(path_);
  db.Exec("UPDATE ledger_checkpoints SET note = replace(note, '\n20\n', '\n21\n') WHERE size = 20");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.problem->what, HasSubstr("signature does not verify"));
}

TEST_F(TamperTest, OpenRefusesAStoreThatNoLongerMatchesItsCheckpoint) {
  {
    RawDb db(path_);
    db.Exec("DELETE FROM ledger_events WHERE idx >= 35");
  }
  TestStore store(path_);
  EXPECT_THAT(Ledger::Open({.signer = &signer_}, *store.ledger), FailsWith(Code::kDataLoss));
}

}  // namespace
}  // namespace writ::ledger
