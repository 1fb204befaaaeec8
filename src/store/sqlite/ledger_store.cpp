// SQLite backend of LedgerStore. Schema: docs/ledger_format.md §4.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "store/ledger_store.h"
#include "store/sqlite/database.h"

namespace writ::store::sqlite {
namespace {

// Numbered migrations of the `ledger` component: append only, never edit a released one.
constexpr std::array<std::string_view, 2> kMigrations = {
    R"sql(
CREATE TABLE ledger_events (
  idx INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  data BLOB NOT NULL,
  leaf_hash BLOB NOT NULL);
CREATE UNIQUE INDEX ledger_events_by_id ON ledger_events (id);
CREATE INDEX ledger_events_by_subject ON ledger_events (subject, idx);
CREATE INDEX ledger_events_by_correlation ON ledger_events (correlation_id, idx);
CREATE TABLE ledger_nodes (
  level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE ledger_checkpoints (
  size INTEGER PRIMARY KEY, note TEXT NOT NULL, created_ms INTEGER NOT NULL);
)sql",
    // Segments: one row per group commit instead of one per event. A session-1 row becomes a
    // one-event segment (whose `ends` is empty); the ledger rebuilds ledger_blocks and ledger_leaves
    // (both derived from the segments) on open.
    R"sql(
CREATE TABLE ledger_segments (
  first_idx INTEGER PRIMARY KEY,
  count INTEGER NOT NULL,
  data BLOB NOT NULL,
  ends BLOB NOT NULL,
  hashes BLOB NOT NULL);
CREATE TABLE ledger_blocks (
  block INTEGER PRIMARY KEY,
  min_time_ms INTEGER NOT NULL,
  max_time_ms INTEGER NOT NULL,
  kinds INTEGER NOT NULL,
  keys BLOB NOT NULL);
CREATE TABLE ledger_leaves (chunk INTEGER PRIMARY KEY, hashes BLOB NOT NULL);
INSERT INTO ledger_segments SELECT idx, 1, data, x'', leaf_hash FROM ledger_events ORDER BY idx;
DROP TABLE ledger_events;
)sql",
};

constexpr size_t kHashSize = 32;

uint32_t ReadLittle32(const char* bytes) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(bytes[i]);
  return value;
}

// Incremental reads of one blob column of one segment row (rowid = first_idx): reads only the bytes
// asked for, not the whole segment.
class BlobReader {
 public:
  BlobReader(sqlite3* db, const char* column, uint64_t first) {
    rc_ = sqlite3_blob_open(db, "main", "ledger_segments", column, static_cast<sqlite3_int64>(first), 0, &blob_);
  }
  ~BlobReader() { sqlite3_blob_close(blob_); }
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  int rc() const { return rc_; }
  uint64_t size() const { return static_cast<uint64_t>(sqlite3_blob_bytes(blob_)); }
  bool Read(uint64_t offset, size_t length, char* out) {
    if (offset + length > size()) return false;
    return sqlite3_blob_read(blob_, out, static_cast<int>(length), static_cast<int>(offset)) == SQLITE_OK;
  }

