#include "ledger/ledger.h"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "ledger/index.h"
#include "ledger/verify.h"
#include "ledger_test_util.h"
#include "testing/fake_clock.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::ledger {
namespace {

using ::testing::HasSubstr;
using testing::MakeEvent;
using testing::TestSigner;
using testing::TestStore;
using testing::TestVerifier;

class LedgerTest : public ::testing::Test {
 protected:
  LedgerOptions Options() {
    return {.origin = "writ.test/ledger",
            .checkpoint_every_events = 1000000,
            .checkpoint_interval = std::chrono::hours(1),
            .hmac_key = "k",
            .signer = &signer_};
  }
  std::unique_ptr<Ledger> OpenLedger(TestStore& store) { return Ledger::Open(Options(), *store.ledger).value(); }

  TempDir dir_;
  NoteSigner signer_ = TestSigner();
  std::vector<NoteVerifier> verifiers_{TestVerifier()};
};

TEST_F(LedgerTest, ConcurrentAppendsAreDurableAndProvable) {
  TestStore store(dir_.file("writ.db"));
  auto ledger = OpenLedger(store);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!ledger->Append(MakeEvent(t * 100 + i))) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ledger->Size(), 200u);

  auto note = ledger->Checkpoint();
  ASSERT_THAT(note, IsOk());
  auto text = OpenNote(*note, verifiers_);
  ASSERT_THAT(text, IsOk());
  auto checkpoint = ParseCheckpoint(*text).value();
  EXPECT_EQ(checkpoint.origin, "writ.test/ledger");
  EXPECT_EQ(checkpoint.size, 200u);
  for (LeafIndex index : {0u, 1u, 17u, 128u, 199u}) {
    auto proof = ledger->ProveInclusion(index, 200);
    ASSERT_THAT(proof, IsOk());
    EXPECT_THAT(VerifyInclusion(index, 200, proof->leaf_hash, proof->hashes, checkpoint.root), IsOk());
  }
  auto event = ledger->Get(5).value().value();
  auto by_id = ledger->ProveInclusionById(event.event.id);
  ASSERT_THAT(by_id, IsOk());
  EXPECT_EQ(by_id->index, 5u);
  EXPECT_THAT(ledger->ProveInclusionById("nope"), FailsWith(Code::kNotFound));
  EXPECT_THAT(ledger->ProveInclusion(200, 200), FailsWith(Code::kOutOfRange));

  ASSERT_THAT(ledger->Append(MakeEvent(1000)), IsOk());
  auto later = ParseCheckpoint(OpenNote(ledger->Checkpoint().value(), verifiers_).value()).value();
  EXPECT_EQ(later.size, 201u);
  auto consistency = ledger->ProveConsistency(200, 201);
  ASSERT_THAT(consistency, IsOk());
  EXPECT_THAT(VerifyConsistency(200, 201, *consistency, checkpoint.root, later.root), IsOk());

  auto report = Verify(*store.ledger, {.verifiers = verifiers_, .origin = "writ.test/ledger"});
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok()) << report->problem->what;
  EXPECT_EQ(report->events, 201u);
  EXPECT_EQ(report->checkpoints, 2u);
  EXPECT_EQ(report->root, later.root);
}

