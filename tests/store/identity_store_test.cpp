#include "store/identity_store.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace writ::store
