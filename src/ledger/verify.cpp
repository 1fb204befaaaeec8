#include "ledger/verify.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "ledger/index.h"
#include "store/ledger_store.h"

namespace writ::ledger {
namespace {

constexpr size_t kSegmentsInFlight = 4;  // read ahead of hashing; bounds memory to ~4 segments
constexpr size_t kBlocksPerRead = 256;
constexpr uint64_t kCopyWindow = 1 << 16;  // leaf-hash copies read at once (2 MiB)

struct SignedSize {
  uint64_t size;
  Hash root;
  std::string source;  // "checkpoint" or "trusted checkpoint"
};

// A problem and the scan position where it was found: of the problems the two stages find, the one
// found first in scan order is reported (the hashing stage's on a tie), as a one-pass scan would.
// Scan positions of problems found after the last event: missing events, then the last block's index.
constexpr uint64_t kAtEnd = UINT64_MAX;
constexpr uint64_t kAfterLastEvent = UINT64_MAX - 1;

struct Found {
  uint64_t at = 0;
  VerifyProblem problem;
};

std::string IdOf(std::string_view leaf) {
  LeafScratch scratch;
  auto fields = ReadLeafFields(leaf, scratch);
  return fields ? std::string(fields->id) : std::string();
}

// A segment buffer and the leaf hashes computed for it.
struct Slot {
  store::LedgerSegment segment;
  std::vector<Hash> computed;      // computed[i]: SHA-256(0x00 ‖ leaf i), once hashed
  uint64_t claimed = 0;            // events [0, claimed) are hashed or being hashed
  uint64_t hashed = 0;             // how many of them are done
  uint64_t mismatch = UINT64_MAX;  // first event whose computed hash differs from the stored one
};

// Hashes leaves [begin, end) of `slot` into slot.computed; returns the first whose hash differs from
// the stored one, or UINT64_MAX.
uint64_t HashLeaves(Slot& slot, uint64_t begin, uint64_t end, crypto::Sha256Hasher& hasher) {
  uint64_t mismatch = UINT64_MAX;
  for (uint64_t i = begin; i < end; ++i) {
    const Hash hash = HashLeaf(hasher, SegmentLeaf(slot.segment, i));
    slot.computed[i] = hash;
    if (mismatch == UINT64_MAX && std::memcmp(hash.data(), SegmentHash(slot.segment, i).data(), hash.size()) != 0) {
      mismatch = i;
    }
  }
  return mismatch;
}

// Segments handed from the reading stage to the tree stage through a fixed pool of buffers. Leaf
// hashing, most of the work, is shared: the tree stage hashes the segment it needs next, and the
// reading stage, whenever it is ahead (no free buffer), hashes chunks of the oldest waiting
// segment, so both cores hash whichever stage is the faster.
class SegmentQueue {
 public:
  SegmentQueue() : pool_(kSegmentsInFlight) {
    for (auto& slot : pool_) free_.push_back(&slot);
  }
  // A free buffer for the reader; while there is none, helps hash. nullptr once cancelled.
  Slot* TakeFree(crypto::Sha256Hasher& hasher) {
    std::unique_lock lock(mu_);
    for (;;) {
      if (cancelled_) return nullptr;
      if (!free_.empty()) {
        Slot* slot = free_.front();
        free_.pop_front();
        return slot;
      }
      if (!open_.empty()) {
        HashChunkLocked(open_.front(), hasher, lock);
        continue;
      }
      cv_.wait(lock);
    }
  }
  // Hands a read and checked segment to the tree stage and its leaves to the hashers.
  void PushFull(Slot* slot) {
    std::lock_guard lock(mu_);
    slot->computed.resize(slot->segment.count);
    slot->claimed = 0;
    slot->hashed = 0;
    slot->mismatch = UINT64_MAX;
    full_.push_back(slot);
    open_.push_back(slot);
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // Stops the reader (the tree stage found a problem or the caller returns).
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  // Next full segment in order with all its leaves hashed (by this thread, with the reader's help),
  // or nullptr once the reader closed the queue and it is drained.
  Slot* TakeHashed(crypto::Sha256Hasher& hasher) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return nullptr;
    Slot* slot = full_.front();
    full_.pop_front();
    while (slot->claimed < slot->segment.count) HashChunkLocked(slot, hasher, lock);
    cv_.wait(lock, [&] { return slot->hashed == slot->segment.count; });
    return slot;
  }
  void Release(Slot* slot) {
    std::lock_guard lock(mu_);
    free_.push_back(slot);
    cv_.notify_all();
  }