TEST_F(LedgerTest, AppendAsyncCallsBackOnceDurable) {
  TestStore store(dir_.file("writ.db"));
  auto ledger = OpenLedger(store);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Receipt> receipts;
  for (int i = 0; i < 300; ++i) {
    ledger->AppendAsync(MakeEvent(i), [&](Result<Receipt> receipt) {
      ASSERT_THAT(receipt, IsOk());
      std::lock_guard<std::mutex> lock(mu);
      receipts.push_back(*receipt);
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return receipts.size() == 300; });
  for (const Receipt& receipt : receipts) EXPECT_LT(receipt.index, ledger->Size());
  Event bad = MakeEvent(1);
  bad.details = json::Value(1);
  bool refused = false;
  ledger->AppendAsync(bad, [&](Result<Receipt> receipt) { refused = !receipt.has_value(); });
  EXPECT_TRUE(refused);
}

TEST_F(LedgerTest, CheckpointFileAndVerifyProgress) {
  TestStore store(dir_.file("writ.db"));
  LedgerOptions options = Options();
  options.checkpoint_file = dir_.file("checkpoint.txt");
  auto ledger = Ledger::Open(options, *store.ledger).value();
  for (int i = 0; i < 25; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
  std::string note = ledger->Checkpoint().value();
  std::ifstream in(options.checkpoint_file);
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(file.str(), note);
  std::vector<uint64_t> progress;
  auto report = Verify(*store.ledger, {.verifiers = verifiers_,
                                       .trusted_checkpoint = note,
                                       .progress =
                                           [&](uint64_t done, uint64_t total) {
                                             EXPECT_EQ(total, 25u);
                                             progress.push_back(done);
                                           },
                                       .progress_every = 10});
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(progress, (std::vector<uint64_t>{10, 20, 25}));
}

TEST_F(LedgerTest, OpenRefusesAnotherOrigin) {
  TestStore store(dir_.file("writ.db"));
  {
    auto ledger = OpenLedger(store);
    ASSERT_THAT(ledger->Append(MakeEvent(1)), IsOk());
    ASSERT_THAT(ledger->Checkpoint(), IsOk());
  }
  LedgerOptions options = Options();
  options.origin = "someone.else/log";
  EXPECT_THAT(Ledger::Open(options, *store.ledger), FailsWith(Code::kFailedPrecondition));
}

TEST_F(LedgerTest, ReopenRestoresTheTreeAndContinues) {
  Hash root{};
  {
    TestStore store(dir_.file("writ.db"));
    auto ledger = OpenLedger(store);
    for (int i = 0; i < 37; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
    ASSERT_THAT(ledger->Checkpoint(), IsOk());
    root = ledger->Root(37).value();
  }
  TestStore store(dir_.file("writ.db"));
  auto ledger = OpenLedger(store);
  EXPECT_EQ(ledger->Size(), 37u);
  EXPECT_EQ(ledger->Root(37).value(), root);
  for (int i = 37; i < 70; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
  ASSERT_THAT(ledger->Checkpoint(), IsOk());
  auto proof = ledger->ProveConsistency(37, 70).value();
  EXPECT_THAT(VerifyConsistency(37, 70, proof, root, ledger->Root(70).value()), IsOk());
  auto report = Verify(*store.ledger, {.verifiers = verifiers_});
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok()) << report->problem->what;
}

TEST_F(LedgerTest, SecretsNeverReachTheStore) {
  TestStore store(dir_.file("writ.db"));
  auto ledger = OpenLedger(store);
  Event event = MakeEvent(1);
  event.secrets.emplace_back("upstream_key", "sk-live-SECRET1");
  event.details.Set("access_token", "eyJSECRET2");
  json::Value nested;
  nested.Set("Authorization", "Bearer SECRET3");
  event.details.Set("request", nested);
  auto receipt = ledger->Append(event);
  ASSERT_THAT(receipt, IsOk());
  std::string leaf = store.ledger->ReadEvent(receipt->index).value().value();
  EXPECT_EQ(leaf.find("SECRET"), std::string::npos) << leaf;
  EXPECT_NE(leaf.find("hmac-sha256:"), std::string::npos);
  auto stored = ledger->Get(receipt->index).value().value();
  EXPECT_EQ(stored.event.details.Find("upstream_key")->as_string(), SecretFingerprint("k", "sk-live-SECRET1"));
}

TEST_F(LedgerTest, QueryFiltersBySubjectKindCorrelationAndTime) {
  FakeClock clock(FromUnixMillis(1'700'000'000'000));
  TestStore store(dir_.file("writ.db"));
  LedgerOptions options = Options();
  options.clock = &clock;
  auto ledger = Ledger::Open(options, *store.ledger).value();
  for (int i = 0; i < 30; ++i) {
    ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
    clock.Advance(std::chrono::seconds(1));
  }
  auto by_subject = ledger->Query({.subject = "spiffe://writ.test/agent/bot-2"}).value();
  EXPECT_EQ(by_subject.size(), 6u);
  for (const auto& item : by_subject) EXPECT_EQ(item.event.subject, "spiffe://writ.test/agent/bot-2");
  auto decisions = ledger->Query({.kind = EventKind::kDecision}).value();
  EXPECT_EQ(decisions.size(), 10u);
  auto correlated = ledger->Query({.correlation_id = "corr-1"}).value();
  EXPECT_EQ(correlated.size(), 10u);
  auto window =
      ledger->Query({.from = FromUnixMillis(1'700'000'005'000), .to = FromUnixMillis(1'700'000'008'000)}).value();
  ASSERT_EQ(window.size(), 3u);
  EXPECT_EQ(window[0].index, 5u);
  auto page = ledger->Query({.after_index = 25, .limit = 2}).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[1].index, 26u);
  EXPECT_EQ(page[1].event.details.Find("n")->as_int(), 26);
}

// The store holds the query index row of a block only once the block is full (a one-event commit no
// longer rewrites the open block's filter); queries over the block being filled use the ledger's
// in-memory row, also after a reopen, and ignore a stale stored row an older version left for it.
TEST_F(LedgerTest, OpenBlockIsQueriedFromMemoryAndStoredOnceFull) {
  const int kBlock = static_cast<int>(kBlockEvents);
  auto late = [](int n) {
    Event event = MakeEvent(n);
    event.subject = "spiffe://writ.test/agent/late-" + std::to_string(n);
    event.correlation_id = "late-corr-" + std::to_string(n);
    return event;
  };
  std::string late_id;
  {
    TestStore store(dir_.file("writ.db"));
    LedgerOptions options = Options();
    options.durability = Durability::kBatched;  // thousands of events: one commit per batch
    auto ledger = Ledger::Open(options, *store.ledger).value();
    for (int i = 0; i < kBlock - 1; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
    ASSERT_THAT(ledger->Checkpoint(), IsOk());
    EXPECT_TRUE(store.ledger->Blocks(0, 10).value().empty()) << "the open block's row was stored";
    ASSERT_THAT(ledger->Append(late(kBlock - 1)), IsOk());  // fills block 0
    late_id = ledger->Append(late(kBlock + 5)).value().id;  // in block 1, still open
    ASSERT_THAT(ledger->Checkpoint(), IsOk());
    auto rows = store.ledger->Blocks(0, 10).value();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].block, 0u);
    auto in_closed = ledger->Query({.subject = "spiffe://writ.test/agent/late-" + std::to_string(kBlock - 1)}).value();
    ASSERT_EQ(in_closed.size(), 1u);
    EXPECT_EQ(in_closed[0].index, static_cast<uint64_t>(kBlock - 1));
  }
  // An older version stored a row for the open block at every commit: plant a stale one.
  {
    TestStore store(dir_.file("writ.db"));
    store::LedgerBlockRow stale{1, 0, 0, 0, std::string(64, '\0')};
    ASSERT_THAT(store.ledger->Append({.segments = {}, .nodes = {}, .blocks = {&stale, 1}, .leaves = {}}), IsOk());
  }
  TestStore store(dir_.file("writ.db"));
  auto ledger = OpenLedger(store);
  ASSERT_EQ(ledger->Size(), static_cast<uint64_t>(kBlock + 1));
  const std::string subject = "spiffe://writ.test/agent/late-" + std::to_string(kBlock + 5);
  auto by_subject = ledger->Query({.subject = subject}).value();
  ASSERT_EQ(by_subject.size(), 1u);
  EXPECT_EQ(by_subject[0].index, static_cast<uint64_t>(kBlock));
  EXPECT_EQ(ledger->Query({.correlation_id = "late-corr-" + std::to_string(kBlock + 5)}).value().size(), 1u);
  EXPECT_EQ(ledger->ProveInclusionById(late_id).value().index, static_cast<uint64_t>(kBlock));
  ASSERT_THAT(ledger->Append(late(kBlock + 7)), IsOk());  // restored from the events: still found
  EXPECT_EQ(ledger->Query({.subject = "spiffe://writ.test/agent/late-" + std::to_string(kBlock + 7)}).value().size(),
            1u);
  EXPECT_EQ(
      ledger->Query({.kind = EventKind::kDecision, .after_index = static_cast<uint64_t>(kBlock - 3)}).value().size(),
      2u);
  ASSERT_THAT(ledger->Checkpoint(), IsOk());
  auto report = Verify(*store.ledger, {.verifiers = verifiers_});
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok()) << report->problem->what;
}

