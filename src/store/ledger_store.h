// Storage of the audit ledger (module `ledger`): events with their leaf hashes in append order,
// the cached Merkle tree nodes, and signed checkpoints. The ledger module owns the meaning of the
// bytes; the store keeps the few columns it filters on. Append-only through this interface.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace writ::store {

// One event, at position `index` (0-based, contiguous).
struct LedgerRow {
  uint64_t index = 0;
  std::string id;              // UUIDv7
  int64_t time_ms = 0;
  std::string kind;            // event kind name
  std::string subject;
  std::string correlation_id;
  std::string data;            // the leaf bytes (canonical event encoding)
  std::string leaf_hash;       // 32 bytes
};

// A complete Merkle subtree root: leaves [index << level, (index + 1) << level).
struct LedgerNodeRow {
  int level = 0;
  uint64_t index = 0;
  std::string hash;  // 32 bytes
};

struct LedgerCheckpointRow {
  uint64_t size = 0;
  std::string note;  // C2SP signed note
  int64_t created_ms = 0;
};

struct LedgerQuery {
  std::optional<std::string> subject;  // filters, all optional, combined with AND
  std::optional<std::string> kind;
  std::optional<std::string> correlation_id;
  std::optional<int64_t> from_ms;      // time >= from_ms
  std::optional<int64_t> to_ms;        // time < to_ms
  uint64_t after_index = 0;            // paging: only rows with index >= after_index
  int64_t limit = 100;                 // at most this many, in index order
};

// Thread-safe. Writes return only once durable (synchronous=FULL).
class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // Appends `rows` (REQUIRES: contiguous indexes starting at Size()) and `nodes` in one durable
  // transaction: all or nothing. Errors: kConflict if the first index is not Size();
  // kUnavailable on storage failure (nothing was written).
  virtual Status Append(std::span<const LedgerRow> rows, std::span<const LedgerNodeRow> nodes) = 0;

  // Number of events (highest index + 1). Errors: kUnavailable.
  virtual Result<uint64_t> Size() = 0;

  // Leaf hashes of [begin, end), in order. Errors: kDataLoss if one is missing; kUnavailable.
  virtual Result<std::vector<std::string>> LeafHashes(uint64_t begin, uint64_t end) = 0;

  // Every stored node. Errors: kUnavailable.
  virtual Result<std::vector<LedgerNodeRow>> Nodes() = 0;

  virtual Result<std::optional<LedgerRow>> Get(uint64_t index) = 0;
  virtual Result<std::optional<LedgerRow>> FindById(const std::string& id) = 0;

  // Calls `visit` for each row with index >= begin, in index order, until it returns false.
  // Reads in chunks, so the visitor may run long. Errors: kUnavailable.
  virtual Status Scan(uint64_t begin, const std::function<bool(const LedgerRow&)>& visit) = 0;

  virtual Result<std::vector<LedgerRow>> Query(const LedgerQuery& query) = 0;

  // Errors: kConflict if a checkpoint of that size exists; kUnavailable.
  virtual Status PutCheckpoint(const LedgerCheckpointRow& checkpoint) = 0;
  // All checkpoints, smallest size first. Errors: kUnavailable.
  virtual Result<std::vector<LedgerCheckpointRow>> Checkpoints() = 0;
  virtual Result<std::optional<LedgerCheckpointRow>> LatestCheckpoint() = 0;
};

namespace sqlite {
class Database;
// LedgerStore on `db` (borrowed: must outlive the result), with a second read-only connection to
// the same file so that proofs and queries do not wait for the writer. Applies the `ledger`
// migrations. Errors: those of Database::Open and Database::Migrate.
Result<std::unique_ptr<LedgerStore>> OpenLedgerStore(Database& db);
}  // namespace sqlite

}  // namespace writ::store
