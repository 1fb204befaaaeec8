// The ledger is writ's append-only, tamper-evident record: a Merkle log (RFC 9162 hashing) of
// events, with signed checkpoints (C2SP tlog-checkpoint). Appends from many threads are batched by
// one writer thread into one durable transaction each (group commit). A Ledger is safe to use from
// many threads without outside locking. Formats: docs/ledger_format.md.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "ledger/event.h"
#include "ledger/merkle.h"
#include "ledger/note.h"

namespace writ::store {
class LedgerStore;
}

namespace writ::ledger {

enum class Durability : uint8_t {
  // Append returns only once the event is in a committed, fsync'd transaction (the default).
  kStrict,
  // Append returns once the event is queued. A crash loses at most the queued and in-flight events:
  // max_pending events, and those that arrived within commit_linger plus one commit (an fsync, ~ms)
  // of the crash.
  kBatched,
};

// Longest LedgerOptions::commit_linger.
inline constexpr std::chrono::microseconds kMaxCommitLinger{1'000'000};

struct LedgerOptions {
  std::string origin = "writ.local/ledger";  // first line of every checkpoint
  Durability durability = Durability::kStrict;
  size_t max_batch = 8192;                   // events per transaction (per fsync)
  // Batched only: after the first event of an idle spell the writer waits up to this long (or until
  // max_batch events wait, or Checkpoint()) before committing, so that a trickle of events (one MCP
  // tool call at a time) shares one transaction instead of paying one each. Adds at most this much to
  // the batched loss window. 0 = commit at once. At most kMaxCommitLinger. Strict never lingers:
  // its appenders wait, and group commit already gathers what arrives during each fsync.
  std::chrono::microseconds commit_linger{5000};
  size_t max_pending = 65536;                // queued events; Append blocks beyond (backpressure)
  std::chrono::milliseconds max_block{5000};  // longest Append waits for room, then kUnavailable
  uint64_t checkpoint_every_events = 100000;  // sign a checkpoint after this many new events ...
  std::chrono::milliseconds checkpoint_interval{1000};  // ... or this long after the last one
  size_t max_event_bytes = 64 << 10;
  std::string hmac_key;                       // key for secret fingerprints (empty: "redacted")
  const NoteSigner* signer = nullptr;         // REQUIRED; borrowed, must outlive the Ledger
  const Clock* clock = nullptr;               // borrowed; nullptr = SystemClock()
  int cached_level = 4;                       // MerkleTree memory: 2^(6-level) bytes per event
  // When set, every new checkpoint is also written to this file (replaced atomically) for witnesses.
  std::string checkpoint_file;
};

struct Receipt {
  LeafIndex index = 0;
  std::string id;
};

// An inclusion proof of one event in the tree of the first tree_size events.
struct InclusionProof {
  LeafIndex index = 0;
  uint64_t tree_size = 0;
  Hash leaf_hash{};
  std::vector<Hash> hashes;
};

struct StoredEvent {
  LeafIndex index = 0;
  Event event;
};

struct EventQuery {
  std::optional<std::string> subject;
  std::optional<EventKind> kind;
  std::optional<std::string> correlation_id;
  std::optional<TimePoint> from;  // time >= from
  std::optional<TimePoint> to;    // time < to
  LeafIndex after_index = 0;      // paging: index >= after_index
  int64_t limit = 100;            // at most 10000
};

class Ledger {
 public:
  // Opens the ledger kept in `store` (borrowed: it must outlive the Ledger): restores the tree from
  // its stored nodes (no rehashing) and checks it against the last signed checkpoint.
  // Errors: kInvalidArgument without a signer; kFailedPrecondition if the last checkpoint was
  // signed for another origin (a log never changes its name); kDataLoss if the stored tree does not
  // match the last checkpoint or events it covers are missing; kUnavailable if the store fails.
  static Result<std::unique_ptr<Ledger>> Open(const LedgerOptions& options, store::LedgerStore& store);

  // Appends `event` (filling id and time when empty). Strict: returns once durable.
  // Errors: kInvalidArgument / kResourceExhausted for a bad or oversized event (see
  // EncodeEventBody); kUnavailable if the store failed or the queue stayed full for max_block:
  // nothing is acknowledged and the caller must deny. After a store failure every later Append fails
  // with kUnavailable until the ledger is reopened.
  Result<Receipt> Append(Event event);

  // Like Append, without blocking the caller until durable: `done` runs once the event is durable
  // (or with the error), on the ledger's writer thread (post heavy work elsewhere), or on the
  // calling thread when the event is refused at once. May still block while the queue is full
  // (backpressure). For event loops (Asio handlers) that keep many appends in flight.
  void AppendAsync(Event event, std::function<void(Result<Receipt>)> done);

  // Waits until everything appended so far is durable, then signs a checkpoint of the current size
  // (or returns the latest one if nothing changed). Returns the signed note.
  // Errors: kUnavailable; kFailedPrecondition for an empty ledger.
  Result<std::string> Checkpoint();
  // The latest stored signed checkpoint, or nullopt before the first. Errors: kUnavailable.
  Result<std::optional<std::string>> LatestCheckpoint() const;

  // Errors: kOutOfRange unless index < tree_size <= Size() (tree_size 0 = Size()); kNotFound for an
  // unknown id; kUnavailable / kDataLoss from the store.
  Result<InclusionProof> ProveInclusion(LeafIndex index, uint64_t tree_size = 0) const;
  Result<InclusionProof> ProveInclusionById(const std::string& id, uint64_t tree_size = 0) const;
  // Errors: kOutOfRange unless 0 < from <= to <= Size().
  Result<std::vector<Hash>> ProveConsistency(uint64_t from, uint64_t to) const;
  // Root of the first `size` durable events. Errors: kOutOfRange.
  Result<Hash> Root(uint64_t size) const;

  Result<std::vector<StoredEvent>> Query(const EventQuery& query) const;
  Result<std::optional<StoredEvent>> Get(LeafIndex index) const;

  // Number of durable events. Never decreases.
  uint64_t Size() const;

  // Drains the queue (committing what is queued) and stops the writer.
  ~Ledger();

 private:
  class Impl;
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace writ::ledger