// A store whose appends fail on demand (disk full, I/O error).
class FailingStore : public store::LedgerStore {
 public:
  explicit FailingStore(store::LedgerStore& inner) : inner_(inner) {}
  std::atomic<bool> fail{false};
  std::atomic<int> transactions{0};  // appends that wrote events
  Status Append(const store::LedgerBatch& batch) override {
    if (fail) return Fail(Code::kUnavailable, "store: disk full");
    if (!batch.segments.empty()) ++transactions;
    return inner_.Append(batch);
  }
  Result<uint64_t> Size() override { return inner_.Size(); }
  Result<std::string> LeafHashes(uint64_t b, uint64_t e) override { return inner_.LeafHashes(b, e); }
  Result<std::optional<std::string>> ReadEvent(uint64_t i) override { return inner_.ReadEvent(i); }
  Result<bool> ReadSegment(uint64_t f, bool c, store::LedgerSegment& out) override {
    return inner_.ReadSegment(f, c, out);
  }
  Result<std::vector<store::LedgerNodeRow>> Nodes() override { return inner_.Nodes(); }
  Result<std::vector<store::LedgerBlockRow>> Blocks(uint64_t f, size_t l) override { return inner_.Blocks(f, l); }
  Status PutCheckpoint(const store::LedgerCheckpointRow& c) override {
    if (fail) return Fail(Code::kUnavailable, "store: disk full");
    return inner_.PutCheckpoint(c);
  }
  Result<std::vector<store::LedgerCheckpointRow>> Checkpoints() override { return inner_.Checkpoints(); }
  Result<std::optional<store::LedgerCheckpointRow>> LatestCheckpoint() override { return inner_.LatestCheckpoint(); }

