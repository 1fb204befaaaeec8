#include "ledger/ledger.h"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <span>
#include <thread>

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/log.h"
#include "common/mutex.h"
#include "ledger/index.h"
#include "store/ledger_store.h"

namespace writ::ledger {
namespace {

// One queued append. The appending thread does what it can so that the single writer thread does
// little per event: it encodes the body (into the shared staging buffer, no allocation per event),
// hashes `0x00 ‖ body` (the writer finishes the leaf hash with the position tail only) and the
// query index keys.
struct Pending {
  LeafIndex index;
  size_t body_offset;  // the body is staging[body_offset, body_offset + body_size)
  size_t body_size;
  crypto::Sha256Partial partial;  // SHA-256 state after 0x00 ‖ body
  std::string id;                 // for AppendAsync's receipt (moved from the event); empty for Append
  int64_t time_ms;
  EventKind kind;
  IndexKeys keys;
  std::function<void(Result<Receipt>)> done;  // AppendAsync's callback, or empty
};

// Segments are cut at this many data bytes, so that one blob stays a modest read.
constexpr size_t kSegmentBytes = 4 << 20;

// UUIDv7 ids for events without one, cheaply: 48 bits of the event's millisecond, then 74 bits
// that are a random per-ledger base plus a counter (RFC 9562 allows counter bits in place of random ones), so one
// getrandom per Ledger instead of one per event. Unique within the ledger; a new random base per
// open keeps them unique across restarts. The millisecond is the event's own time, which lets
// FindEventById go straight to the right index block.
class IdGenerator {
 public:
  IdGenerator() { FillRandom(&base_, sizeof(base_)); }
  std::string Next(int64_t millis) {
    const uint64_t low = base_.low + counter_.fetch_add(1, std::memory_order_relaxed);
    uint8_t bytes[16];
    for (int i = 5; i >= 0; --i) {
      bytes[i] = static_cast<uint8_t>(millis & 0xff);
      millis >>= 8;
    }
    bytes[6] = static_cast<uint8_t>(0x70 | ((base_.high >> 8) & 0x0f));
    bytes[7] = static_cast<uint8_t>(base_.high & 0xff);
    for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<uint8_t>(low >> (56 - 8 * i));
    bytes[8] = static_cast<uint8_t>(0x80 | (bytes[8] & 0x3f));  // RFC 9562 variant
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text(36, '-');
    size_t at = 0;
    for (size_t i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) ++at;
      text[at++] = kHex[bytes[i] >> 4];
      text[at++] = kHex[bytes[i] & 0x0f];
    }
    return text;
  }

 private:
  struct {
    uint64_t low = 0;
    uint16_t high = 0;
  } base_;
  std::atomic<uint64_t> counter_{0};
};

// Calls each queued callback with `error` (outside any lock: a callback may append again).
void FailCallbacks(std::span<Pending> items, const std::string& error) {
  for (Pending& item : items) {
    if (item.done) item.done(Fail(Code::kUnavailable, "ledger cannot write: " + error));
  }
}

std::string ToBytes(const Hash& hash) { return std::string(crypto::AsBytes(hash)); }

// Holds `mu` (already locked through a MutexLock) for a std::condition_variable wait.
class NativeWait {
 public:
  explicit NativeWait(Mutex& mu) : lock_(mu.native(), std::adopt_lock) {}
  ~NativeWait() { lock_.release(); }
  std::unique_lock<std::mutex>& lock() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

// Writes `content` to `path` through a temporary file and rename, so readers never see half a note.
Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string temporary = path + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) return Fail(Code::kUnavailable, fmt::format("cannot write checkpoint file `{}`", temporary));
  bool ok = std::fwrite(content.data(), 1, content.size(), file) == content.size();
  ok = std::fflush(file) == 0 && ok;
  ok = ::fsync(::fileno(file)) == 0 && ok;
  ok = std::fclose(file) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Fail(Code::kUnavailable, fmt::format("cannot write checkpoint file `{}`", path));
  }
  return Ok();
}

Result<std::vector<Hash>> HashesFromBytes(const std::string& bytes, LeafIndex begin) {
  std::vector<Hash> hashes(bytes.size() / crypto::kSha256Size);
  if (bytes.size() % crypto::kSha256Size != 0) {
    return Fail(Code::kDataLoss, fmt::format("leaf hashes from {} are malformed", begin));
  }
  if (!hashes.empty()) std::memcpy(hashes.data(), bytes.data(), bytes.size());
  return hashes;
}