 private:
  static constexpr uint64_t kHashChunk = 128;  // events hashed per claim (~70 us)

  // Claims the next chunk of `slot`, hashes it without the lock, and records it.
  void HashChunkLocked(Slot* slot, crypto::Sha256Hasher& hasher, std::unique_lock<std::mutex>& lock) {
    const uint64_t begin = slot->claimed;
    const uint64_t end = std::min(slot->segment.count, begin + kHashChunk);
    slot->claimed = end;
    if (end == slot->segment.count) open_.erase(std::find(open_.begin(), open_.end(), slot));
    lock.unlock();
    const uint64_t mismatch = HashLeaves(*slot, begin, end, hasher);
    lock.lock();
    slot->hashed += end - begin;
    slot->mismatch = std::min(slot->mismatch, mismatch);
    if (slot->hashed == slot->segment.count) cv_.notify_all();
  }

  std::vector<Slot> pool_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Slot*> free_;
  std::deque<Slot*> full_;  // read and checked, in order, for the tree stage
  std::deque<Slot*> open_;  // with leaves not yet claimed for hashing, in order
  bool closed_ = false;
  bool cancelled_ = false;
};

// The reading stage (its own thread): reads segments in order and checks what needs no hashing:
// contiguous positions, segment shape, each event's `seq` and `prev` link (against the stored leaf
// hash of the event before, which the hashing stage checks), and the query index of each block.
class Reader {
 public:
  Reader(store::LedgerStore& store, SegmentQueue& queue, uint64_t total)
      : store_(store), queue_(queue), total_(total) {}

  void Run() {
    Status status = Loop();
    if (!status) error_ = status.error();
    queue_.Close();
  }
  const std::optional<Found>& found() const { return found_; }
  const std::optional<Error>& error() const { return error_; }

 private:
  Status Loop() {
    uint64_t next = 0;
    uint64_t after = 0;  // rows are read by first_idx, so a row inserted inside another's range shows up
    block_.Reset(0);
    for (;;) {
      Slot* slot = queue_.TakeFree(hasher_);
      if (slot == nullptr) return Ok();
      store::LedgerSegment* segment = &slot->segment;
      auto has = store_.ReadSegment(after, /*containing=*/false, *segment);
      if (!has || !*has) {
        queue_.Release(slot);
        if (!has) return Fail(has.error());
        return FinishIndex(next);
      }
      if (segment->first != next) {
        queue_.Release(slot);
        if (segment->first < next) {
          Report(segment->first, segment->first, "",
                 fmt::format("a segment row at position {} overlaps the events before {}: it was inserted",
                             segment->first, next));
        } else {
          Report(next, next, "",
                 fmt::format("event at position {} is missing (the next stored is {})", next, segment->first));
        }
        return Ok();
      }
      after = segment->first + 1;
      if (auto shape = CheckSegment(*segment); !shape) {
        queue_.Release(slot);
        Report(next, next, "", shape.error().message);
        return Ok();
      }
      bool stop = false;
      for (uint64_t i = 0; i < segment->count && !stop; ++i) {
        stop = !CheckEvent(*segment, i) || !CheckLeafCopy(*segment, i);
      }
      if (error_) {
        queue_.Release(slot);
        return Ok();
      }
      next = segment->first + segment->count;
      queue_.PushFull(slot);  // the tree stage checks its events, up to the problem too
      if (stop) return Ok();
    }
  }

  // Returns false once a problem is found.
  bool CheckEvent(const store::LedgerSegment& segment, uint64_t i) {
    const uint64_t index = segment.first + i;
    std::string_view leaf = SegmentLeaf(segment, i);
    auto fields = ReadLeafFields(leaf, scratch_);
    if (!fields) {
      Report(index, index, "", fields.error().message);
      return false;
    }
    std::string_view tail = FormatLeafTail(index, prev_hash_, tail_);
    if (leaf.size() < tail.size() || leaf.substr(leaf.size() - tail.size()) != tail) {
      if (fields->has_seq && fields->seq != index) {
        Report(index, index, std::string(fields->id),
               fmt::format("event records position {} but is stored at position {}", fields->seq, index));
      } else if (index > 0) {
        // The position is right but the link is not: the previous event's bytes changed after this
        // one linked to them (and its leaf hash was rewritten to match).
        Report(index, index - 1, prev_id_, fmt::format("event differs from the version that event {} links to", index));
      } else {
        Report(index, index, std::string(fields->id), "the first event does not link to the empty hash");
      }
      return false;
    }
    if (index / kBlockEvents != block_.block()) {
      if (!CheckBlock(index - 1)) return false;
      block_.Reset(index / kBlockEvents);
    }
    block_.Add(*fields);
    prev_hash_.assign(SegmentHash(segment, i));
    prev_id_.assign(fields->id);
    return true;
  }