 private:
  store::LedgerStore& inner_;
};

TEST_F(LedgerTest, StoreFailureFailsClosedAndKeepsAcknowledgedEvents) {
  TestStore store(dir_.file("writ.db"));
  FailingStore failing(*store.ledger);
  {
    auto ledger = Ledger::Open(Options(), failing).value();
    for (int i = 0; i < 10; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
    failing.fail = true;
    EXPECT_THAT(ledger->Append(MakeEvent(10)), FailsWith(Code::kUnavailable, HasSubstr("disk full")));
    EXPECT_THAT(ledger->Append(MakeEvent(11)), FailsWith(Code::kUnavailable));
    bool refused = false;
    ledger->AppendAsync(MakeEvent(12), [&](Result<Receipt> receipt) { refused = !receipt.has_value(); });
    EXPECT_TRUE(refused);
    EXPECT_EQ(ledger->Size(), 10u);
  }
  failing.fail = false;
  auto ledger = Ledger::Open(Options(), failing).value();
  EXPECT_EQ(ledger->Size(), 10u);
  ASSERT_THAT(ledger->Append(MakeEvent(12)), IsOk());
  ASSERT_THAT(ledger->Checkpoint(), IsOk());
  auto report = Verify(*store.ledger, {.verifiers = verifiers_});
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok()) << report->problem->what;
  EXPECT_EQ(report->events, 11u);
}

TEST_F(LedgerTest, OversizedAndMalformedEventsAreRejected) {
  TestStore store(dir_.file("writ.db"));
  LedgerOptions options = Options();
  options.max_event_bytes = 1024;
  auto ledger = Ledger::Open(options, *store.ledger).value();
  Event big = MakeEvent(1);
  big.details.Set("blob", std::string(2000, 'x'));
  EXPECT_THAT(ledger->Append(big), FailsWith(Code::kResourceExhausted));
  Event bad = MakeEvent(1);
  bad.details = json::Value(3);
  EXPECT_THAT(ledger->Append(bad), FailsWith(Code::kInvalidArgument));
  EXPECT_EQ(ledger->Size(), 0u);
  EXPECT_THAT(ledger->Checkpoint(), FailsWith(Code::kFailedPrecondition));
}

