// SQLite backend of LedgerStore. Schema: docs/ledger_format.md.
#include <array>
#include <optional>

#include <fmt/format.h>

#include "store/ledger_store.h"
#include "store/sqlite/database.h"

namespace writ::store::sqlite {
namespace {

// Numbered migrations of the `ledger` component: append only, never edit a released one.
constexpr std::array<std::string_view, 1> kMigrations = {
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
};

constexpr std::string_view kRowColumns = "idx, id, time_ms, kind, subject, correlation_id, data, leaf_hash";
constexpr int64_t kScanChunk = 4096;
constexpr int64_t kMaxQueryLimit = 10000;

LedgerRow ReadRow(const Statement& row) {
  LedgerRow out;
  out.index = static_cast<uint64_t>(row.ColumnInt(0));
  out.id = row.ColumnText(1);
  out.time_ms = row.ColumnInt(2);
  out.kind = row.ColumnText(3);
  out.subject = row.ColumnText(4);
  out.correlation_id = row.ColumnText(5);
  out.data = row.ColumnBlob(6);
  out.leaf_hash = row.ColumnBlob(7);
  return out;
}

Result<std::vector<LedgerRow>> Collect(Statement& query) {
  std::vector<LedgerRow> rows;
  while (true) {
    WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
    if (!has_row) return rows;
    rows.push_back(ReadRow(query));
  }
}

class SqliteLedgerStore final : public LedgerStore {
 public:
  SqliteLedgerStore(Database& db, std::unique_ptr<Database> reader) : db_(db), reader_(std::move(reader)) {}

  Status Append(std::span<const LedgerRow> rows, std::span<const LedgerNodeRow> nodes) override {
    if (rows.empty() && nodes.empty()) return Ok();
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    if (!insert_event_) {
      WRIT_ASSIGN_OR_RETURN(Statement statement, db_.Prepare("INSERT INTO ledger_events VALUES (?,?,?,?,?,?,?,?)"));
      insert_event_.emplace(std::move(statement));
      WRIT_ASSIGN_OR_RETURN(Statement node, db_.Prepare("INSERT INTO ledger_nodes VALUES (?,?,?)"));
      insert_node_.emplace(std::move(node));
      WRIT_ASSIGN_OR_RETURN(Statement size, db_.Prepare("SELECT coalesce(max(idx) + 1, 0) FROM ledger_events"));
      size_.emplace(std::move(size));
    }
    if (!rows.empty()) {
      size_->Reset();
      WRIT_ASSIGN_OR_RETURN(const bool has_row, size_->Step());
      const uint64_t size = has_row ? static_cast<uint64_t>(size_->ColumnInt(0)) : 0;
      size_->Reset();
      if (rows.front().index != size) {
        return Fail(Code::kConflict, fmt::format("ledger append at {} but the store holds {} events",
                                                 rows.front().index, size));
      }
    }
    for (const LedgerRow& row : rows) {
      Statement& insert = *insert_event_;
      insert.Reset();
      insert.Bind(1, static_cast<int64_t>(row.index)).Bind(2, row.id).Bind(3, row.time_ms).Bind(4, row.kind);
      insert.Bind(5, row.subject).Bind(6, row.correlation_id).BindBlob(7, row.data).BindBlob(8, row.leaf_hash);
      auto inserted = insert.Run();
      insert.Reset();
      WRIT_RETURN_IF_ERROR(inserted);
    }
    for (const LedgerNodeRow& node : nodes) {
      Statement& insert = *insert_node_;
      insert.Reset();
      insert.Bind(1, int64_t{node.level}).Bind(2, static_cast<int64_t>(node.index)).BindBlob(3, node.hash);
      auto inserted = insert.Run();
      insert.Reset();
      WRIT_RETURN_IF_ERROR(inserted);
    }
    return transaction.Commit();
  }

  Result<uint64_t> Size() override {
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement query, reader_->Prepare("SELECT coalesce(max(idx) + 1, 0) FROM ledger_events"));
    WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
    return has_row ? static_cast<uint64_t>(query.ColumnInt(0)) : 0;
  }

