// Edits, deletions, reorderings and insertions made directly in the SQLite file are each caught by
// Verify, which names the first bad event.
#include <sqlite3.h>

#include <set>

#include <gtest/gtest.h>

#include "common/encoding.h"

#include "ledger/index.h"
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

// Raw access to the database file, as an attacker with file access has: reads every event out of
// the segments, and writes a changed list back (in segments of 7 events, so that edits land inside
// multi-event segments).
class RawDb {
 public:
  struct Leaf {
    std::string data;
    std::string hash;
  };

  explicit RawDb(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK); }
  ~RawDb() { sqlite3_close(db_); }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "") << sql;
  }
  std::vector<Leaf> ReadAll() {
    std::vector<Leaf> leaves;
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_, "SELECT count, data, ends, hashes FROM ledger_segments ORDER BY first_idx", -1, &stmt,
                       nullptr);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto count = static_cast<size_t>(sqlite3_column_int64(stmt, 0));
      std::string data = Column(stmt, 1), ends = Column(stmt, 2), hashes = Column(stmt, 3);
      size_t begin = 0;
      for (size_t i = 0; i < count; ++i) {
        size_t end = data.size();
        if (i + 1 < count) {
          end = 0;
          for (int b = 3; b >= 0; --b)
            end = end << 8 | static_cast<unsigned char>(ends[i * 4 + static_cast<size_t>(b)]);
        }
        leaves.push_back({data.substr(begin, end - begin), hashes.substr(i * 32, 32)});
        begin = end;
      }
    }
    sqlite3_finalize(stmt);
    return leaves;
  }
  // Replaces every segment with `leaves` at positions [0, n), except those listed in `skip`, and the
  // proof copies of their leaf hashes (a thorough attacker rewrites both).
  void WriteAll(const std::vector<Leaf>& leaves, std::set<size_t> skip = {}, size_t per_segment = 7) {
    Exec("DELETE FROM ledger_leaves");
    for (size_t chunk = 0; chunk * 16 < leaves.size(); ++chunk) {
      std::string hashes;
      for (size_t i = chunk * 16; i < leaves.size() && i < chunk * 16 + 16; ++i) hashes += leaves[i].hash;
      sqlite3_stmt* stmt = nullptr;
      sqlite3_prepare_v2(db_, "INSERT INTO ledger_leaves VALUES (?,?)", -1, &stmt, nullptr);
      sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(chunk));
      sqlite3_bind_blob(stmt, 2, hashes.data(), static_cast<int>(hashes.size()), SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
    }
    Exec("DELETE FROM ledger_segments");
    for (size_t first = 0; first < leaves.size(); first += per_segment) {
      size_t count = std::min<size_t>(per_segment, leaves.size() - first);
      std::string data, ends, hashes;
      size_t written = 0;
      for (size_t i = first; i < first + count; ++i) {
        if (skip.count(i) != 0) break;
        if (written > 0) {
          for (int b = 0; b < 4; ++b) ends += static_cast<char>((data.size() >> (8 * b)) & 0xff);
        }
        data += leaves[i].data;
        hashes += leaves[i].hash;
        ++written;
      }
      if (written == 0) continue;
      sqlite3_stmt* stmt = nullptr;
      sqlite3_prepare_v2(db_, "INSERT INTO ledger_segments VALUES (?,?,?,?,?)", -1, &stmt, nullptr);
      sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(first));
      sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(written));
      sqlite3_bind_blob(stmt, 3, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
      sqlite3_bind_blob(stmt, 4, ends.data(), static_cast<int>(ends.size()), SQLITE_TRANSIENT);
      sqlite3_bind_blob(stmt, 5, hashes.data(), static_cast<int>(hashes.size()), SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db_);
      sqlite3_finalize(stmt);
    }
  }

 private:
  static std::string Column(sqlite3_stmt* stmt, int column) {
    const void* blob = sqlite3_column_blob(stmt, column);
    return blob == nullptr
               ? std::string()
               : std::string(static_cast<const char*>(blob), static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
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
    auto ledger =
        Ledger::Open(
            {.checkpoint_every_events = 1000000, .checkpoint_interval = std::chrono::hours(1), .signer = &signer_},
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
  auto leaves = db.ReadAll();
  leaves[7].data = Replace(leaves[7].data, "\"n\":7", "\"n\":8");
  db.WriteAll(leaves);
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 7u);
  EXPECT_THAT(report.problem->what, HasSubstr("do not hash to the stored leaf hash"));
}

TEST_F(TamperTest, EditedEventWithRewrittenLeafHashIsCaught) {
  RawDb db(path_);
  auto leaves = db.ReadAll();
  leaves[7].data = Replace(leaves[7].data, "\"decision\":\"deny\"", "\"decision\":\"allow\"");
  leaves[7].hash = HashBytes(leaves[7].data);
  db.WriteAll(leaves);
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 7u);
  EXPECT_FALSE(report.problem->id.empty());
  EXPECT_THAT(report.problem->what, HasSubstr("links to"));
}

