#include "store/identity_store.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/sqlite/database.h"
#include "store/sqlite/identity_cache.h"
#include "store/sqlite_store.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::store {
namespace {

IdentityRecord Agent(std::string name, int64_t version, std::string state = "active", std::string owner = "alice") {
  IdentityRecord record;
  record.kind = "agent";
  record.name = std::move(name);
  record.version = version;
  record.state = std::move(state);
  record.owner = std::move(owner);
  record.tier = "low";
  record.document = "{}";
  record.change = version == 1 ? "create" : "update";
  record.author = "alice";
  record.changed_at_ms = 1000 * version;
  return record;
}

class IdentityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = SqliteStore::Open(dir_.file("writ.db")).value(); }
  IdentityStore& identities() { return store_->identities(); }
  // Changes a stored document behind the store's back (as no writer ever does: writd is the only
  // one), to tell a read served from memory from one that went to the database.
  void RewriteDocumentBehindTheStore(const std::string& name, const std::string& document) {
    sqlite::Database& db = store_->database();
    MutexLock lock(db.mu());
    ASSERT_THAT(db.Exec("UPDATE identity_versions SET document = '" + document + "' WHERE name = '" + name + "'"), IsOk());
  }
  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(IdentityStoreTest, CreateThenLatestAndHistory) {
  ASSERT_THAT(identities().Create(Agent("bot", 1)), IsOk());
  ASSERT_THAT(identities().Append(Agent("bot", 2, "suspended")), IsOk());
  const auto latest = identities().Latest("agent", "bot").value();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->state, "suspended");
  const auto history = identities().History("agent", "bot").value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].change, "create");
  EXPECT_EQ(history[1].version, 2);
  EXPECT_FALSE(identities().Latest("agent", "nobody").value().has_value());
  EXPECT_FALSE(identities().Latest("human", "bot").value().has_value());
}

TEST_F(IdentityStoreTest, DuplicateCreateIsConflict) {
  ASSERT_THAT(identities().Create(Agent("bot", 1)), IsOk());
  EXPECT_THAT(identities().Create(Agent("bot", 1)), FailsWith(Code::kConflict, "agent `bot` already exists"));
  EXPECT_THAT(identities().Create(Agent("bot2", 3)), FailsWith(Code::kInvalidArgument));
}

TEST_F(IdentityStoreTest, AppendChecksTheExpectedVersion) {
  ASSERT_THAT(identities().Create(Agent("bot", 1)), IsOk());
  EXPECT_THAT(identities().Append(Agent("bot", 3)), FailsWith(Code::kConflict));
  EXPECT_THAT(identities().Append(Agent("ghost", 2)), FailsWith(Code::kNotFound));
  ASSERT_THAT(identities().Append(Agent("bot", 2)), IsOk());
  EXPECT_THAT(identities().Append(Agent("bot", 2)), FailsWith(Code::kConflict));
  EXPECT_EQ(identities().History("agent", "bot").value().size(), 2u);
}

TEST_F(IdentityStoreTest, ListFiltersAndPages) {
  for (const char* name : {"a", "b", "c", "d", "e"}) ASSERT_THAT(identities().Create(Agent(name, 1)), IsOk());
  ASSERT_THAT(identities().Append(Agent("c", 2, "suspended", "bob")), IsOk());
  auto page = identities().List({.kind = "agent", .limit = 2}).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[1].name, "b");
  page = identities().List({.kind = "agent", .after_name = "b", .limit = 2}).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].name, "c");
  EXPECT_EQ(identities().List({.kind = "agent", .state = "suspended"}).value().size(), 1u);
  EXPECT_EQ(identities().List({.kind = "agent", .owner = "alice"}).value().size(), 4u);
  EXPECT_EQ(identities().List({.kind = "human"}).value().size(), 0u);
}

TEST_F(IdentityStoreTest, WritesSurviveReopen) {
  ASSERT_THAT(identities().Create(Agent("bot", 1)), IsOk());
  store_.reset();
  store_ = SqliteStore::Open(dir_.file("writ.db")).value();
  EXPECT_TRUE(identities().Latest("agent", "bot").value().has_value());
}

