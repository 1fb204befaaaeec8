#include "store/ledger_store.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "store/sqlite/database.h"
#include "store/sqlite_store.h"
#include "testing/temp_dir.h"

namespace writ::store {
namespace {

using namespace std::chrono_literals;

class LedgerWalCheckpointTest : public ::testing::Test {
 protected:
  void Open(const sqlite::LedgerStoreOptions& options) {
    sqlite_ = SqliteStore::Open(dir_.file("writ.db")).value();
    ledger_ = sqlite::OpenLedgerStore(sqlite_->database(), options).value();
  }
  // Appends one segment of `bytes` event bytes at the end of the log.
  void AppendSegment(size_t bytes) {
    LedgerSegment segment;
    segment.first = ledger_->Size().value();
    segment.count = 1;
    segment.data.assign(bytes, 'x');
    segment.ends.assign(8, '\0');
    segment.hashes.assign(32, '\0');
    LedgerBatch batch;
    batch.segments = std::span<const LedgerSegment>(&segment, 1);
    ASSERT_TRUE(ledger_->Append(batch));
  }
  // Waits (bounded) until the backend has checkpointed at least `count` times.
  bool CheckpointsReach(uint64_t count) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      if (ledger_->WalCheckpoints() >= count) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> sqlite_;
  std::unique_ptr<LedgerStore> ledger_;
};

TEST_F(LedgerWalCheckpointTest, CommitsBelowTheWalBoundAreNotCopiedUntilIdle) {
  Open({.checkpoint_wal_pages = 1 << 20, .checkpoint_idle = 1h});
  for (int commit = 0; commit < 20; ++commit) AppendSegment(1000);
  std::this_thread::sleep_for(100ms);
  // No commit pays for a copy of the WAL: neither the bound nor the idle time was reached.
  EXPECT_EQ(ledger_->WalCheckpoints(), 0u);
  EXPECT_EQ(ledger_->Size().value(), 20u);
}

TEST_F(LedgerWalCheckpointTest, AFullWalIsCopiedAtOnce) {
  Open({.checkpoint_wal_pages = 64, .checkpoint_idle = 1h});
  AppendSegment(1000);
  EXPECT_EQ(ledger_->WalCheckpoints(), 0u);
  AppendSegment(512 * 1024);  // 128 pages and more: past the bound
  EXPECT_TRUE(CheckpointsReach(1));
  EXPECT_EQ(ledger_->Size().value(), 2u);
}

TEST_F(LedgerWalCheckpointTest, AQuietWalIsCopiedAfterTheIdleTime) {
  Open({.checkpoint_wal_pages = 1 << 20, .checkpoint_idle = 20ms});
  AppendSegment(1000);
  EXPECT_TRUE(CheckpointsReach(1));
  const uint64_t after_first = ledger_->WalCheckpoints();
  // Nothing new committed: no further copies, however long it stays quiet.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(ledger_->WalCheckpoints(), after_first);
}

TEST_F(LedgerWalCheckpointTest, TheWalStaysBoundedUnderASteadyStreamOfCommits) {
  constexpr int kBoundPages = 32;  // 128 KiB; the file is cut back to twice that when it starts over
  Open({.checkpoint_wal_pages = kBoundPages, .checkpoint_idle = 1h});
  const std::string wal = dir_.file("writ.db") + "-wal";
  uintmax_t largest = 0;
  // ~8 MiB committed without a pause: a checkpoint that only copies what it can (PASSIVE) never
  // catches up with the end of the WAL, which then grows with every commit.
  for (int commit = 0; commit < 1000; ++commit) {
    AppendSegment(8 * 1024);
    largest = std::max(largest, std::filesystem::file_size(wal));
  }
  EXPECT_GT(ledger_->WalCheckpoints(), 0u);
  EXPECT_LT(largest, uintmax_t{4} << 20) << "the WAL grew with the stream of commits";
  EXPECT_EQ(ledger_->Size().value(), 1000u);
}

TEST_F(LedgerWalCheckpointTest, CheckpointedEventsSurviveReopening) {
  Open({.checkpoint_wal_pages = 16, .checkpoint_idle = 1h});
  AppendSegment(256 * 1024);
  ASSERT_TRUE(CheckpointsReach(1));
  AppendSegment(1000);  // in the WAL only
  ledger_.reset();
  sqlite_.reset();
  Open({});
  EXPECT_EQ(ledger_->Size().value(), 2u);
}

}  // namespace
}  // namespace writ::store