TEST_F(TamperTest, RewrittenChainIsCaughtByTheCheckpointRoot) {
  RawDb db(path_);
  auto leaves = db.ReadAll();
  std::string prev;
  for (size_t idx = 30; idx < 40; ++idx) {
    std::string data = leaves[idx].data;
    if (idx == 30) data = Replace(data, "\"decision\":\"allow\"", "\"decision\":\"deny\"");
    if (!prev.empty()) {
      size_t at = data.rfind("\"prev\":\"");
      data = data.substr(0, at) + "\"prev\":\"" + Base64Encode(prev) + "\"}";
    }
    prev = HashBytes(data);
    leaves[idx] = {data, prev};
  }
  db.WriteAll(leaves);
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 20u);
  EXPECT_THAT(report.problem->what, HasSubstr("do not hash to the signed root"));
}

TEST_F(TamperTest, DeletedEventIsCaught) {
  RawDb db(path_);
  db.WriteAll(db.ReadAll(), {10});
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 10u);
  EXPECT_THAT(report.problem->what, HasSubstr("missing"));
}

TEST_F(TamperTest, DeletedAndRenumberedEventIsCaught) {
  RawDb db(path_);
  auto leaves = db.ReadAll();
  leaves.erase(leaves.begin() + 10);
  db.WriteAll(leaves);
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 10u);
  EXPECT_THAT(report.problem->what, HasSubstr("records position 11"));
}

TEST_F(TamperTest, DeletedTailIsCaught) {
  RawDb db(path_);
  auto leaves = db.ReadAll();
  leaves.resize(35);
  db.WriteAll(leaves);
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 35u);
  EXPECT_THAT(report.problem->what, HasSubstr("covers events that are missing"));
}

TEST_F(TamperTest, ReorderedEventsAreCaught) {
  RawDb db(path_);
  auto leaves = db.ReadAll();
  std::swap(leaves[3], leaves[4]);
  db.WriteAll(leaves);
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 3u);
  EXPECT_THAT(report.problem->what, HasSubstr("records position 4 but is stored at position 3"));
}

TEST_F(TamperTest, InsertedEventIsCaught) {
  RawDb db(path_);
  // Insert at 12 a well-formed forged event that links to event 11.
  auto leaves = db.ReadAll();
  std::string forged = Replace(leaves[12].data, "\"n\":12", "\"n\":99");
  forged = Replace(forged, leaves[12].data.substr(13, 36), "01900000-0000-7000-8000-000000000000");
  leaves.insert(leaves.begin() + 12, RawDb::Leaf{forged, HashBytes(forged)});
  db.WriteAll(leaves);
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_GE(report.problem->index, 12u);
  EXPECT_LE(report.problem->index, 13u);
}

TEST_F(TamperTest, DeletedSegmentRowIsCaught) {
  RawDb db(path_);
  db.Exec(
      "DELETE FROM ledger_segments WHERE first_idx = (SELECT max(first_idx) FROM ledger_segments WHERE first_idx <= "
      "10)");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_LE(report.problem->index, 10u);
  EXPECT_THAT(report.problem->what, HasSubstr("missing"));
}

TEST_F(TamperTest, ReorderedSegmentRowsAreCaught) {
  RawDb db(path_);
  db.WriteAll(db.ReadAll());  // segments of 7: [0, 7) [7, 14) ...
  db.Exec(
      "UPDATE ledger_segments SET first_idx = -1 WHERE first_idx = 7; "
      "UPDATE ledger_segments SET first_idx = 7 WHERE first_idx = 14; "
      "UPDATE ledger_segments SET first_idx = 14 WHERE first_idx = -1");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 7u);
  EXPECT_THAT(report.problem->what, HasSubstr("records position 14 but is stored at position 7"));
}

TEST_F(TamperTest, SegmentRowInsertedInsideAnotherIsCaught) {
  RawDb db(path_);
  db.WriteAll(db.ReadAll());  // segments of 7: [0, 7) [7, 14) ...
  // A forged one-event row at 10 would be what Get(10) and queries read: verification must see it.
  db.Exec(
      "INSERT INTO ledger_segments SELECT 10, 1, data, x'', substr(hashes, 1, 32) FROM ledger_segments "
      "WHERE first_idx = 14");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 10u);
  EXPECT_THAT(report.problem->what, HasSubstr("inserted"));
}

TEST_F(TamperTest, TruncatedSegmentIsCaught) {
  RawDb db(path_);
  db.WriteAll(db.ReadAll());
  db.Exec("UPDATE ledger_segments SET count = 6 WHERE first_idx = 7");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 7u);
  EXPECT_THAT(report.problem->what, HasSubstr("malformed"));
}