  Result<std::vector<std::string>> LeafHashes(uint64_t begin, uint64_t end) override {
    MutexLock lock(reader_->mu());
    if (!leaf_hashes_) {
      WRIT_ASSIGN_OR_RETURN(Statement statement,
                            reader_->Prepare("SELECT idx, leaf_hash FROM ledger_events WHERE idx >= ? AND idx < ? ORDER BY idx"));
      leaf_hashes_.emplace(std::move(statement));
    }
    Statement& query = *leaf_hashes_;
    query.Reset();
    query.Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
    std::vector<std::string> hashes;
    hashes.reserve(end - begin);
    while (true) {
      auto has_row = query.Step();
      if (!has_row) {
        query.Reset();
        return Fail(has_row.error());
      }
      if (!*has_row) break;
      if (static_cast<uint64_t>(query.ColumnInt(0)) != begin + hashes.size()) {
        query.Reset();
        return Fail(Code::kDataLoss, fmt::format("ledger event {} is missing", begin + hashes.size()));
      }
      hashes.push_back(query.ColumnBlob(1));
    }
    query.Reset();
    if (hashes.size() != end - begin) {
      return Fail(Code::kDataLoss, fmt::format("ledger event {} is missing", begin + hashes.size()));
    }
    return hashes;
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

  Result<std::optional<LedgerRow>> Get(uint64_t index) override {
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement query,
                          reader_->Prepare(fmt::format("SELECT {} FROM ledger_events WHERE idx = ?", kRowColumns)));
    query.Bind(1, static_cast<int64_t>(index));
    WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
    if (!has_row) return std::optional<LedgerRow>();
    return std::optional<LedgerRow>(ReadRow(query));
  }

  Result<std::optional<LedgerRow>> FindById(const std::string& id) override {
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement query,
                          reader_->Prepare(fmt::format("SELECT {} FROM ledger_events WHERE id = ?", kRowColumns)));
    query.Bind(1, id);
    WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
    if (!has_row) return std::optional<LedgerRow>();
    return std::optional<LedgerRow>(ReadRow(query));
  }

  Status Scan(uint64_t begin, const std::function<bool(const LedgerRow&)>& visit) override {
    // Chunks keyed by idx, so a long visit never holds the read lock or a read transaction.
    uint64_t next = begin;
    while (true) {
      std::vector<LedgerRow> chunk;
      {
        MutexLock lock(reader_->mu());
        WRIT_ASSIGN_OR_RETURN(Statement query,
                              reader_->Prepare(fmt::format("SELECT {} FROM ledger_events WHERE idx >= ? "
                                                           "ORDER BY idx LIMIT ?", kRowColumns)));
        query.Bind(1, static_cast<int64_t>(next)).Bind(2, kScanChunk);
        WRIT_ASSIGN_OR_RETURN(chunk, Collect(query));
      }
      for (const LedgerRow& row : chunk) {
        if (!visit(row)) return Ok();
      }
      if (chunk.size() < static_cast<size_t>(kScanChunk)) return Ok();
      next = chunk.back().index + 1;
    }
  }

  Result<std::vector<LedgerRow>> Query(const LedgerQuery& query) override {
    std::string sql = fmt::format("SELECT {} FROM ledger_events WHERE idx >= ?", kRowColumns);
    if (query.subject) sql += " AND subject = ?";
    if (query.kind) sql += " AND kind = ?";
    if (query.correlation_id) sql += " AND correlation_id = ?";
    if (query.from_ms) sql += " AND time_ms >= ?";
    if (query.to_ms) sql += " AND time_ms < ?";
    sql += " ORDER BY idx LIMIT ?";
    MutexLock lock(reader_->mu());
    WRIT_ASSIGN_OR_RETURN(Statement statement, reader_->Prepare(sql));
    int bind = 1;
    statement.Bind(bind++, static_cast<int64_t>(query.after_index));
    if (query.subject) statement.Bind(bind++, *query.subject);
    if (query.kind) statement.Bind(bind++, *query.kind);
    if (query.correlation_id) statement.Bind(bind++, *query.correlation_id);
    if (query.from_ms) statement.Bind(bind++, *query.from_ms);
    if (query.to_ms) statement.Bind(bind++, *query.to_ms);
    statement.Bind(bind, std::clamp<int64_t>(query.limit, 0, kMaxQueryLimit));
    return Collect(statement);
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
  Database& db_;
  std::unique_ptr<Database> reader_;
  // Cached statements: insert_* and size_ are used only inside a Transaction on db_ (its mutex
  // held); leaf_hashes_ only with reader_'s mutex held.
  std::optional<Statement> insert_event_;
  std::optional<Statement> insert_node_;
  std::optional<Statement> size_;
  std::optional<Statement> leaf_hashes_;
};

}  // namespace

Result<std::unique_ptr<LedgerStore>> OpenLedgerStore(Database& db) {
  WRIT_RETURN_IF_ERROR(db.Migrate("ledger", kMigrations));
  WRIT_ASSIGN_OR_RETURN(std::unique_ptr<Database> reader, Database::Open(db.path(), {.read_only = true}));
  return std::unique_ptr<LedgerStore>(new SqliteLedgerStore(db, std::move(reader)));
}

}  // namespace writ::store::sqlite