// The latest record is kept in memory (a decision reads it every time), and every write through
// the store replaces it before returning: a change is seen by the very next read.
TEST_F(IdentityStoreTest, LatestIsKeptInMemoryAndEveryWriteReplacesIt) {
  ASSERT_THAT(identities().Create(Agent("bot", 1)), IsOk());
  ASSERT_EQ(identities().Latest("agent", "bot").value()->document, "{}");
  RewriteDocumentBehindTheStore("bot", R"({"behind":1})");
  EXPECT_EQ(identities().Latest("agent", "bot").value()->document, "{}");  // from memory
  ASSERT_THAT(identities().Append(Agent("bot", 2, "suspended")), IsOk());
  const auto latest = identities().Latest("agent", "bot").value();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->state, "suspended");
  // A name only read as missing is not remembered as missing.
  EXPECT_FALSE(identities().Latest("agent", "later").value().has_value());
  ASSERT_THAT(identities().Create(Agent("later", 1)), IsOk());
  EXPECT_TRUE(identities().Latest("agent", "later").value().has_value());
}

// A write that fails (here a lost optimistic race; the same path serves an I/O failure whose commit
// may or may not have reached the disk) forgets the entry: the next read asks the database.
TEST_F(IdentityStoreTest, FailedWriteForgetsTheEntry) {
  ASSERT_THAT(identities().Create(Agent("bot", 1)), IsOk());
  ASSERT_TRUE(identities().Latest("agent", "bot").value().has_value());
  RewriteDocumentBehindTheStore("bot", R"({"behind":1})");
  EXPECT_THAT(identities().Append(Agent("bot", 5)), FailsWith(Code::kConflict));
  EXPECT_EQ(identities().Latest("agent", "bot").value()->document, R"({"behind":1})");
  EXPECT_THAT(identities().Create(Agent("bot", 1)), FailsWith(Code::kConflict));
  RewriteDocumentBehindTheStore("bot", R"({"behind":2})");
  EXPECT_EQ(identities().Latest("agent", "bot").value()->document, R"({"behind":2})");
}

// Reads racing writes: no reader ever sees a version go back, and a writer's own read after its
// write returned sees at least that version (a fill that read an older version never wins).
TEST_F(IdentityStoreTest, ReadsRacingWritesNeverGoBack) {
  ASSERT_THAT(identities().Create(Agent("bot", 1)), IsOk());
  constexpr int64_t kLast = 60;
  std::atomic<bool> done{false};
  std::atomic<int> regressions{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      int64_t seen = 0;
      while (!done.load()) {
        const auto latest = identities().Latest("agent", "bot");
        if (!latest || !latest->has_value()) {
          regressions.fetch_add(1);
          continue;
        }
        const int64_t version = (*latest)->version;
        // Even versions are suspended, odd ones active: a record is never torn.
        if (version < seen || (*latest)->state != (version % 2 == 0 ? "suspended" : "active")) regressions.fetch_add(1);
        seen = version;
      }
    });
  }
  for (int64_t version = 2; version <= kLast; ++version) {
    ASSERT_THAT(identities().Append(Agent("bot", version, version % 2 == 0 ? "suspended" : "active")), IsOk());
    EXPECT_GE(identities().Latest("agent", "bot").value()->version, version);
  }
  done.store(true);
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(regressions.load(), 0);
  EXPECT_EQ(identities().Latest("agent", "bot").value()->version, kLast);
}

TEST(IdentityCacheTest, KeepsTheNewestVersionForgetsOnDropAndStaysBounded) {
  sqlite::IdentityCache cache(/*capacity=*/3);
  cache.Put(Agent("bot", 2, "suspended"));
  cache.Put(Agent("bot", 1));  // a stale fill: ignored
  EXPECT_EQ(cache.Find("agent", "bot")->version, 2);
  EXPECT_EQ(cache.Find("agent", "bot")->state, "suspended");
  cache.Put(Agent("bot", 3));
  EXPECT_EQ(cache.Find("agent", "bot")->version, 3);
  EXPECT_EQ(cache.Find("human", "bot"), nullptr);  // kinds are apart
  cache.Drop("agent", "bot");
  EXPECT_EQ(cache.Find("agent", "bot"), nullptr);
  cache.Put(Agent("bot", 1));  // after a drop, any version fills again
  EXPECT_EQ(cache.Find("agent", "bot")->version, 1);
  for (const char* name : {"a", "b", "c", "d", "e"}) cache.Put(Agent(name, 1));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_NE(cache.Find("agent", "e"), nullptr);  // the newest entry is kept
}

}  // namespace
}  // namespace writ::store