TEST_F(TamperTest, SegmentColumnsThatAreNotBlobsAreCaught) {
  // Segments are read with incremental blob I/O; a value of another type must still be read (as
  // SQL converts it) and reported, not skipped or taken for an I/O error.
  std::vector<RawDb::Leaf> leaves = RawDb(path_).ReadAll();
  for (std::string change : {"data = 42", "hashes = 7", "ends = 'text'", "data = 1.5"}) {
    {
      RawDb db(path_);
      db.WriteAll(leaves);
      db.Exec("UPDATE ledger_segments SET " + change + " WHERE first_idx = 14");
    }
    VerifyReport report = Check();
    ASSERT_FALSE(report.ok()) << change;
    EXPECT_EQ(report.problem->index, 14u) << change;
    EXPECT_THAT(report.problem->what, HasSubstr("malformed")) << change;
  }
}

TEST_F(TamperTest, EditedProofCopyOfALeafHashIsCaught) {
  RawDb db(path_);
  // Proofs read leaf hashes from ledger_leaves: a changed copy must not pass verification.
  db.Exec("UPDATE ledger_leaves SET hashes = zeroblob(32) || substr(hashes, 33) WHERE chunk = 1");
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 16u);
  EXPECT_THAT(report.problem->what, HasSubstr("proof copy"));
}

TEST_F(TamperTest, EditedOrMissingQueryIndexIsCaught) {
  {
    // The store keeps the index rows of full blocks only: fill block 0.
    TestStore store(path_);
    auto ledger = Ledger::Open({.durability = Durability::kBatched, .signer = &signer_}, *store.ledger).value();
    for (int i = 40; i < static_cast<int>(kBlockEvents) + 10; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
    ASSERT_THAT(ledger->Checkpoint(), IsOk());
  }
  ASSERT_TRUE(Check().ok());
  {
    RawDb db(path_);
    // Clearing the filter would hide every event of the block from queries by subject or id.
    db.Exec("UPDATE ledger_blocks SET keys = zeroblob(length(keys)) WHERE block = 0");
  }
  VerifyReport report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 0u);
  EXPECT_THAT(report.problem->what, HasSubstr("does not match"));
  RawDb(path_).Exec("DELETE FROM ledger_blocks WHERE block = 0");
  report = Check();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.problem->index, 0u);
  EXPECT_THAT(report.problem->what, HasSubstr("query index of events from 0 is missing"));
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
    auto leaves = db.ReadAll();
    leaves.resize(35);
    db.WriteAll(leaves);
  }
  TestStore store(path_);
  EXPECT_THAT(Ledger::Open({.signer = &signer_}, *store.ledger), FailsWith(Code::kDataLoss));
}

// Verification hashes leaves on both of its threads, in chunks of a segment claimed by whichever is
// free: the first edited event in scan order must still be the one reported, wherever it falls.
TEST(TamperManySegmentsTest, FirstEditedEventIsReportedWhicheverThreadHashesIt) {
  TempDir dir;
  const std::string path = dir.file("writ.db");
  NoteSigner signer = TestSigner();
  std::vector<NoteVerifier> verifiers{TestVerifier()};
  {
    TestStore store(path);
    auto ledger = Ledger::Open({.durability = Durability::kBatched,
                                .checkpoint_every_events = 1000000,
                                .checkpoint_interval = std::chrono::hours(1),
                                .signer = &signer},
                               *store.ledger)
                      .value();
    for (int i = 0; i < 3000; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
    ASSERT_THAT(ledger->Checkpoint(), IsOk());
  }
  auto check = [&] {
    TestStore store(path);
    auto report = Verify(*store.ledger, {.verifiers = verifiers});
    EXPECT_THAT(report, IsOk());
    return report ? *report : VerifyReport{};
  };
  // Segments of 300 events: more than the buffers in flight (so the reader stage hashes too), each
  // hashed in several chunks.
  std::vector<RawDb::Leaf> original;
  {
    RawDb db(path);
    original = db.ReadAll();
    ASSERT_EQ(original.size(), 3000u);
    db.WriteAll(original, {}, 300);
  }
  VerifyReport clean = check();
  EXPECT_TRUE(clean.ok());
  EXPECT_EQ(clean.events, 3000u);
  for (const std::vector<size_t>& edits :
       std::vector<std::vector<size_t>>{{2950, 1290}, {1290, 1291, 2999}, {2999}, {0, 1}, {599, 600}, {1799, 1300}}) {
    std::vector<RawDb::Leaf> leaves = original;
    for (size_t at : edits) {
      leaves[at].data = Replace(leaves[at].data, "\"n\":" + std::to_string(at), "\"n\":" + std::to_string(at + 1));
    }
    {
      RawDb db(path);
      db.WriteAll(leaves, {}, 300);
    }
    VerifyReport report = check();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.problem->index, *std::min_element(edits.begin(), edits.end()));
    EXPECT_THAT(report.problem->what, HasSubstr("do not hash to the stored leaf hash"));
    EXPECT_EQ(report.events, report.problem->index);
  }
}

}  // namespace
}  // namespace writ::ledger
