#include "store/sqlite/database.h"

#include <fstream>
#include <string>

#include <sqlite3.h>

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::store::sqlite {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kV1 = "CREATE TABLE t (x INTEGER)";
constexpr std::string_view kV2 = "ALTER TABLE t ADD COLUMN y TEXT";

TEST(DatabaseTest, MigrationsApplyOnceInOrder) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.db")).value();
  const std::string_view both[] = {kV1, kV2};
  ASSERT_THAT(db->Migrate("demo", std::span(both, 1)), IsOk());
  EXPECT_EQ(db->SchemaVersion("demo").value(), 1);
  ASSERT_THAT(db->Migrate("demo", both), IsOk());
  ASSERT_THAT(db->Migrate("demo", both), IsOk());  // idempotent
  EXPECT_EQ(db->SchemaVersion("demo").value(), 2);
  EXPECT_EQ(db->SchemaVersion("other").value(), 0);
}

TEST(DatabaseTest, NewerSchemaThanBinaryIsAClearError) {
  TempDir dir;
  const std::string_view both[] = {kV1, kV2};
  ASSERT_THAT(Database::Open(dir.file("a.db")).value()->Migrate("demo", both), IsOk());
  auto db = Database::Open(dir.file("a.db")).value();
  EXPECT_THAT(db->Migrate("demo", std::span(both, 1)),
              FailsWith(Code::kFailedPrecondition, HasSubstr("version 2 but this binary knows only version 1")));
}

TEST(DatabaseTest, OlderSchemaOnAReadOnlyConnectionSaysToStartWritd) {
  TempDir dir;
  const std::string_view both[] = {kV1, kV2};
  ASSERT_THAT(Database::Open(dir.file("a.db")).value()->Migrate("demo", std::span(both, 1)), IsOk());
  auto reader = Database::Open(dir.file("a.db"), {.read_only = true}).value();
  EXPECT_THAT(reader->Migrate("demo", std::span(both, 1)), IsOk());  // up to date: nothing to write
  EXPECT_THAT(reader->Migrate("demo", both),
              FailsWith(Code::kFailedPrecondition, HasSubstr("start writd once on this data directory to migrate it")));
  EXPECT_EQ(reader->SchemaVersion("demo").value(), 1);
}

TEST(DatabaseTest, FailedMigrationLeavesVersionUnchanged) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.db")).value();
  const std::string_view broken[] = {kV1, "THIS IS NOT SQL"};
  EXPECT_THAT(db->Migrate("demo", broken), FailsWith(Code::kUnavailable));
  EXPECT_EQ(db->SchemaVersion("demo").value(), 1);
}

TEST(DatabaseTest, OpeningAFileThatIsNotADatabaseFails) {
  TempDir dir;
  std::ofstream(dir.file("junk.db")) << std::string(8192, 'x');
  EXPECT_THAT(Database::Open(dir.file("junk.db")), FailsWith(Code::kUnavailable, HasSubstr("not a writ database")));
  EXPECT_THAT(Database::Open(dir.file("missing/dir/x.db")), FailsWith(Code::kUnavailable));
}

TEST(DatabaseTest, UsesWalAndFullSync) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.db")).value();
  MutexLock lock(db->mu());
  auto mode = db->Prepare("PRAGMA journal_mode").value();
  ASSERT_TRUE(mode.Step().value());
  EXPECT_EQ(mode.ColumnText(0), "wal");
  auto sync = db->Prepare("PRAGMA synchronous").value();
  ASSERT_TRUE(sync.Step().value());
  EXPECT_EQ(sync.ColumnInt(0), 2);  // FULL
}

TEST(DatabaseTest, TransactionRollsBackUnlessCommitted) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.db")).value();
  const std::string_view v1[] = {kV1};
  ASSERT_THAT(db->Migrate("demo", v1), IsOk());
  {
    Transaction transaction(*db);
    ASSERT_THAT(transaction.Begin(), IsOk());
    ASSERT_THAT(db->Exec("INSERT INTO t VALUES (1)"), IsOk());
  }
  MutexLock lock(db->mu());
  auto count = db->Prepare("SELECT count(*) FROM t").value();
  ASSERT_TRUE(count.Step().value());
  EXPECT_EQ(count.ColumnInt(0), 0);
}

// Statements open on the connection (prepared and not finalized).
int OpenStatements(Database& db) {
  int count = 0;
  for (sqlite3_stmt* stmt = sqlite3_next_stmt(db.handle(), nullptr); stmt != nullptr;
       stmt = sqlite3_next_stmt(db.handle(), stmt)) {
    ++count;
  }
  return count;
}

TEST(DatabaseTest, AStatementTextIsCompiledOnceAndComesBackClean) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.db")).value();
  MutexLock lock(db->mu());
  const int before = OpenStatements(*db);
  for (int64_t n = 0; n < 10; ++n) {
    auto echo = db->Prepare("SELECT ?1").value();
    if (n == 0) {
      ASSERT_TRUE(echo.Step().value());
      EXPECT_TRUE(echo.ColumnIsNull(0));  // no binding yet
      echo.Reset();
    }
    echo.Bind(1, n);
    ASSERT_TRUE(echo.Step().value());  // left mid-result: the cache resets it
    EXPECT_EQ(echo.ColumnInt(0), n);
  }
  EXPECT_EQ(OpenStatements(*db), before + 1);
  auto again = db->Prepare("SELECT ?1").value();
  ASSERT_TRUE(again.Step().value());
  EXPECT_TRUE(again.ColumnIsNull(0));  // the last use's binding is gone
}

TEST(DatabaseTest, TheSameTextInUseTwiceGetsTwoStatements) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.db")).value();
  MutexLock lock(db->mu());
  auto outer = db->Prepare("SELECT ?1").value();
  outer.Bind(1, int64_t{1});
  ASSERT_TRUE(outer.Step().value());
  {
    auto inner = db->Prepare("SELECT ?1").value();
    inner.Bind(1, int64_t{2});
    ASSERT_TRUE(inner.Step().value());
    EXPECT_EQ(inner.ColumnInt(0), 2);
  }
  EXPECT_EQ(outer.ColumnInt(0), 1);  // untouched by the inner use
}

TEST(DatabaseTest, TheCacheIsBounded) {
  TempDir dir;
  auto db = Database::Open(dir.file("a.db")).value();
  MutexLock lock(db->mu());
  const int before = OpenStatements(*db);
  for (size_t n = 0; n < Database::kMaxCachedStatements * 2; ++n) {
    auto distinct = db->Prepare("SELECT " + std::to_string(n)).value();
    ASSERT_TRUE(distinct.Step().value());
    EXPECT_EQ(distinct.ColumnInt(0), static_cast<int64_t>(n));
  }
  EXPECT_LE(OpenStatements(*db), before + static_cast<int>(Database::kMaxCachedStatements));
}

}  // namespace
}  // namespace writ::store::sqlite