void AppendLittle32(std::string& out, uint64_t value) {
  const char bytes[4] = {static_cast<char>(value & 0xff), static_cast<char>((value >> 8) & 0xff),
                         static_cast<char>((value >> 16) & 0xff), static_cast<char>((value >> 24) & 0xff)};
  out.append(bytes, sizeof(bytes));
}

}  // namespace

class Ledger::Impl {
 public:
  Impl(const LedgerOptions& options, store::LedgerStore& store)
      : options_(options),
        clock_(options.clock != nullptr ? *options.clock : SystemClock()),
        store_(store),
        tree_({.cached_level = options.cached_level,
               .reader = [this](LeafIndex begin, LeafIndex end) { return ReadLeafHashes(begin, end); }}) {}

  ~Impl() {
    {
      MutexLock lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  Status Start() {
    WRIT_ASSIGN_OR_RETURN(uint64_t size, store_.Size());
    WRIT_RETURN_IF_ERROR(RestoreIndex(size));
    WRIT_ASSIGN_OR_RETURN(std::vector<store::LedgerNodeRow> rows, store_.Nodes());
    std::vector<MerkleTree::Node> nodes;
    nodes.reserve(rows.size());
    for (const auto& row : rows) {
      auto hash = HashFromBytes(row.hash);
      if (!hash) return Fail(Code::kDataLoss, fmt::format("tree node ({}, {}) is malformed", row.level, row.index));
      nodes.push_back(MerkleTree::Node{row.level, row.index, *hash});
    }
    uint64_t block = uint64_t{1} << options_.cached_level;
    uint64_t tail_begin = size / block * block;
    WRIT_ASSIGN_OR_RETURN(std::vector<Hash> tail, ReadLeafHashes(tail_begin, size));
    {
      MutexLock lock(tree_mu_);
      WRIT_RETURN_IF_ERROR(tree_.Restore(size, nodes, tail));
    }
    Hash prev{};
    if (size > 0) {
      WRIT_ASSIGN_OR_RETURN(std::vector<Hash> last, ReadLeafHashes(size - 1, size));
      prev = last.at(0);
    }
    {
      MutexLock lock(tree_mu_);
      prev_ = prev;
    }
    // The stored tree must still produce the last signed root.
    WRIT_ASSIGN_OR_RETURN(std::optional<store::LedgerCheckpointRow> latest, store_.LatestCheckpoint());
    if (latest) {
      if (latest->size > size) {
        return Fail(Code::kDataLoss,
                    fmt::format("the last checkpoint covers {} events but the store holds {}", latest->size, size));
      }
      WRIT_ASSIGN_OR_RETURN(Note note, ParseNote(latest->note));
      WRIT_ASSIGN_OR_RETURN(struct Checkpoint checkpoint, ParseCheckpoint(note.text));
      if (checkpoint.origin != options_.origin) {
        return Fail(Code::kFailedPrecondition, fmt::format("the ledger's checkpoints are for origin `{}`, not `{}`",
                                                           checkpoint.origin, options_.origin));
      }
      Result<Hash> root = Fail(Code::kInternal, "unset");
      {
        MutexLock lock(tree_mu_);
        root = tree_.RootAt(checkpoint.size);
      }
      if (!root || *root != checkpoint.root) {
        return Fail(Code::kDataLoss,
                    fmt::format("the stored tree does not match the checkpoint at size {}", checkpoint.size));
      }
      MutexLock lock(checkpoint_mu_);
      last_checkpoint_size_ = checkpoint.size;
    }
    {
      MutexLock lock(checkpoint_mu_);
      last_checkpoint_time_ = clock_.Now();
    }
    {
      MutexLock lock(mu_);
      next_index_ = size;
      durable_size_ = size;
    }
    writer_ = std::thread([this] { WriterLoop(); });
    return Ok();
  }

  // Encodes `event` and queues it; returns its index. Blocks while the queue is full.
  Result<LeafIndex> Enqueue(Event& event, std::function<void(Result<Receipt>)> done) {
    if (event.time == TimePoint{}) event.time = clock_.Now();
    if (event.id.empty()) event.id = ids_.Next(ToUnixMillis(event.time));
    thread_local std::string body;  // one buffer per appending thread, reused
    WRIT_RETURN_IF_ERROR(
        EncodeEventBodyInto(event, {.hmac_key = options_.hmac_key, .max_event_bytes = options_.max_event_bytes}, body));
    crypto::Sha256Partial partial;
    static constexpr char kLeafPrefix = 0x00;  // RFC 9162 leaf hash: SHA-256(0x00 ‖ leaf)
    partial.Update(std::string_view(&kLeafPrefix, 1));
    partial.Update(body);
    const IndexKeys keys = KeysOf(event.subject, event.correlation_id, event.id);
    // Append returns the id from `event` itself; AppendAsync's receipt takes it from here.
    std::string id = done ? std::move(event.id) : std::string();
    MutexLock lock(mu_);
    NativeWait wait(mu_);
    std::optional<std::chrono::steady_clock::time_point> deadline;  // read the clock only when full
    while (!failed_ && !stop_ && pending_.size() + in_hand_ >= options_.max_pending) {
      if (!deadline) deadline = std::chrono::steady_clock::now() + options_.max_block;
      if (room_cv_.wait_until(wait.lock(), *deadline) == std::cv_status::timeout &&
          pending_.size() + in_hand_ >= options_.max_pending) {
        return Fail(Code::kUnavailable, "ledger queue stayed full: the store is not keeping up");
      }
    }
    if (failed_) return Fail(Code::kUnavailable, "ledger cannot write: " + failure_);
    if (stop_) return Fail(Code::kUnavailable, "ledger is closing");
    LeafIndex index = next_index_++;
    const size_t offset = staging_.size();
    staging_.append(body);
    pending_.push_back(Pending{index, offset, body.size(), partial, std::move(id), ToUnixMillis(event.time), event.kind,
                               keys, std::move(done)});
    if (pending_.size() == 1 || pending_.size() >= options_.max_batch) work_cv_.notify_one();
    return index;
  }

  Result<Receipt> Append(Event event) {
    WRIT_ASSIGN_OR_RETURN(LeafIndex index, Enqueue(event, nullptr));
    if (options_.durability == Durability::kStrict) {
      MutexLock lock(mu_);
      NativeWait wait(mu_);
      while (durable_size_ <= index && !failed_) done_cv_.wait(wait.lock());
      if (durable_size_ <= index) return Fail(Code::kUnavailable, "ledger cannot write: " + failure_);
    }
    return Receipt{index, std::move(event.id)};
  }

  void AppendAsync(Event event, std::function<void(Result<Receipt>)> done) {
    auto queued = Enqueue(event, done);
    if (!queued && done) done(Fail(queued.error()));
  }

  Result<std::string> Checkpoint() {
    uint64_t target = 0;
    {
      MutexLock lock(mu_);
      NativeWait wait(mu_);
      target = next_index_;
      flush_ = true;  // commit now, without lingering
      work_cv_.notify_one();
      while (durable_size_ < target && !failed_) done_cv_.wait(wait.lock());
      if (failed_) return Fail(Code::kUnavailable, "ledger cannot write: " + failure_);
    }
    if (target == 0) return Fail(Code::kFailedPrecondition, "the ledger is empty");
    WRIT_RETURN_IF_ERROR(SignCheckpoint(/*force=*/true));
    WRIT_ASSIGN_OR_RETURN(std::optional<std::string> latest, LatestCheckpoint());
    if (!latest) return Fail(Code::kInternal, "checkpoint vanished");
    return *latest;
  }

  Result<std::optional<std::string>> LatestCheckpoint() const {
    WRIT_ASSIGN_OR_RETURN(std::optional<store::LedgerCheckpointRow> latest, store_.LatestCheckpoint());
    if (!latest) return std::optional<std::string>();
    return std::optional<std::string>(latest->note);
  }

  uint64_t Size() const {
    MutexLock lock(mu_);
    return durable_size_;
  }

  Result<InclusionProof> ProveInclusion(LeafIndex index, uint64_t tree_size) const {
    uint64_t durable = Size();
    if (tree_size == 0) tree_size = durable;
    if (index >= tree_size || tree_size > durable) {
      return Fail(Code::kOutOfRange,
                  fmt::format("need index {} < tree size {} <= ledger size {}", index, tree_size, durable));
    }
    InclusionProof proof{index, tree_size, {}, {}};
    {
      MutexLock lock(tree_mu_);
      WRIT_ASSIGN_OR_RETURN(proof.hashes, tree_.InclusionProof(index, tree_size));
    }
    WRIT_ASSIGN_OR_RETURN(std::vector<Hash> leaf, ReadLeafHashes(index, index + 1));
    proof.leaf_hash = leaf.at(0);
    return proof;
  }

  Result<InclusionProof> ProveInclusionById(const std::string& id, uint64_t tree_size) const {
    const uint64_t size = Size();
    WRIT_ASSIGN_OR_RETURN(std::optional<uint64_t> index, FindEventById(store_, id, size, OpenBlockRow(size)));
    if (!index) return Fail(Code::kNotFound, fmt::format("event `{}` not found", id));
    return ProveInclusion(*index, tree_size);
  }

  Result<std::vector<Hash>> ProveConsistency(uint64_t from, uint64_t to) const {
    uint64_t durable = Size();
    if (from == 0 || from > to || to > durable) {
      return Fail(Code::kOutOfRange, fmt::format("need 0 < {} <= {} <= ledger size {}", from, to, durable));
    }
    MutexLock lock(tree_mu_);
    return tree_.ConsistencyProof(from, to);
  }

  Result<Hash> Root(uint64_t size) const {
    if (size > Size()) return Fail(Code::kOutOfRange, fmt::format("size {} is past the ledger size", size));
    MutexLock lock(tree_mu_);
    return tree_.RootAt(size);
  }

  Result<std::vector<StoredEvent>> Query(const EventQuery& query) const {
    const uint64_t size = Size();
    return QueryEvents(store_, query, size, OpenBlockRow(size));
  }

  Result<std::optional<StoredEvent>> Get(LeafIndex index) const {
    if (index >= Size()) return std::optional<StoredEvent>();
    WRIT_ASSIGN_OR_RETURN(std::optional<std::string> leaf, store_.ReadEvent(index));
    if (!leaf) return Fail(Code::kDataLoss, fmt::format("event {} is missing", index));
    WRIT_ASSIGN_OR_RETURN(DecodedEvent decoded, DecodeLeaf(*leaf));
    return std::optional<StoredEvent>(StoredEvent{index, std::move(decoded.event)});
  }

 private:
  Result<std::vector<Hash>> ReadLeafHashes(LeafIndex begin, LeafIndex end) const {
    WRIT_ASSIGN_OR_RETURN(std::string raw, store_.LeafHashes(begin, end));
    return HashesFromBytes(raw, begin);
  }

  // Loads the index block the next event goes into (the writer extends it; the store has rows for
  // full blocks only), and rebuilds the whole index when a full block's row is missing (a ledger
  // migrated from one row per event).
  Status RestoreIndex(uint64_t size) {
    const uint64_t block = size / kBlockEvents;
    chunk_ = store::LedgerLeafChunk{};
    BlockBuilder open;
    open.Reset(block);
    if (block > 0) {
      WRIT_ASSIGN_OR_RETURN(std::vector<store::LedgerBlockRow> last, store_.Blocks(block - 1, 1));
      if (last.empty() || last[0].block != block - 1) {
        log::Info("ledger: building the query index", {{"events", json::Value(static_cast<int64_t>(size))}});
        WRIT_RETURN_IF_ERROR(RebuildIndex(store_, size));
      }
    }
    if (size > 0) {
      const uint64_t chunk_first = size / store::kLedgerLeafChunk * store::kLedgerLeafChunk;
      WRIT_ASSIGN_OR_RETURN(chunk_.hashes, store_.LeafHashes(chunk_first, size));
      chunk_.chunk = size / store::kLedgerLeafChunk;
      LeafScratch scratch;
      auto visit = [&](uint64_t, std::string_view leaf) -> Result<bool> {
        WRIT_ASSIGN_OR_RETURN(LeafFields fields, ReadLeafFields(leaf, scratch));
        open.Add(fields);
        return true;
      };
      WRIT_RETURN_IF_ERROR(ForEachEvent(store_, block * kBlockEvents, size, visit));
    }
    MutexLock lock(tree_mu_);
    block_ = std::move(open);
    return Ok();
  }

  // The index row of the block holding event size - 1 when that block is not full (the store has no
  // row for it), from memory; nullopt when the block is full, or when the writer has already moved
  // past it (its row is then being committed), so that the query reads that block's events unfiltered.
  // The row may cover events not yet durable: a filter that may hold more keys only costs reads.
  std::optional<store::LedgerBlockRow> OpenBlockRow(uint64_t size) const {
    if (size % kBlockEvents == 0) return std::nullopt;
    MutexLock lock(tree_mu_);
    if (block_.block() != size / kBlockEvents) return std::nullopt;
    return block_.Row();
  }

  void WriterLoop() {
    std::vector<Pending> taken;  // swapped with pending_ (and staged with staging_): both pairs of
    std::string staged;          // buffers keep their capacity
    for (;;) {
      taken.clear();
      staged.clear();
      {
        MutexLock lock(mu_);
        NativeWait wait(mu_);
        while (pending_.empty() && !stop_) {
          work_cv_.wait_for(wait.lock(), options_.checkpoint_interval);
          if (pending_.empty() && !stop_) break;  // timer tick: maybe checkpoint
        }
        if (pending_.empty() && stop_) break;
        if (!pending_.empty() && options_.durability == Durability::kBatched && options_.commit_linger.count() > 0) {
          // Batched: let a trickle of events gather for up to commit_linger into one transaction,
          // unless a full batch is waiting, a checkpoint asked for everything, or the ledger closes.
          const auto until = std::chrono::steady_clock::now() + options_.commit_linger;
          while (pending_.size() < options_.max_batch && !flush_ && !stop_) {
            if (work_cv_.wait_until(wait.lock(), until) == std::cv_status::timeout) break;
          }
        }
        flush_ = false;
        taken.swap(pending_);
        staged.swap(staging_);
        in_hand_ = taken.size();
      }
      // One transaction per max_batch events; each is acknowledged once it is durable.
      bool ok = true;
      for (size_t begin = 0; begin < taken.size() && ok; begin += options_.max_batch) {
        const size_t count = std::min(options_.max_batch, taken.size() - begin);
        ok = WriteBatch(std::span<Pending>(taken).subspan(begin, count),
                        std::span<Pending>(taken).subspan(begin + count), staged);
      }
      if (!ok) return;
      if (!MaybeCheckpoint()) return;
    }
    (void)MaybeCheckpoint();
  }

  // Packs `batch` into segments (leaf bytes, offsets, leaf hashes), the tree nodes it completes and
  // the index rows of the blocks it touches, and writes them in one durable transaction.
  // Returns false (after failing every waiter, `later` ones too) if the store failed.
  bool WriteBatch(std::span<Pending> batch, std::span<Pending> later, std::string_view staged) {
    size_t used = 0;  // segments_[0, used) hold this batch
    nodes_.clear();
    blocks_.clear();
    leaves_.clear();
    {
      MutexLock lock(tree_mu_);
      char tail[kLeafTailBuffer];
      for (size_t i = 0; i < batch.size(); ++i) {
        Pending& item = batch[i];
        if (used == 0 || segments_[used - 1].data.size() >= kSegmentBytes) {
          if (used > 0) segments_[used - 1].ends.resize((segments_[used - 1].count - 1) * 4);
          if (segments_.size() <= used) segments_.emplace_back();
          store::LedgerSegment& fresh = segments_[used++];
          fresh.first = item.index;
          fresh.count = 0;
          fresh.data.clear();
          fresh.ends.clear();
          fresh.hashes.clear();
        }
        store::LedgerSegment& segment = segments_[used - 1];
        segment.data.append(staged.substr(item.body_offset, item.body_size));
        const std::string_view leaf_tail = FormatLeafTail(item.index, crypto::AsBytes(prev_), tail);
        segment.data.append(leaf_tail);
        AppendLittle32(segment.ends, segment.data.size());
        const Hash hash = item.partial.FinishWith(leaf_tail);
        segment.hashes.append(crypto::AsBytes(hash));
        ++segment.count;
        prev_ = hash;
        tree_.Append(hash, [&](const MerkleTree::Node& node) {
          nodes_.push_back(store::LedgerNodeRow{node.level, node.index, ToBytes(node.hash)});
        });
        // A block's row is written once, with the event that fills it: rewriting the open block's
        // filter (up to 16 KiB) at every commit was most of a one-event commit's pages.
        if (item.index / kBlockEvents != block_.block()) block_.Reset(item.index / kBlockEvents);
        block_.Add(item.time_ms, item.kind, item.keys);
        if ((item.index + 1) % kBlockEvents == 0) blocks_.push_back(block_.Row());
        chunk_.hashes.append(crypto::AsBytes(hash));
        if (chunk_.hashes.size() == store::kLedgerLeafChunk * crypto::kSha256Size) {
          leaves_.push_back(chunk_);
          chunk_.chunk++;
          chunk_.hashes.clear();
        }
      }
      if (!chunk_.hashes.empty()) leaves_.push_back(chunk_);
      if (used > 0) segments_[used - 1].ends.resize((segments_[used - 1].count - 1) * 4);
    }
    Status written = store_.Append({.segments = std::span<const store::LedgerSegment>(segments_.data(), used),
                                    .nodes = nodes_,
                                    .blocks = blocks_,
                                    .leaves = leaves_});
    std::vector<Pending> dropped;
    {
      MutexLock lock(mu_);
      if (!written) {
        dropped = FailAll(written.error().message);
        in_hand_ = 0;
      } else {
        durable_size_ = batch.back().index + 1;
        in_hand_ -= batch.size();
        done_cv_.notify_all();
        room_cv_.notify_all();
      }
    }
    // On failure nothing of the batch is stored: the ledger refuses every later append (the tree
    // and index block in memory are ahead of the store), and the next open restores both from it.
    for (Pending& item : batch) {
      if (!item.done) continue;
      if (written) {
        item.done(Receipt{item.index, std::move(item.id)});
      } else {
        item.done(Fail(Code::kUnavailable, "ledger cannot write: " + written.error().message));
      }
    }
    if (!written) {
      FailCallbacks(later, written.error().message);
      FailCallbacks(dropped, written.error().message);
    }
    return written.has_value();
  }

  // Fails the ledger for good: every waiter and every later Append gets kUnavailable.
  // Returns the queued appends, whose callbacks the caller must fail outside the lock.
  [[nodiscard]] std::vector<Pending> FailAll(const std::string& message) WRIT_REQUIRES(mu_) {
    failed_ = true;
    failure_ = message;
    std::vector<Pending> dropped;
    dropped.swap(pending_);
    staging_.clear();
    done_cv_.notify_all();
    room_cv_.notify_all();
    log::Error("ledger write failed; refusing further appends", {{"error", json::Value(message)}});
    return dropped;
  }

  bool MaybeCheckpoint() {
    Status signed_checkpoint = SignCheckpoint(/*force=*/false);
    if (!signed_checkpoint) {
      std::string message = "checkpoint: " + signed_checkpoint.error().message;
      std::vector<Pending> dropped;
      {
        MutexLock lock(mu_);
        dropped = FailAll(message);
      }
      FailCallbacks(dropped, message);
      return false;
    }
    return true;
  }

  // Signs and stores a checkpoint of the durable size when due (or when `force`).
  Status SignCheckpoint(bool force) {
    MutexLock checkpoint_lock(checkpoint_mu_);
    uint64_t size = Size();
    if (size == 0 || size == last_checkpoint_size_) return Ok();
    TimePoint now = clock_.Now();
    bool due = size - last_checkpoint_size_ >= options_.checkpoint_every_events ||
               now - last_checkpoint_time_ >= options_.checkpoint_interval;
    if (!force && !due) return Ok();
    Hash root{};
    {
      MutexLock lock(tree_mu_);
      WRIT_ASSIGN_OR_RETURN(root, tree_.RootAt(size));
    }
    struct Checkpoint checkpoint {
      .origin = options_.origin, .size = size, .root = root, .extensions = {}
    };
    WRIT_ASSIGN_OR_RETURN(std::string note, options_.signer->Sign(checkpoint.Text()));
    WRIT_RETURN_IF_ERROR(store_.PutCheckpoint({size, note, ToUnixMillis(now)}));
    if (!options_.checkpoint_file.empty()) WRIT_RETURN_IF_ERROR(WriteFileAtomically(options_.checkpoint_file, note));
    last_checkpoint_size_ = size;
    last_checkpoint_time_ = now;
    return Ok();
  }

  const LedgerOptions options_;
  const Clock& clock_;
  store::LedgerStore& store_;

  mutable Mutex mu_;                 // guards the queue and the durable size
  std::condition_variable work_cv_;  // writer: work queued or stop
  std::condition_variable done_cv_;  // appenders: durable_size_ advanced or failure
  std::condition_variable room_cv_;  // appenders: queue has room
  std::vector<Pending> pending_ WRIT_GUARDED_BY(mu_);
  std::string staging_ WRIT_GUARDED_BY(mu_);  // the bodies of pending_, back to back
  // Events the writer took from pending_ and has not yet committed: they count against max_pending.
  size_t in_hand_ WRIT_GUARDED_BY(mu_) = 0;
  bool flush_ WRIT_GUARDED_BY(mu_) = false;  // Checkpoint() waits: commit without lingering
  LeafIndex next_index_ WRIT_GUARDED_BY(mu_) = 0;
  uint64_t durable_size_ WRIT_GUARDED_BY(mu_) = 0;  // INVARIANT: durable_size_ <= tree_.size()
  bool failed_ WRIT_GUARDED_BY(mu_) = false;
  std::string failure_ WRIT_GUARDED_BY(mu_);
  bool stop_ WRIT_GUARDED_BY(mu_) = false;

  mutable Mutex tree_mu_;  // guards tree_, prev_ and block_ (the writer appends, provers and queries read)
  MerkleTree tree_ WRIT_GUARDED_BY(tree_mu_);
  Hash prev_ WRIT_GUARDED_BY(tree_mu_){};

  Mutex checkpoint_mu_;  // one checkpoint at a time
  uint64_t last_checkpoint_size_ WRIT_GUARDED_BY(checkpoint_mu_) = 0;
  TimePoint last_checkpoint_time_ WRIT_GUARDED_BY(checkpoint_mu_){};

  // The writer thread's own state (also touched by Start before the thread runs).
  IdGenerator ids_;
  BlockBuilder block_ WRIT_GUARDED_BY(tree_mu_);  // the index block the next event goes into
  store::LedgerLeafChunk chunk_;                  // the leaf-hash chunk the next event goes into
  std::vector<store::LedgerSegment> segments_;    // reused buffers: no allocation per batch
  std::vector<store::LedgerNodeRow> nodes_;
  std::vector<store::LedgerBlockRow> blocks_;
  std::vector<store::LedgerLeafChunk> leaves_;

  std::thread writer_;
};

Result<std::unique_ptr<Ledger>> Ledger::Open(const LedgerOptions& options, store::LedgerStore& store) {
  if (options.signer == nullptr) return Fail(Code::kInvalidArgument, "ledger needs a checkpoint signer");
  if (options.max_batch == 0 || options.max_pending == 0) {
    return Fail(Code::kInvalidArgument, "ledger max_batch and max_pending must be positive");
  }
  if (options.commit_linger < std::chrono::microseconds(0) || options.commit_linger > kMaxCommitLinger) {
    return Fail(Code::kInvalidArgument, "ledger commit_linger must be in [0, 1s]");
  }
  if (options.cached_level < 0 || options.cached_level > 16) {
    return Fail(Code::kInvalidArgument, "ledger cached_level must be in [0, 16]");
  }
  auto impl = std::make_unique<Impl>(options, store);
  WRIT_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::~Ledger() = default;

Result<Receipt> Ledger::Append(Event event) { return impl_->Append(std::move(event)); }
void Ledger::AppendAsync(Event event, std::function<void(Result<Receipt>)> done) {
  impl_->AppendAsync(std::move(event), std::move(done));
}
Result<std::string> Ledger::Checkpoint() { return impl_->Checkpoint(); }
Result<std::optional<std::string>> Ledger::LatestCheckpoint() const { return impl_->LatestCheckpoint(); }
Result<InclusionProof> Ledger::ProveInclusion(LeafIndex index, uint64_t tree_size) const {
  return impl_->ProveInclusion(index, tree_size);
}
Result<InclusionProof> Ledger::ProveInclusionById(const std::string& id, uint64_t tree_size) const {
  return impl_->ProveInclusionById(id, tree_size);
}
Result<std::vector<Hash>> Ledger::ProveConsistency(uint64_t from, uint64_t to) const {
  return impl_->ProveConsistency(from, to);
}
Result<Hash> Ledger::Root(uint64_t size) const { return impl_->Root(size); }
Result<std::vector<StoredEvent>> Ledger::Query(const EventQuery& query) const { return impl_->Query(query); }
Result<std::optional<StoredEvent>> Ledger::Get(LeafIndex index) const { return impl_->Get(index); }
uint64_t Ledger::Size() const { return impl_->Size(); }

}  // namespace writ::ledger
