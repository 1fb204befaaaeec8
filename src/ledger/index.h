// The ledger's query index and the cheap reading of a leaf's position fields. Events are stored in
// segments (store/ledger_store.h), not one row per event; queries find them through one small index
// row per block of kBlockEvents events: its time range, the kinds present, and a Bloom filter of the
// keys looked up (subject, correlation id, event id). The index is derived from the events: the
// ledger rebuilds it when missing and Verify checks it. Format: docs/ledger_format.md §4.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "ledger/event.h"
#include "ledger/ledger.h"
#include "store/ledger_store.h"

namespace writ::ledger {

// Events per index block. Persisted: changing it changes the meaning of ledger_blocks rows.
inline constexpr uint64_t kBlockEvents = 4096;

// Persisted tags of the filter's keys.
enum class KeyTag : char { kSubject = 's', kCorrelation = 'c', kId = 'i' };
// 64-bit hash of tag ‖ value (word-wise multiply-xorshift, then a finaliser: docs/ledger_format.md
// §4). Persisted: stored filters hold its values.
uint64_t KeyHash(KeyTag tag, std::string_view value);
// True if `filter` may hold the key (false positives ~1 %, never false negatives).
bool FilterMayContain(std::string_view filter, uint64_t key_hash);

// The fields of a leaf the index and verification need, read without a full JSON parse. The views
// point into the leaf (or into `scratch` for strings with escapes) and live as long as both.
struct LeafFields {
  std::string_view id;
  int64_t time_ms = 0;
  EventKind kind = EventKind::kDecision;
  std::string_view subject;         // empty when absent
  std::string_view correlation_id;  // empty when absent
  uint64_t seq = 0;
  bool has_seq = false;
};
struct LeafScratch {
  std::string id, subject, correlation_id;
};
// Errors: kDataLoss naming what is malformed.
Result<LeafFields> ReadLeafFields(std::string_view leaf, LeafScratch& scratch);

// The filter keys of one event: its id, and its subject and correlation id when set.
struct IndexKeys {
  uint64_t hashes[3] = {};
  size_t count = 0;
};
IndexKeys KeysOf(std::string_view subject, std::string_view correlation_id, std::string_view id);

// Accumulates one block's index row. The filter is kept up to date as keys arrive: a new distinct
// key sets its bits (or, when the distinct count crosses a size step, the filter is rebuilt at the
// next power of two, log2 times per block), so Row() (a query of the open block) costs a copy of the filter,
// not a rebuild of the whole block's. Not thread-safe.
class BlockBuilder {
 public:
  void Reset(uint64_t block);
  void Add(int64_t time_ms, EventKind kind, const IndexKeys& keys);
  void Add(const LeafFields& fields) {
    Add(fields.time_ms, fields.kind, KeysOf(fields.subject, fields.correlation_id, fields.id));
  }
  bool empty() const { return events_ == 0; }
  uint64_t block() const { return block_; }
  // The row for the events added so far (the filter sized to the distinct keys).
  store::LedgerBlockRow Row() const;
  // Keys hashed into the filter since Reset, rebuilds included: O(distinct keys) per block however
  // often Row() is called (a test checks that commits of one event do not rebuild the filter).
  uint64_t filter_insertions() const { return filter_insertions_; }

 private:
  bool InsertDistinct(uint64_t key);  // true if `key` was not in the block yet
  void SetBits(uint64_t key);
  void Rebuild(uint64_t bits);

  uint64_t block_ = 0;
  uint64_t events_ = 0;
  int64_t min_time_ms_ = 0;
  int64_t max_time_ms_ = 0;
  uint64_t kinds_ = 0;
  // The block's distinct key hashes: in arrival order (for rebuilds), and an open-addressing set
  // (slot value 0 = empty; the key 0 itself is tracked by has_zero_).
  std::vector<uint64_t> distinct_;
  std::vector<uint64_t> slots_;
  bool has_zero_ = false;
  std::string filter_;  // INVARIANT: the filter of distinct_, sized for distinct_.size()
  uint64_t filter_insertions_ = 0;
};

// Checks a segment's shape: `ends` and `hashes` sized for `count` events, offsets in order.
// Errors: kDataLoss naming the segment and what is wrong.
Status CheckSegment(const store::LedgerSegment& segment);
// The leaf bytes and stored leaf hash of event `i` of a checked segment. REQUIRES: i < count.
std::string_view SegmentLeaf(const store::LedgerSegment& segment, uint64_t i);
std::string_view SegmentHash(const store::LedgerSegment& segment, uint64_t i);

// Calls `visit(index, leaf)` for each stored event in [begin, end), reading whole segments.
// Stops early when visit returns false. Errors: kDataLoss for a malformed segment; the store's.
Status ForEachEvent(store::LedgerStore& store, uint64_t begin, uint64_t end,
                    const std::function<Result<bool>(uint64_t, std::string_view)>& visit);

// The ledger's queries over the first `size` events (the durable ones). The store holds index rows
// for full blocks only; `open_block` is the row of the block holding event size - 1 when that block
// is not full (the ledger keeps it in memory; it may cover more events than `size`). Without it,
// that block's events are all read. A stored row for that block, if any (written by an older
// version), is ignored: it may be stale.
Result<std::vector<StoredEvent>> QueryEvents(store::LedgerStore& store, const EventQuery& query, uint64_t size,
                                             const std::optional<store::LedgerBlockRow>& open_block);
// Position of the event with this id, or nullopt. `open_block` as for QueryEvents. Errors: the store's.
Result<std::optional<uint64_t>> FindEventById(store::LedgerStore& store, const std::string& id, uint64_t size,
                                              const std::optional<store::LedgerBlockRow>& open_block);
// Rebuilds what is derived from the first `size` events: the index row of every full block and
// every leaf-hash chunk (after a migration from one row per event).
Status RebuildIndex(store::LedgerStore& store, uint64_t size);

}  // namespace writ::ledger