  // Proofs read leaf hashes from ledger_leaves, a copy of the segments' hashes: it must match, or
  // proofs would not verify. Read in windows of kCopyWindow events (one query each).
  bool CheckLeafCopy(const store::LedgerSegment& segment, uint64_t i) {
    const uint64_t index = segment.first + i;
    if (index < copy_begin_ || index >= copy_begin_ + copies_.size() / 32) {
      // A window within the events stored when verification began, and at least this segment.
      const uint64_t end = std::max(std::min(index + kCopyWindow, total_), segment.first + segment.count);
      auto copies = store_.LeafHashes(index, end);
      if (!copies && copies.error().code == Code::kDataLoss && end > segment.first + segment.count) {
        copies = store_.LeafHashes(index, segment.first + segment.count);  // a chunk is missing: where?
      }
      if (!copies) {
        if (copies.error().code != Code::kDataLoss) {
          error_ = copies.error();
        } else {
          Report(index, index, "", fmt::format("the proof copy of leaf hashes from {} is missing", index));
        }
        return false;
      }
      copy_begin_ = index;
      copies_ = std::move(*copies);
    }
    if (std::string_view(copies_).substr((index - copy_begin_) * 32, 32) != SegmentHash(segment, i)) {
      Report(index, index, "",
             fmt::format("the proof copy of the leaf hash of event {} differs from the event's: "
                         "proofs of it would not verify",
                         index));
      return false;
    }
    return true;
  }

  // The last block's row exists only once the block is full: a block still being filled has its
  // row in the ledger's memory, and a stored one (from an older version) is read by nobody.
  Status FinishIndex(uint64_t next) {
    if (next > 0 && next % kBlockEvents == 0 && !block_.empty()) (void)CheckBlock(kAtEnd);
    return Ok();
  }

  // Compares the stored index row of the block just completed (at scan position `at`) with the one
  // its events give.
  bool CheckBlock(uint64_t at) {
    const uint64_t block = block_.block();
    if (stored_.empty() || stored_.back().block < block) {
      auto rows = store_.Blocks(block, kBlocksPerRead);
      if (!rows) {
        error_ = rows.error();
        return false;
      }
      stored_ = std::move(*rows);
      stored_at_ = 0;
    }
    while (stored_at_ < stored_.size() && stored_[stored_at_].block < block) ++stored_at_;
    store::LedgerBlockRow expected = block_.Row();
    const uint64_t first = block * kBlockEvents;
    if (stored_at_ >= stored_.size() || stored_[stored_at_].block != block) {
      Report(at, first, "",
             fmt::format("the query index of events from {} is missing: queries would miss them", first));
      return false;
    }
    const store::LedgerBlockRow& row = stored_[stored_at_];
    if (row.min_time_ms != expected.min_time_ms || row.max_time_ms != expected.max_time_ms ||
        row.kinds != expected.kinds || row.keys != expected.keys) {
      Report(at, first, "",
             fmt::format("the query index of events from {} does not match them: queries could miss events", first));
      return false;
    }
    return true;
  }

  void Report(uint64_t at, uint64_t index, std::string id, std::string what) {
    if (!found_) found_ = Found{at, VerifyProblem{index, std::move(id), std::move(what)}};
  }