 private:
  sqlite3_blob* blob_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

tl::unexpected<Error> Corrupt(uint64_t first, std::string_view what) {
  return Fail(Code::kDataLoss, fmt::format("ledger segment at {} is malformed: {}", first, what));
}

// How long a RESTART checkpoint waits for the writer and for readers before it gives up until the
// next try: a commit waits at most about this long for it.
constexpr std::chrono::milliseconds kRestartWait{10};

// Copies what is left of the WAL into the database file and makes the next commit start the WAL
// over, waiting at most kRestartWait for other connections (then it gives up until the next try:
// the frames stay in the WAL, which is durable). REQUIRES: db.mu() held.
void RestartWalBriefly(Database& db) WRIT_REQUIRES(db.mu()) {
  sqlite3_busy_timeout(db.handle(), static_cast<int>(kRestartWait.count()));
  (void)sqlite3_wal_checkpoint_v2(db.handle(), "main", SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
  sqlite3_busy_timeout(db.handle(), static_cast<int>(db.busy_timeout().count()));
}

// Copies committed WAL frames into the database file on its own connection and thread, so that a
// commit pays only for its own WAL write and fsync. A failed copy (a full disk) loses nothing: the
// frames stay in the WAL, which is durable.
//
// It runs seldom: once the WAL holds `checkpoint_wal_pages` pages, or once no commit has come for
// `checkpoint_idle`. A copy after every commit (as before) cost a strict decision two more fsyncs
// (the WAL's and the database file's), queued on the disk in front of the next decision's commit.
// Past the bound, the ledger's writer finishes the job between two commits (see Copy), which is
// cheap because each copy repeats until little is left and writes the database file back itself.
class Checkpointer {
 public:
  Checkpointer(std::unique_ptr<Database> db, const LedgerStoreOptions& options)
      : db_(std::move(db)), options_(options), thread_([this] { Loop(); }) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Called on the committing thread, after each commit of the writer connection, with the number
  // of pages now in its WAL. Cheap: no I/O.
  void Committed(int wal_pages) {
    bool full = false;
    {
      std::lock_guard lock(mu_);
      ++commits_;
      full = wal_pages >= options_.checkpoint_wal_pages;
      if (full && passes_ == passes_seen_) poked_ = true;  // no copy since the writer last tried
      writer_should_restart_ = full && passes_ != passes_seen_ && !copying_;
    }
    if (full) cv_.notify_all();
  }

  // True when the writer should restart the WAL now (RestartWal): the WAL is past its bound and a
  // background copy has finished since the writer last tried, so little is left to copy.
  bool WriterShouldRestart() {
    std::lock_guard lock(mu_);
    if (!writer_should_restart_) return false;
    writer_should_restart_ = false;
    passes_seen_ = passes_;
    return true;
  }

  uint64_t checkpoints() const {
    std::lock_guard lock(mu_);
    return checkpoints_;
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    // From zero, not from commits_ as this thread first sees it: the store may commit before the
    // thread gets to run, and that commit's frames must count as waiting (it was never copied when
    // the machine was busy enough to start the thread late).
    uint64_t commits_checkpointed = 0;
    uint64_t commits_at_last_look = 0;
    while (!stop_) {
      cv_.wait_for(lock, options_.checkpoint_idle, [&] { return poked_ || stop_; });
      if (stop_) break;
      // Idle: frames are waiting and no commit came since the last look.
      const bool idle = commits_ != commits_checkpointed && commits_ == commits_at_last_look;
      commits_at_last_look = commits_;
      if (!poked_ && !idle) continue;
      poked_ = false;
      commits_checkpointed = commits_;
      copying_ = true;
      lock.unlock();
      Copy(idle);
      lock.lock();
      copying_ = false;
      ++passes_;
      ++checkpoints_;
    }
  }

  // PASSIVE copies what it can without blocking anyone. Under a steady stream of commits it never
  // catches up with the end of the WAL, and SQLite reuses the WAL from its start only once every
  // frame is copied and no reader still reads from it: the file grew by ~70 MB/s under strict
  // load. So the writer finishes the job between two commits (RestartWal) after this pass; when
  // commits have stopped (`idle`), this thread does it, waiting at most kRestartWait.
  //
  // A pass over a full WAL takes long enough (~1 s for 64 MiB under strict load) for tens of MB of new
  // frames to arrive meanwhile, and the writer's restart then had to copy them on its own path:
  // 37-47 ms stalls of every strict decision, once a second. So passes repeat, each copying only
  // what came during the previous one, until little is left (kRestartLeftFrames).
  void Copy(bool idle) {
    MutexLock db_lock(db_->mu());
    sqlite3* handle = db_->handle();
    for (int pass = 0; pass < kMaxPassesPerCopy; ++pass) {
      int frames = 0;
      int copied = 0;
      if (sqlite3_wal_checkpoint_v2(handle, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) != SQLITE_OK) break;
      if (frames - copied <= kRestartLeftFrames) break;
    }
    // A PASSIVE pass syncs the database file only when it copied every frame, which it never does
    // under steady commits: the writer's restart (which syncs it) then flushed the whole pass's
    // pages on its own path. Flushing them here leaves the restart little to write.
    if (const char* file = sqlite3_db_filename(handle, "main"); file != nullptr && *file != '\0') {
      WriteBackInSteps(file);
    }
    if (idle) RestartWalBriefly(*db_);
  }

  // Writes the file's dirty pages to disk a few MiB at a time, each step finished before the next
  // starts, so that a commit's own flush never queues behind tens of MB on the disk; then syncs it.
  // Best effort: a failure here only leaves the work to SQLite's own sync at the WAL's restart,
  // which reports it (and then keeps the WAL).
  static void WriteBackInSteps(const char* file) {
    const int fd = ::open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat info {};
    const off_t size = ::fstat(fd, &info) == 0 ? info.st_size : 0;
    for (off_t at = 0; at < size; at += kFlushStep) {
      (void)::sync_file_range(fd, at, kFlushStep,
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    (void)::fdatasync(fd);
    ::close(fd);
  }

  static constexpr int kRestartLeftFrames = 256;  // 1 MiB: what the writer's restart may still copy
  static constexpr int kMaxPassesPerCopy = 8;
  static constexpr off_t kFlushStep = 2 << 20;

  std::unique_ptr<Database> db_;
  const LedgerStoreOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false;
  bool stop_ = false;
  bool copying_ = false;
  bool writer_should_restart_ = false;
  uint64_t passes_ = 0;       // background copies finished
  uint64_t passes_seen_ = 0;  // passes_ when the writer last restarted (or tried)
  uint64_t commits_ = 0;
  uint64_t checkpoints_ = 0;
  std::thread thread_;  // last: starts once the members above exist
};

int OnWalCommit(void* checkpointer, sqlite3* /*db*/, const char* /*schema*/, int wal_pages) {
  static_cast<Checkpointer*>(checkpointer)->Committed(wal_pages);
  return SQLITE_OK;
}

class SqliteLedgerStore final : public LedgerStore {
 public:
  SqliteLedgerStore(Database& db, std::unique_ptr<Database> reader, std::unique_ptr<Checkpointer> checkpointer)
      : db_(db), reader_(std::move(reader)), checkpointer_(std::move(checkpointer)) {
    if (checkpointer_) {
      MutexLock lock(db_.mu());
      sqlite3_wal_hook(db_.handle(), OnWalCommit, checkpointer_.get());
    }
  }
  ~SqliteLedgerStore() override {
    if (checkpointer_) {
      MutexLock lock(db_.mu());
      sqlite3_wal_hook(db_.handle(), nullptr, nullptr);
    }
  }

  uint64_t WalCheckpoints() const override { return checkpointer_ ? checkpointer_->checkpoints() : 0; }

  Status Append(const LedgerBatch& batch) override {
    if (batch.segments.empty() && batch.nodes.empty() && batch.blocks.empty() && batch.leaves.empty()) return Ok();
    WRIT_RETURN_IF_ERROR(Insert(batch));
    if (checkpointer_ && checkpointer_->WriterShouldRestart()) RestartWal();
    return Ok();
  }

 private:
  // Between two commits (no statement of this connection active), copies the rest of the WAL (what
  // was committed since the background copy) and makes the next commit start it over, waiting at
  // most kRestartWait for readers. Delays this one commit's return by about one fsync of the
  // database file; a failure only means the WAL stays longer until the next try.
  void RestartWal() {
    MutexLock lock(db_.mu());
    RestartWalBriefly(db_);
  }

  Status Insert(const LedgerBatch& batch) {
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    WRIT_ASSIGN_OR_RETURN(Statement insert_segment, db_.Prepare("INSERT INTO ledger_segments VALUES (?,?,?,?,?)"));
    WRIT_ASSIGN_OR_RETURN(Statement insert_node, db_.Prepare("INSERT INTO ledger_nodes VALUES (?,?,?)"));
    WRIT_ASSIGN_OR_RETURN(Statement upsert_block,
                          db_.Prepare("INSERT OR REPLACE INTO ledger_blocks VALUES (?,?,?,?,?)"));
    WRIT_ASSIGN_OR_RETURN(Statement upsert_leaves, db_.Prepare("INSERT OR REPLACE INTO ledger_leaves VALUES (?,?)"));
    if (!batch.segments.empty()) {
      WRIT_ASSIGN_OR_RETURN(Statement size_query, db_.Prepare(kSizeSql));
      WRIT_ASSIGN_OR_RETURN(const uint64_t size, SizeFrom(size_query));
      if (batch.segments.front().first != size) {
        return Fail(Code::kConflict, fmt::format("ledger append at {} but the store holds {} events",
                                                 batch.segments.front().first, size));
      }
    }
    for (const LedgerSegment& segment : batch.segments) {
      WRIT_RETURN_IF_ERROR(Run(insert_segment, [&](Statement& insert) {
        insert.Bind(1, static_cast<int64_t>(segment.first)).Bind(2, static_cast<int64_t>(segment.count));
        // Megabytes per segment: bound in place (Run resets the statement before `batch` goes away).
        insert.BindBlobUncopied(3, segment.data).BindBlobUncopied(4, segment.ends).BindBlobUncopied(5, segment.hashes);
      }));
    }
    for (const LedgerNodeRow& node : batch.nodes) {
      WRIT_RETURN_IF_ERROR(Run(insert_node, [&](Statement& insert) {
        insert.Bind(1, int64_t{node.level}).Bind(2, static_cast<int64_t>(node.index)).BindBlob(3, node.hash);
      }));
    }
    for (const LedgerBlockRow& block : batch.blocks) {
      WRIT_RETURN_IF_ERROR(Run(upsert_block, [&](Statement& upsert) {
        upsert.Bind(1, static_cast<int64_t>(block.block)).Bind(2, block.min_time_ms).Bind(3, block.max_time_ms);
        upsert.Bind(4, static_cast<int64_t>(block.kinds)).BindBlob(5, block.keys);
      }));
    }
    for (const LedgerLeafChunk& chunk : batch.leaves) {
      WRIT_RETURN_IF_ERROR(Run(upsert_leaves, [&](Statement& upsert) {
        upsert.Bind(1, static_cast<int64_t>(chunk.chunk)).BindBlob(2, chunk.hashes);
      }));
    }
    return transaction.Commit();
  }

 public:
  Result<uint64_t> Size() override {
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement query, reader_->Prepare(kSizeSql));
    return SizeFrom(query);
  }

  Result<std::string> LeafHashes(uint64_t begin, uint64_t end) override {
    std::string out;
    if (end <= begin) return out;
    out.reserve((end - begin) * kHashSize);
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement query, reader_->Prepare("SELECT chunk, hashes FROM ledger_leaves "
                                                            "WHERE chunk >= ? AND chunk <= ? ORDER BY chunk"));
    query.Bind(1, static_cast<int64_t>(begin / kLedgerLeafChunk))
        .Bind(2, static_cast<int64_t>((end - 1) / kLedgerLeafChunk));
    uint64_t next = begin;
    Status status = Ok();
    while (next < end) {
      auto has_row = query.Step();
      if (!has_row) {
        status = Fail(has_row.error());
        break;
      }
      if (!*has_row || static_cast<uint64_t>(query.ColumnInt(0)) != next / kLedgerLeafChunk) break;
      const std::string_view hashes = query.ColumnBlobView(1);
      const uint64_t chunk_first = next / kLedgerLeafChunk * kLedgerLeafChunk;
      const uint64_t stop = std::min(end, chunk_first + kLedgerLeafChunk);
      if (hashes.size() < (stop - chunk_first) * kHashSize) break;
      out.append(hashes.substr((next - chunk_first) * kHashSize, (stop - next) * kHashSize));
      next = stop;
    }
    query.Reset();
    WRIT_RETURN_IF_ERROR(status);
    if (next < end) return Fail(Code::kDataLoss, fmt::format("the leaf hash of ledger event {} is missing", next));
    return out;
  }

  Result<std::optional<std::string>> ReadEvent(uint64_t index) override {
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Located located, Locate(index));
    if (!located.found) return std::optional<std::string>();
    const uint64_t position = index - located.first;
    BlobReader data(reader_->handle(), "data", located.first);
    BlobReader ends(reader_->handle(), "ends", located.first);
    if (!data.ok() || !ends.ok()) return Corrupt(located.first, "it cannot be read");
    if (ends.size() != (located.count - 1) * 4) return Corrupt(located.first, "its offsets do not match its count");
    char bytes[4];
    uint64_t begin = 0;
    uint64_t end = data.size();
    if (position > 0) {
      if (!ends.Read((position - 1) * 4, 4, bytes)) return Corrupt(located.first, "its offsets are short");
      begin = ReadLittle32(bytes);
    }
    if (position + 1 < located.count) {
      if (!ends.Read(position * 4, 4, bytes)) return Corrupt(located.first, "its offsets are short");
      end = ReadLittle32(bytes);
    }
    if (begin > end || end > data.size()) return Corrupt(located.first, "its offsets are out of order");
    std::string leaf(end - begin, '\0');
    if (!data.Read(begin, leaf.size(), leaf.data())) return Corrupt(located.first, "its data is short");
    return std::optional<std::string>(std::move(leaf));
  }

  Result<bool> ReadSegment(uint64_t first, bool containing, LedgerSegment& out) override {
    MutexLock lock(reader_->mu());
    // `data` (megabytes) is read with incremental blob I/O straight into `out`: selected as a column,
    // SQLite would first assemble it in a buffer of its own, one more copy of every byte (~5 % of
    // verification's CPU).
    WRIT_ASSIGN_OR_RETURN(Statement query,
                          reader_->Prepare(containing ? "SELECT first_idx, count, ends, hashes FROM ledger_segments "
                                                        "WHERE first_idx <= ? ORDER BY first_idx DESC LIMIT 1"
                                                      : "SELECT first_idx, count, ends, hashes FROM ledger_segments "
                                                        "WHERE first_idx >= ? ORDER BY first_idx LIMIT 1"));
    query.Bind(1, static_cast<int64_t>(first));
    auto has_row = query.Step();
    if (!has_row || !*has_row) {
      query.Reset();
      if (!has_row) return Fail(has_row.error());
      return false;
    }
    out.first = static_cast<uint64_t>(query.ColumnInt(0));
    out.count = static_cast<uint64_t>(query.ColumnInt(1));
    query.ColumnBlobInto(2, out.ends);
    query.ColumnBlobInto(3, out.hashes);
    query.Reset();
    if (containing && first >= out.first + out.count) return false;
    BlobReader data(reader_->handle(), "data", out.first);
    if (!data.ok()) {
      // SQLITE_ERROR: the column holds no blob or text (a NULL, a number); the checks above the
      // store see an empty segment, as they did when `data` was read as a column.
      if (data.rc() != SQLITE_ERROR) {
        return Fail(Code::kUnavailable,
                    fmt::format("cannot read ledger segment at {}: {}", out.first, sqlite3_errmsg(reader_->handle())));
      }
      out.data.clear();
      return true;
    }
    out.data.resize(data.size());  // reuses the buffer: zero-fills only what it grows by
    if (!data.Read(0, out.data.size(), out.data.data())) return Corrupt(out.first, "its data cannot be read");
    return true;
  }

  Result<std::vector<LedgerNodeRow>> Nodes() override {
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement query, reader_->Prepare("SELECT level, idx, hash FROM ledger_nodes"));
    std::vector<LedgerNodeRow> nodes;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
      if (!has_row) return nodes;
      nodes.push_back(LedgerNodeRow{static_cast<int>(query.ColumnInt(0)), static_cast<uint64_t>(query.ColumnInt(1)),
                                    query.ColumnBlob(2)});
    }
  }

  Result<std::vector<LedgerBlockRow>> Blocks(uint64_t first_block, size_t limit) override {
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement query,
                          reader_->Prepare("SELECT block, min_time_ms, max_time_ms, kinds, keys "
                                           "FROM ledger_blocks WHERE block >= ? ORDER BY block LIMIT ?"));
    query.Bind(1, static_cast<int64_t>(first_block)).Bind(2, static_cast<int64_t>(limit));
    std::vector<LedgerBlockRow> blocks;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
      if (!has_row) return blocks;
      blocks.push_back(LedgerBlockRow{static_cast<uint64_t>(query.ColumnInt(0)), query.ColumnInt(1), query.ColumnInt(2),
                                      static_cast<uint64_t>(query.ColumnInt(3)), query.ColumnBlob(4)});
    }
  }

  Status PutCheckpoint(const LedgerCheckpointRow& checkpoint) override {
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    WRIT_ASSIGN_OR_RETURN(Statement insert, db_.Prepare("INSERT INTO ledger_checkpoints VALUES (?,?,?)"));
    insert.Bind(1, static_cast<int64_t>(checkpoint.size)).Bind(2, checkpoint.note).Bind(3, checkpoint.created_ms);
    WRIT_RETURN_IF_ERROR(insert.Run());
    return transaction.Commit();
  }

  Result<std::vector<LedgerCheckpointRow>> Checkpoints() override {
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement query,
                          reader_->Prepare("SELECT size, note, created_ms FROM ledger_checkpoints ORDER BY size"));
    std::vector<LedgerCheckpointRow> checkpoints;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
      if (!has_row) return checkpoints;
      checkpoints.push_back(
          LedgerCheckpointRow{static_cast<uint64_t>(query.ColumnInt(0)), query.ColumnText(1), query.ColumnInt(2)});
    }
  }

  Result<std::optional<LedgerCheckpointRow>> LatestCheckpoint() override {
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement query, reader_->Prepare("SELECT size, note, created_ms FROM ledger_checkpoints "
                                                            "ORDER BY size DESC LIMIT 1"));
    WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
    if (!has_row) return std::optional<LedgerCheckpointRow>();
    return std::optional<LedgerCheckpointRow>(
        LedgerCheckpointRow{static_cast<uint64_t>(query.ColumnInt(0)), query.ColumnText(1), query.ColumnInt(2)});
  }

 private:
  static constexpr std::string_view kSizeSql =
      "SELECT first_idx + count FROM ledger_segments ORDER BY first_idx DESC LIMIT 1";

  struct Located {
    bool found = false;
    uint64_t first = 0;
    uint64_t count = 0;
  };

  // Binds with `bind`, runs and resets `statement` (a cached insert).
  template <class BindFn>
  static Status Run(Statement& statement, const BindFn& bind) {
    statement.Reset();
    bind(statement);
    Status status = statement.Run();
    statement.Reset();
    return status;
  }

  static Result<uint64_t> SizeFrom(Statement& query) {
    query.Reset();
    auto has_row = query.Step();
    const uint64_t size = has_row && *has_row ? static_cast<uint64_t>(query.ColumnInt(0)) : 0;
    query.Reset();
    if (!has_row) return Fail(has_row.error());
    return size;
  }

  // The segment holding event `index`. REQUIRES: reader_->mu() held.
  Result<Located> Locate(uint64_t index) WRIT_REQUIRES(reader_->mu()) {
    WRIT_ASSIGN_OR_RETURN(Statement query, reader_->Prepare("SELECT first_idx, count FROM ledger_segments WHERE "
                                                            "first_idx <= ? ORDER BY first_idx DESC LIMIT 1"));
    query.Bind(1, static_cast<int64_t>(index));
    auto has_row = query.Step();
    Located located;
    if (has_row && *has_row) {
      located.first = static_cast<uint64_t>(query.ColumnInt(0));
      located.count = static_cast<uint64_t>(query.ColumnInt(1));
      located.found = located.count > 0 && index < located.first + located.count;
    }
    query.Reset();
    if (!has_row) return Fail(has_row.error());
    return located;
  }

  Database& db_;
  std::unique_ptr<Database> reader_;
  std::unique_ptr<Checkpointer> checkpointer_;  // null for a read-only database
};

}  // namespace

