#include "ledger/ledger.h"

#include <condition_variable>
#include <deque>
#include <thread>

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "common/ids.h"
#include "common/log.h"
#include "common/mutex.h"
#include "store/ledger_store.h"

namespace writ::ledger {
namespace {

// One queued append: the encoded body and the columns the store filters on.
struct Pending {
  LeafIndex index;
  std::string body;
  std::string id;
  int64_t time_ms;
  std::string_view kind;
  std::string subject;
  std::string correlation_id;
  std::function<void(Result<Receipt>)> done;  // AppendAsync's callback, or empty
};

// Calls each queued callback with `error` (outside any lock: a callback may append again).
void FailCallbacks(std::deque<Pending>& items, const std::string& error) {
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

Result<StoredEvent> ToStored(const store::LedgerRow& row) {
  WRIT_ASSIGN_OR_RETURN(DecodedEvent decoded, DecodeLeaf(row.data));
  return StoredEvent{row.index, std::move(decoded.event)};
}

}  // namespace

class Ledger::Impl {
 public:
  Impl(const LedgerOptions& options, store::LedgerStore& store)
      : options_(options),
        clock_(options.clock != nullptr ? *options.clock : SystemClock()),
        store_(store),
        tree_({.cached_level = options.cached_level,
               .reader = [this](LeafIndex begin, LeafIndex end) -> Result<std::vector<Hash>> {
                 WRIT_ASSIGN_OR_RETURN(std::vector<std::string> raw, store_.LeafHashes(begin, end));
                 std::vector<Hash> hashes;
                 hashes.reserve(raw.size());
                 for (const std::string& bytes : raw) {
                   auto hash = HashFromBytes(bytes);
                   if (!hash) return Fail(Code::kDataLoss, fmt::format("leaf hash {} is malformed", begin + hashes.size()));
                   hashes.push_back(*hash);
                 }
                 return hashes;
               }}) {}

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
        return Fail(Code::kDataLoss, fmt::format("the last checkpoint covers {} events but the store holds {}",
                                                 latest->size, size));
      }
      WRIT_ASSIGN_OR_RETURN(Note note, ParseNote(latest->note));
      WRIT_ASSIGN_OR_RETURN(struct Checkpoint checkpoint, ParseCheckpoint(note.text));
      if (checkpoint.origin != options_.origin) {
        return Fail(Code::kFailedPrecondition,
                    fmt::format("the ledger's checkpoints are for origin `{}`, not `{}`", checkpoint.origin,
                                options_.origin));
      }
      Result<Hash> root = Fail(Code::kInternal, "unset");
      {
        MutexLock lock(tree_mu_);
        root = tree_.RootAt(checkpoint.size);
      }
      if (!root || *root != checkpoint.root) {
        return Fail(Code::kDataLoss, fmt::format("the stored tree does not match the checkpoint at size {}",
                                                 checkpoint.size));
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
    if (event.id.empty()) event.id = NewUuidV7(clock_);
    if (event.time == TimePoint{}) event.time = clock_.Now();
    WRIT_ASSIGN_OR_RETURN(std::string body,
                          EncodeEventBody(event, {.hmac_key = options_.hmac_key,
                                                  .max_event_bytes = options_.max_event_bytes}));
    MutexLock lock(mu_);
    NativeWait wait(mu_);
    auto deadline = std::chrono::steady_clock::now() + options_.max_block;
    while (!failed_ && !stop_ && pending_.size() >= options_.max_pending) {
      if (room_cv_.wait_until(wait.lock(), deadline) == std::cv_status::timeout &&
          pending_.size() >= options_.max_pending) {
        return Fail(Code::kUnavailable, "ledger queue stayed full: the store is not keeping up");
      }
    }
    if (failed_) return Fail(Code::kUnavailable, "ledger cannot write: " + failure_);
    if (stop_) return Fail(Code::kUnavailable, "ledger is closing");
    LeafIndex index = next_index_++;
    pending_.push_back(Pending{index, std::move(body), event.id, ToUnixMillis(event.time), EventKindName(event.kind),
                               event.subject, event.correlation_id, std::move(done)});
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
      return Fail(Code::kOutOfRange, fmt::format("need index {} < tree size {} <= ledger size {}", index, tree_size, durable));
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
    WRIT_ASSIGN_OR_RETURN(std::optional<store::LedgerRow> row, store_.FindById(id));
    if (!row) return Fail(Code::kNotFound, fmt::format("event `{}` not found", id));
    return ProveInclusion(row->index, tree_size);
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
    store::LedgerQuery store_query;
    store_query.subject = query.subject;
    if (query.kind) store_query.kind = std::string(EventKindName(*query.kind));
    store_query.correlation_id = query.correlation_id;
    if (query.from) store_query.from_ms = ToUnixMillis(*query.from);
    if (query.to) store_query.to_ms = ToUnixMillis(*query.to);
    store_query.after_index = query.after_index;
    store_query.limit = query.limit;
    WRIT_ASSIGN_OR_RETURN(std::vector<store::LedgerRow> rows, store_.Query(store_query));
    uint64_t durable = Size();
    std::vector<StoredEvent> events;
    events.reserve(rows.size());
    for (const auto& row : rows) {
      if (row.index >= durable) break;  // not yet acknowledged to its writer
      WRIT_ASSIGN_OR_RETURN(StoredEvent event, ToStored(row));
      events.push_back(std::move(event));
    }
    return events;
  }