TEST_F(LedgerTest, BatchedModeAcknowledgesAndCommits) {
  TestStore store(dir_.file("writ.db"));
  LedgerOptions options = Options();
  options.durability = Durability::kBatched;
  {
    auto ledger = Ledger::Open(options, *store.ledger).value();
    for (int i = 0; i < 500; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
  }  // the destructor drains the queue
  auto ledger = Ledger::Open(Options(), *store.ledger).value();
  EXPECT_EQ(ledger->Size(), 500u);
}

// A store whose appends wait until the test opens the gate (a slow disk).
class GatedStore : public FailingStore {
 public:
  using FailingStore::FailingStore;
  Status Append(const store::LedgerBatch& batch) override {
    {
      std::unique_lock lock(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    }
    return FailingStore::Append(batch);
  }
  void WaitForAppend() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return waiting_ > 0; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

TEST_F(LedgerTest, BatchedBackpressureCountsEventsBeingWritten) {
  // The loss bound of batched durability is max_pending events: those queued and those the writer
  // has taken but not yet committed count together, so a stuck store blocks the fifth append here
  // and, after max_block, refuses it (the caller must deny) instead of queueing without bound.
  TestStore store(dir_.file("writ.db"));
  GatedStore gated(*store.ledger);
  LedgerOptions options = Options();
  options.durability = Durability::kBatched;
  options.commit_linger = std::chrono::microseconds(0);
  options.max_pending = 4;
  options.max_block = std::chrono::milliseconds(50);
  auto ledger = Ledger::Open(options, gated).value();
  ASSERT_THAT(ledger->Append(MakeEvent(0)), IsOk());
  gated.WaitForAppend();  // the writer holds event 0 in a transaction that cannot finish
  for (int i = 1; i < 4; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
  EXPECT_THAT(ledger->Append(MakeEvent(4)), FailsWith(Code::kUnavailable, HasSubstr("queue stayed full")));
  gated.Open();
  ASSERT_THAT(ledger->Checkpoint(), IsOk());
  EXPECT_EQ(ledger->Size(), 4u);
  ASSERT_THAT(ledger->Append(MakeEvent(4)), IsOk());
}

TEST_F(LedgerTest, BatchedCommitLingerGathersATrickleIntoOneTransaction) {
  // One event every 10 ms (one MCP tool call at a time): without the linger each would be a
  // transaction of its own (the writer is idle and commits at once); with it, one.
  TestStore store(dir_.file("writ.db"));
  FailingStore counting(*store.ledger);
  LedgerOptions options = Options();
  options.durability = Durability::kBatched;
  options.commit_linger = kMaxCommitLinger;
  auto ledger = Ledger::Open(options, counting).value();
  for (int i = 0; i < 10; ++i) {
    ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_THAT(ledger->Checkpoint(), IsOk());  // commits at once, without waiting out the linger
  EXPECT_EQ(ledger->Size(), 10u);
  EXPECT_EQ(counting.transactions.load(), 1);
}

TEST_F(LedgerTest, BatchedCommitLingerStopsAtAFullBatchAndCommitsOnClose) {
  TestStore store(dir_.file("writ.db"));
  FailingStore counting(*store.ledger);
  LedgerOptions options = Options();
  options.durability = Durability::kBatched;
  options.commit_linger = kMaxCommitLinger;
  options.max_batch = 4;
  {
    auto ledger = Ledger::Open(options, counting).value();
    for (int i = 0; i < 9; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
  }                                            // closing commits what lingers
  EXPECT_GE(counting.transactions.load(), 3);  // never more than max_batch per transaction
  auto ledger = Ledger::Open(Options(), *store.ledger).value();
  EXPECT_EQ(ledger->Size(), 9u);
  ASSERT_THAT(ledger->Checkpoint(), IsOk());
  auto report = Verify(*store.ledger, {.verifiers = verifiers_});
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->ok());
}

TEST_F(LedgerTest, CommitLingerIsBounded) {
  TestStore store(dir_.file("writ.db"));
  LedgerOptions options = Options();
  options.commit_linger = kMaxCommitLinger + std::chrono::microseconds(1);
  EXPECT_THAT(Ledger::Open(options, *store.ledger), FailsWith(Code::kInvalidArgument, HasSubstr("commit_linger")));
  options.commit_linger = std::chrono::microseconds(-1);
  EXPECT_THAT(Ledger::Open(options, *store.ledger), FailsWith(Code::kInvalidArgument));
}

TEST_F(LedgerTest, StrictAppendsNeverLinger) {
  // Strict appenders wait for their fsync: a linger would add to every answer. Each sequential
  // append is its own transaction, committed at once.
  TestStore store(dir_.file("writ.db"));
  FailingStore counting(*store.ledger);
  LedgerOptions options = Options();
  options.commit_linger = kMaxCommitLinger;
  auto ledger = Ledger::Open(options, counting).value();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3 * kMaxCommitLinger);
  EXPECT_EQ(counting.transactions.load(), 3);
}

TEST_F(LedgerTest, TimedCheckpointsAreSignedByTheWriter) {
  FakeClock clock(FromUnixMillis(1'700'000'000'000));
  TestStore store(dir_.file("writ.db"));
  LedgerOptions options = Options();
  options.clock = &clock;
  options.checkpoint_every_events = 5;
  auto ledger = Ledger::Open(options, *store.ledger).value();
  for (int i = 0; i < 12; ++i) ASSERT_THAT(ledger->Append(MakeEvent(i)), IsOk());
  ASSERT_THAT(ledger->Checkpoint(), IsOk());
  auto checkpoints = store.ledger->Checkpoints().value();
  ASSERT_GE(checkpoints.size(), 2u);
  EXPECT_EQ(checkpoints.back().size, 12u);
}

}  // namespace
}  // namespace writ::ledger