Result<std::unique_ptr<LedgerStore>> OpenLedgerStore(Database& db, const LedgerStoreOptions& options) {
  WRIT_RETURN_IF_ERROR(db.Migrate("ledger", kMigrations));
  WRIT_ASSIGN_OR_RETURN(std::unique_ptr<Database> reader, Database::Open(db.path(), {.read_only = true}));
  {
    // Reads of big segment blobs through a memory map: no read() call and kernel copy per page.
    MutexLock lock(reader->mu());
    WRIT_RETURN_IF_ERROR(reader->Exec("PRAGMA mmap_size = 1073741824"));
  }
  std::unique_ptr<Checkpointer> checkpointer;
  bool writable = false;
  {
    MutexLock lock(db.mu());
    writable = sqlite3_db_readonly(db.handle(), "main") == 0;
    // journal_size_limit: a WAL that once grew past the bound (a reader held it) shrinks back to
    // it when it starts over.
    if (writable) {
      WRIT_RETURN_IF_ERROR(db.Exec(fmt::format("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {}",
                                               int64_t{options.checkpoint_wal_pages} * 4096 * 2)));
    }
  }
  if (writable) {
    WRIT_ASSIGN_OR_RETURN(std::unique_ptr<Database> connection, Database::Open(db.path()));
    {
      MutexLock lock(connection->mu());
      sqlite3_busy_timeout(connection->handle(), static_cast<int>(kRestartWait.count()));
    }
    checkpointer = std::make_unique<Checkpointer>(std::move(connection), options);
  }
  return std::unique_ptr<LedgerStore>(new SqliteLedgerStore(db, std::move(reader), std::move(checkpointer)));
}

}  // namespace writ::store::sqlite