  store::LedgerStore& store_;
  SegmentQueue& queue_;
  const uint64_t total_;  // events stored when verification began
  std::optional<Found> found_;
  std::optional<Error> error_;
  LeafScratch scratch_;
  char tail_[kLeafTailBuffer];
  std::string prev_hash_ = std::string(32, '\0');
  std::string prev_id_;
  BlockBuilder block_;
  crypto::Sha256Hasher hasher_;  // for the leaves it hashes while ahead
  std::vector<store::LedgerBlockRow> stored_;
  size_t stored_at_ = 0;
  uint64_t copy_begin_ = 0;  // copies_ holds the ledger_leaves hashes of [copy_begin_, ...)
  std::string copies_;
};

}  // namespace

Result<VerifyReport> Verify(store::LedgerStore& store, const VerifyOptions& options) {
  VerifyReport report;
  WRIT_ASSIGN_OR_RETURN(uint64_t total, store.Size());
  WRIT_ASSIGN_OR_RETURN(std::vector<store::LedgerCheckpointRow> rows, store.Checkpoints());

  // 1. Every checkpoint signature and text.
  std::vector<SignedSize> signed_sizes;
  for (const auto& row : rows) {
    auto text = OpenNote(row.note, options.verifiers);
    auto checkpoint = text ? ParseCheckpoint(*text) : Result<Checkpoint>(Fail(text.error()));
    std::string what;
    if (!text) {
      what = "signature does not verify: " + text.error().message;
    } else if (!checkpoint) {
      what = "text is malformed: " + checkpoint.error().message;
    } else if (checkpoint->size != row.size) {
      what = fmt::format("signed size {} differs from its stored size", checkpoint->size);
    } else if (!options.origin.empty() && checkpoint->origin != options.origin) {
      what = fmt::format("origin `{}` is not `{}`", checkpoint->origin, options.origin);
    }
    if (!what.empty()) {
      report.problem = VerifyProblem{row.size, "", fmt::format("checkpoint at size {}: {}", row.size, what)};
      return report;
    }
    signed_sizes.push_back(SignedSize{checkpoint->size, checkpoint->root, "checkpoint"});
    ++report.checkpoints;
  }
  if (options.trusted_checkpoint) {
    WRIT_ASSIGN_OR_RETURN(std::string text, OpenNote(*options.trusted_checkpoint, options.verifiers));
    WRIT_ASSIGN_OR_RETURN(Checkpoint trusted, ParseCheckpoint(text));
    signed_sizes.push_back(SignedSize{trusted.size, trusted.root, "trusted checkpoint"});
  }
  std::stable_sort(signed_sizes.begin(), signed_sizes.end(),
                   [](const SignedSize& a, const SignedSize& b) { return a.size < b.size; });

  // 2. Every event in order: the reading stage (a second thread) checks positions, links and the
  // index; this thread rebuilds the tree's right edge to compare with each checkpoint. Both hash
  // leaves (SegmentQueue). Both stop at their first problem.
  SegmentQueue queue;
  Reader reader(store, queue, total);
  std::thread reading([&] { reader.Run(); });
  std::optional<Found> found;
  size_t next_signed = 0;
  uint64_t last_good_size = 0;
  CompactRange range;
  crypto::Sha256Hasher hasher;
  auto check_signed = [&](uint64_t at) {
    while (next_signed < signed_sizes.size() && signed_sizes[next_signed].size == range.size()) {
      const SignedSize& item = signed_sizes[next_signed++];
      if (item.size == 0) continue;
      if (range.Root() != item.root) {
        found = Found{at, VerifyProblem{last_good_size, "",
                                        fmt::format("events in [{}, {}) do not hash to the signed root of the {} at "
                                                    "size {}: they were rewritten after signing",
                                                    last_good_size, item.size, item.source, item.size)}};
        return;
      }
      last_good_size = item.size;
    }
  };
  check_signed(0);
  while (Slot* slot = queue.TakeHashed(hasher)) {
    const store::LedgerSegment* segment = &slot->segment;
    for (uint64_t i = 0; i < segment->count && !found; ++i) {
      std::string_view leaf = SegmentLeaf(*segment, i);
      const uint64_t index = segment->first + i;
      if (i == slot->mismatch) {
        found = Found{index, VerifyProblem{index, IdOf(leaf), "event bytes do not hash to the stored leaf hash"}};
        break;
      }
      range.Append(slot->computed[i]);
      report.bytes += leaf.size();
      check_signed(index);
      if (options.progress && options.progress_every > 0 && range.size() % options.progress_every == 0) {
        options.progress(range.size(), total);
      }
    }
    queue.Release(slot);
    if (found) {
      queue.Cancel();
      break;
    }
  }
  queue.Cancel();
  reading.join();
  if (reader.error()) return Fail(*reader.error());
  report.root = range.Root();
  if (options.progress) options.progress(range.size(), total);
  if (!found && next_signed < signed_sizes.size()) {
    const SignedSize& item = signed_sizes[next_signed];
    found = Found{kAfterLastEvent, VerifyProblem{range.size(), "",
                                                 fmt::format("the {} at size {} covers events that are missing (the "
                                                             "store holds {}): events were removed",
                                                             item.source, item.size, range.size())}};
  }
  if (reader.found() && (!found || reader.found()->at < found->at)) found = reader.found();
  report.events = found ? std::min(range.size(), found->problem.index) : range.size();
  if (found) {
    report.problem = std::move(found->problem);
    return report;
  }
  report.uncovered = report.events - last_good_size;
  return report;
}

}  // namespace writ::ledger
