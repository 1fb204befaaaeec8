// Storage of the audit ledger (module `ledger`): events packed into segments (one per group commit,
// or several for a big one), the cached Merkle tree nodes, a small query index per block of events,
// and signed checkpoints. The ledger module owns the meaning of the bytes; the store keeps them in
// order. Append-only through this interface. Layout: docs/ledger_format.md §4.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace writ::store {

// Events [first, first + count), packed: `data` is their leaf bytes back to back, `ends` the end
// offset in `data` of every event but the last (4 bytes little-endian each; the last event ends at
// data.size()), `hashes` their 32-byte leaf hashes in order.
struct LedgerSegment {
  uint64_t first = 0;
  uint64_t count = 0;
  std::string data;
  std::string ends;
  std::string hashes;
};

// A complete Merkle subtree root: leaves [index << level, (index + 1) << level).
struct LedgerNodeRow {
  int level = 0;
  uint64_t index = 0;
  std::string hash;  // 32 bytes
};

// The query index of block `block` (events [block * kLedgerBlockEvents, ...)): derived from the
// events, so the ledger can rebuild it; Verify checks it.
struct LedgerBlockRow {
  uint64_t block = 0;
  int64_t min_time_ms = 0;
  int64_t max_time_ms = 0;
  uint64_t kinds = 0;  // bit k set when an event of kind number k is in the block
  std::string keys;    // the ledger's key filter (a Bloom filter, docs/ledger_format.md §4)
};

// Leaf hashes of events [chunk * kLedgerLeafChunk, ...), at most kLedgerLeafChunk of them (32 bytes
// each): a copy of the segments' hashes in rows small enough to read in one page, for proofs.
inline constexpr uint64_t kLedgerLeafChunk = 16;
struct LedgerLeafChunk {
  uint64_t chunk = 0;
  std::string hashes;
};

// What one group commit writes.
struct LedgerBatch {
  std::span<const LedgerSegment> segments;  // contiguous, the first starting at Size()
  std::span<const LedgerNodeRow> nodes;     // inserted
  std::span<const LedgerBlockRow> blocks;   // inserted or replaced
  std::span<const LedgerLeafChunk> leaves;  // inserted or replaced
};

struct LedgerCheckpointRow {
  uint64_t size = 0;
  std::string note;  // C2SP signed note
  int64_t created_ms = 0;
};

// Thread-safe. Writes return only once durable (synchronous=FULL).
class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // Writes `batch` in one durable transaction, all or nothing.
  // Errors: kConflict if the first segment does not start at Size(); kUnavailable on storage
  // failure such as a full disk (nothing was written).
  virtual Status Append(const LedgerBatch& batch) = 0;

  // Number of events (end of the last segment). Errors: kUnavailable.
  virtual Result<uint64_t> Size() = 0;

  // Leaf hashes of events [begin, end), 32 bytes each, concatenated, from the leaf chunks.
  // Errors: kDataLoss if one is missing; kUnavailable.
  virtual Result<std::string> LeafHashes(uint64_t begin, uint64_t end) = 0;

  // The leaf bytes of event `index`, or nullopt past the end. Reads only that event's bytes.
  // Errors: kDataLoss if the segment holding it is malformed or missing; kUnavailable.
  virtual Result<std::optional<std::string>> ReadEvent(uint64_t index) = 0;

  // Reads into `out` (reusing its buffers) the first segment whose first event is >= `first`, or the
  // segment that holds event `first` when `containing` is set. Returns false when there is none.
  // Errors: kUnavailable.
  virtual Result<bool> ReadSegment(uint64_t first, bool containing, LedgerSegment& out) = 0;

  // Every stored node. Errors: kUnavailable.
  virtual Result<std::vector<LedgerNodeRow>> Nodes() = 0;

  // Up to `limit` block index rows with block >= `first_block`, in order. Errors: kUnavailable.
  virtual Result<std::vector<LedgerBlockRow>> Blocks(uint64_t first_block, size_t limit) = 0;

  // Errors: kConflict if a checkpoint of that size exists; kUnavailable.
  virtual Status PutCheckpoint(const LedgerCheckpointRow& checkpoint) = 0;
  // All checkpoints, smallest size first. Errors: kUnavailable.
  virtual Result<std::vector<LedgerCheckpointRow>> Checkpoints() = 0;
  virtual Result<std::optional<LedgerCheckpointRow>> LatestCheckpoint() = 0;

  // How many times the backend has copied its write-ahead log into its main file (0 for a backend
  // without one). For tests and metrics.
  virtual uint64_t WalCheckpoints() const { return 0; }
};

namespace sqlite {
class Database;

// When the SQLite backend copies its write-ahead log into the database file (a "WAL checkpoint",
// unrelated to the ledger's signed checkpoints): once the WAL holds `checkpoint_wal_pages` pages
// (4 KiB each), or once no commit has come for `checkpoint_idle`. Between the two the WAL keeps the
// committed (fsync'd) data; a larger bound means fewer, larger copies and a longer WAL to replay
// after a crash.
struct LedgerStoreOptions {
  int checkpoint_wal_pages = 16384;  // 64 MiB: at ~130 MB/s of strict appends, a restart every ~0.5 s
  std::chrono::milliseconds checkpoint_idle{250};
};

// LedgerStore on `db` (borrowed: must outlive the result), with a second read-only connection to
// the same file so that proofs and queries do not wait for the writer. Applies the `ledger`
// migrations (version 2 moves a session-1 ledger's one-row-per-event table into one-event segments;
// the ledger rebuilds the query index on open). Errors: those of Database::Open and Migrate.
Result<std::unique_ptr<LedgerStore>> OpenLedgerStore(Database& db, const LedgerStoreOptions& options = {});
}  // namespace sqlite

}  // namespace writ::store
