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

// Segments handed from the reading stage to the hashing stage, through a fixed pool of buffers.
class SegmentQueue {
 public:
  SegmentQueue() : pool_(kSegmentsInFlight) {
    for (auto& segment : pool_) free_.push_back(&segment);
  }
  store::LedgerSegment* TakeFree() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty() || cancelled_; });
    if (cancelled_) return nullptr;
    store::LedgerSegment* segment = free_.front();
    free_.pop_front();
    return segment;
  }
  void PushFull(store::LedgerSegment* segment) {
    std::lock_guard lock(mu_);
    full_.push_back(segment);
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // Stops the reader (the hashing stage found a problem or the caller returns).
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  // Next full segment in order, or nullptr once the reader closed the queue and it is drained.
  store::LedgerSegment* TakeFull() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return nullptr;
    store::LedgerSegment* segment = full_.front();
    full_.pop_front();
    return segment;
  }
  void Release(store::LedgerSegment* segment) {
    std::lock_guard lock(mu_);
    free_.push_back(segment);
    cv_.notify_all();
  }

 private:
  std::vector<store::LedgerSegment> pool_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<store::LedgerSegment*> free_;
  std::deque<store::LedgerSegment*> full_;
  bool closed_ = false;
  bool cancelled_ = false;
};

// The reading stage (its own thread): reads segments in order and checks what needs no hashing:
// contiguous positions, segment shape, each event's `seq` and `prev` link (against the stored leaf
// hash of the event before, which the hashing stage checks), and the query index of each block.
class Reader {
 public:
  Reader(store::LedgerStore& store, SegmentQueue& queue) : store_(store), queue_(queue) {}

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
      store::LedgerSegment* segment = queue_.TakeFree();
      if (segment == nullptr) return Ok();
      auto has = store_.ReadSegment(after, /*containing=*/false, *segment);
      if (!has || !*has) {
        queue_.Release(segment);
        if (!has) return Fail(has.error());
        return FinishIndex(next);
      }
      if (segment->first != next) {
        queue_.Release(segment);
        if (segment->first < next) {
          Report(segment->first, segment->first, "",
                 fmt::format("a segment row at position {} overlaps the events before {}: it was inserted",
                             segment->first, next));
        } else {
          Report(next, next, "", fmt::format("event at position {} is missing (the next stored is {})", next,
                                             segment->first));
        }
        return Ok();
      }
      after = segment->first + 1;
      if (auto shape = CheckSegment(*segment); !shape) {
        queue_.Release(segment);
        Report(next, next, "", shape.error().message);
        return Ok();
      }
      bool stop = false;
      for (uint64_t i = 0; i < segment->count && !stop; ++i) stop = !CheckEvent(*segment, i);
      next = segment->first + segment->count;
      queue_.PushFull(segment);  // the hashing stage checks its events, up to the problem too
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

  Status FinishIndex(uint64_t next) {
    if (next > 0 && !block_.empty()) (void)CheckBlock(kAtEnd);
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
      Report(at, first, "", fmt::format("the query index of events from {} is missing: queries would miss them", first));
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
  std::optional<Found> found_;
  std::optional<Error> error_;
  LeafScratch scratch_;
  char tail_[kLeafTailBuffer];
  std::string prev_hash_ = std::string(32, '\0');
  std::string prev_id_;
  BlockBuilder block_;
  std::vector<store::LedgerBlockRow> stored_;
  size_t stored_at_ = 0;
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
  // index; this thread re-hashes each event and rebuilds the tree's right edge to compare with
  // each checkpoint. Both stop at their first problem.
  SegmentQueue queue;
  Reader reader(store, queue);
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
  while (store::LedgerSegment* segment = queue.TakeFull()) {
    for (uint64_t i = 0; i < segment->count && !found; ++i) {
      std::string_view leaf = SegmentLeaf(*segment, i);
      const Hash hash = HashLeaf(hasher, leaf);
      const uint64_t index = segment->first + i;
      if (std::memcmp(hash.data(), SegmentHash(*segment, i).data(), hash.size()) != 0) {
        found = Found{index, VerifyProblem{index, IdOf(leaf), "event bytes do not hash to the stored leaf hash"}};
        break;
      }
      range.Append(hash);
      report.bytes += leaf.size();
      check_signed(index);
      if (options.progress && options.progress_every > 0 && range.size() % options.progress_every == 0) {
        options.progress(range.size(), total);
      }
    }
    queue.Release(segment);
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
