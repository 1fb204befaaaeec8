#include "store/sqlite/database.h"

#include <fstream>

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

}  // namespace
}  // namespace writ::store::sqlite