  Result<std::optional<StoredEvent>> Get(LeafIndex index) const {
    if (index >= Size()) return std::optional<StoredEvent>();
    WRIT_ASSIGN_OR_RETURN(std::optional<store::LedgerRow> row, store_.Get(index));
    if (!row) return Fail(Code::kDataLoss, fmt::format("event {} is missing", index));
    WRIT_ASSIGN_OR_RETURN(StoredEvent event, ToStored(*row));
    return std::optional<StoredEvent>(std::move(event));
  }

 private:
  Result<std::vector<Hash>> ReadLeafHashes(LeafIndex begin, LeafIndex end) const {
    WRIT_ASSIGN_OR_RETURN(std::vector<std::string> raw, store_.LeafHashes(begin, end));
    std::vector<Hash> hashes;
    for (const std::string& bytes : raw) {
      auto hash = HashFromBytes(bytes);
      if (!hash) return Fail(Code::kDataLoss, "stored leaf hash is malformed");
      hashes.push_back(*hash);
    }
    return hashes;
  }

  void WriterLoop() {
    std::vector<Pending> batch;
    std::vector<store::LedgerRow> rows;
    std::vector<store::LedgerNodeRow> nodes;
    for (;;) {
      batch.clear();
      {
        MutexLock lock(mu_);
        NativeWait wait(mu_);
        while (pending_.empty() && !stop_) {
          work_cv_.wait_for(wait.lock(), options_.checkpoint_interval);
          if (pending_.empty() && !stop_) break;  // timer tick: maybe checkpoint
        }
        if (pending_.empty() && stop_) break;
        size_t take = std::min(pending_.size(), options_.max_batch);
        for (size_t i = 0; i < take; ++i) {
          batch.push_back(std::move(pending_.front()));
          pending_.pop_front();
        }
      }
      if (!batch.empty()) {
        room_cv_.notify_all();
        if (!WriteBatch(batch, rows, nodes)) return;
      }
      if (!MaybeCheckpoint()) return;
    }
    (void)MaybeCheckpoint();
  }

  // Returns false (after failing every waiter) if the store failed.
  bool WriteBatch(std::vector<Pending>& batch, std::vector<store::LedgerRow>& rows,
                  std::vector<store::LedgerNodeRow>& nodes) {
    rows.clear();
    nodes.clear();
    rows.reserve(batch.size());
    {
      MutexLock lock(tree_mu_);
      for (Pending& item : batch) {
        std::string leaf = EncodeLeaf(item.body, item.index, crypto::AsBytes(prev_));
        Hash hash = HashLeaf(leaf);
        prev_ = hash;
        tree_.Append(hash, [&](const MerkleTree::Node& node) {
          nodes.push_back(store::LedgerNodeRow{node.level, node.index, ToBytes(node.hash)});
        });
        rows.push_back(store::LedgerRow{item.index, std::move(item.id), item.time_ms, std::string(item.kind),
                                        std::move(item.subject), std::move(item.correlation_id), std::move(leaf),
                                        ToBytes(hash)});
      }
    }
    auto t0 = std::chrono::steady_clock::now();
    Status written = store_.Append(rows, nodes);
    std::deque<Pending> dropped;
    if (std::getenv("WRIT_LEDGER_DEBUG")) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "batch %zu rows %zu nodes %ld us\n", rows.size(), nodes.size(), static_cast<long>(us));
    }
    {
      MutexLock lock(mu_);
      if (!written) {
        dropped = FailAll(written.error().message);
      } else {
        durable_size_ = rows.back().index + 1;
        done_cv_.notify_all();
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!batch[i].done) continue;
      if (written) {
        batch[i].done(Receipt{rows[i].index, rows[i].id});
      } else {
        batch[i].done(Fail(Code::kUnavailable, "ledger cannot write: " + written.error().message));
      }
    }
    FailCallbacks(dropped, written ? std::string() : written.error().message);
    return written.has_value();
  }

  // Fails the ledger for good: every waiter and every later Append gets kUnavailable.
  // Returns the queued appends, whose callbacks the caller must fail outside the lock.
  [[nodiscard]] std::deque<Pending> FailAll(const std::string& message) WRIT_REQUIRES(mu_) {
    failed_ = true;
    failure_ = message;
    std::deque<Pending> dropped;
    dropped.swap(pending_);
    done_cv_.notify_all();
    room_cv_.notify_all();
    log::Error("ledger write failed; refusing further appends", {{"error", json::Value(message)}});
    return dropped;
  }

  bool MaybeCheckpoint() {
    Status signed_checkpoint = SignCheckpoint(/*force=*/false);
    if (!signed_checkpoint) {
      std::string message = "checkpoint: " + signed_checkpoint.error().message;
      std::deque<Pending> dropped;
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

  mutable Mutex mu_;  // guards the queue and the durable size
  std::condition_variable work_cv_;  // writer: work queued or stop
  std::condition_variable done_cv_;  // appenders: durable_size_ advanced or failure
  std::condition_variable room_cv_;  // appenders: queue has room
  std::deque<Pending> pending_ WRIT_GUARDED_BY(mu_);
  LeafIndex next_index_ WRIT_GUARDED_BY(mu_) = 0;
  uint64_t durable_size_ WRIT_GUARDED_BY(mu_) = 0;  // INVARIANT: durable_size_ <= tree_.size()
  bool failed_ WRIT_GUARDED_BY(mu_) = false;
  std::string failure_ WRIT_GUARDED_BY(mu_);
  bool stop_ WRIT_GUARDED_BY(mu_) = false;

  mutable Mutex tree_mu_;  // guards tree_ and prev_ (the writer appends, provers read)
  MerkleTree tree_ WRIT_GUARDED_BY(tree_mu_);
  Hash prev_ WRIT_GUARDED_BY(tree_mu_){};

  Mutex checkpoint_mu_;  // one checkpoint at a time
  uint64_t last_checkpoint_size_ WRIT_GUARDED_BY(checkpoint_mu_) = 0;
  TimePoint last_checkpoint_time_ WRIT_GUARDED_BY(checkpoint_mu_){};

  std::thread writer_;
};

Result<std::unique_ptr<Ledger>> Ledger::Open(const LedgerOptions& options, store::LedgerStore& store) {
  if (options.signer == nullptr) return Fail(Code::kInvalidArgument, "ledger needs a checkpoint signer");
  if (options.max_batch == 0 || options.max_pending == 0) {
    return Fail(Code::kInvalidArgument, "ledger max_batch and max_pending must be positive");
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
