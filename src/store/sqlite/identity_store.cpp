#include "store/sqlite/identity_store.h"

#include <array>
#include <memory>

#include <fmt/format.h>

#include "store/sqlite/identity_cache.h"

namespace writ::store::sqlite {
namespace {

// Numbered migrations of the `identity` component: append only, never edit a released one.
constexpr std::array<std::string_view, 1> kMigrations = {
    R"sql(
CREATE TABLE identity_versions (
  kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
  state TEXT NOT NULL, owner TEXT NOT NULL, tier TEXT NOT NULL,
  document TEXT NOT NULL, change TEXT NOT NULL, author TEXT NOT NULL, reason TEXT NOT NULL,
  changed_at_ms INTEGER NOT NULL,
  PRIMARY KEY (kind, name, version));
CREATE TABLE identities (
  kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
  state TEXT NOT NULL, owner TEXT NOT NULL, tier TEXT NOT NULL,
  PRIMARY KEY (kind, name),
  FOREIGN KEY (kind, name, version) REFERENCES identity_versions (kind, name, version));
CREATE INDEX identities_by_owner ON identities (kind, owner, name);
CREATE INDEX identities_by_state ON identities (kind, state, name);
)sql",
};

constexpr std::string_view kColumns =
    "v.kind, v.name, v.version, v.state, v.owner, v.tier, v.document, v.change, v.author, v.reason, v.changed_at_ms";

IdentityRecord ReadRecord(const Statement& row) {
  IdentityRecord record;
  record.kind = row.ColumnText(0);
  record.name = row.ColumnText(1);
  record.version = row.ColumnInt(2);
  record.state = row.ColumnText(3);
  record.owner = row.ColumnText(4);
  record.tier = row.ColumnText(5);
  record.document = row.ColumnText(6);
  record.change = row.ColumnText(7);
  record.author = row.ColumnText(8);
  record.reason = row.ColumnText(9);
  record.changed_at_ms = row.ColumnInt(10);
  return record;
}

Status InsertVersion(Database& db, const IdentityRecord& record) WRIT_REQUIRES(db.mu()) {
  WRIT_ASSIGN_OR_RETURN(Statement insert, db.Prepare("INSERT INTO identity_versions VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
  insert.Bind(1, record.kind).Bind(2, record.name).Bind(3, record.version).Bind(4, record.state);
  insert.Bind(5, record.owner).Bind(6, record.tier).Bind(7, record.document).Bind(8, record.change);
  insert.Bind(9, record.author).Bind(10, record.reason).Bind(11, record.changed_at_ms);
  return insert.Run();
}

Result<std::vector<IdentityRecord>> Collect(Statement& query) {
  std::vector<IdentityRecord> records;
  while (true) {
    WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
    if (!has_row) return records;
    records.push_back(ReadRecord(query));
  }
}

class SqliteIdentityStore final : public IdentityStore {
 public:
  explicit SqliteIdentityStore(Database& db) : db_(db) {}

  Status Create(const IdentityRecord& record) override {
    if (record.version != 1) return Fail(Code::kInvalidArgument, "a new identity starts at version 1");
    return Written(record, CreateRow(record));
  }

  Status Append(const IdentityRecord& record) override { return Written(record, AppendRow(record)); }

  Result<std::optional<IdentityRecord>> Latest(const std::string& kind, const std::string& name) override {
    if (auto cached = cache_.Find(kind, name)) return std::optional<IdentityRecord>(*cached);
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement query,
                          db_.Prepare(fmt::format("SELECT {} FROM identities i JOIN identity_versions v USING "
                                                  "(kind, name, version) WHERE i.kind = ? AND i.name = ?",
                                                  kColumns)));
    query.Bind(1, kind).Bind(2, name);
    WRIT_ASSIGN_OR_RETURN(const bool found, query.Step());
    if (!found) return std::optional<IdentityRecord>();
    IdentityRecord record = ReadRecord(query);
    // Still under the database's lock: no write can commit between this read and the fill (and
    // a fill never replaces a newer version anyway).
    cache_.Put(record);
    return std::optional<IdentityRecord>(std::move(record));
  }

  Result<std::vector<IdentityRecord>> List(const IdentityQuery& filter) override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(
        Statement query,
        db_.Prepare(fmt::format("SELECT {} FROM identities i JOIN identity_versions v USING (kind, name, version) "
                                "WHERE i.kind = ?1 AND i.name > ?2 AND (?3 IS NULL OR i.state = ?3) "
                                "AND (?4 IS NULL OR i.owner = ?4) AND (?5 IS NULL OR i.tier = ?5) "
                                "ORDER BY i.name LIMIT ?6",
                                kColumns)));
    query.Bind(1, filter.kind).Bind(2, filter.after_name).BindOptional(3, filter.state).BindOptional(4, filter.owner);
    query.BindOptional(5, filter.tier).Bind(6, filter.limit);
    return Collect(query);
  }

  Result<std::vector<IdentityRecord>> History(const std::string& kind, const std::string& name) override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement query,
                          db_.Prepare(fmt::format("SELECT {} FROM identity_versions v WHERE v.kind = ? AND v.name = ? "
                                                  "ORDER BY v.version",
                                                  kColumns)));
    query.Bind(1, kind).Bind(2, name);
    return Collect(query);
  }

 private:
  // After a write: the committed record becomes the cached latest; on any failure (even one whose
  // commit may have reached the disk) the entry is dropped, so the next read asks the database.
  Status Written(const IdentityRecord& record, Status written) {
    if (written) {
      cache_.Put(record);
    } else {
      cache_.Drop(record.kind, record.name);
    }
    return written;
  }

  Status CreateRow(const IdentityRecord& record) {
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    // The version row goes first: the identities row references it.
    auto inserted = InsertVersion(db_, record);
    if (inserted) {
      WRIT_ASSIGN_OR_RETURN(Statement insert, db_.Prepare("INSERT INTO identities VALUES (?,?,?,?,?,?)"));
      insert.Bind(1, record.kind).Bind(2, record.name).Bind(3, record.version);
      insert.Bind(4, record.state).Bind(5, record.owner).Bind(6, record.tier);
      inserted = insert.Run();
    }
    if (!inserted && inserted.error().code == Code::kConflict) {
      return Fail(Code::kConflict, fmt::format("{} `{}` already exists", record.kind, record.name));
    }
    WRIT_RETURN_IF_ERROR(inserted);
    return transaction.Commit();
  }

  Status AppendRow(const IdentityRecord& record) {
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    WRIT_ASSIGN_OR_RETURN(Statement current, db_.Prepare("SELECT version FROM identities WHERE kind = ? AND name = ?"));
    current.Bind(1, record.kind).Bind(2, record.name);
    WRIT_ASSIGN_OR_RETURN(const bool exists, current.Step());
    if (!exists) return Fail(Code::kNotFound, fmt::format("{} `{}` not found", record.kind, record.name));
    if (current.ColumnInt(0) != record.version - 1) {
      return Fail(Code::kConflict, fmt::format("{} `{}` changed concurrently (now at version {}); retry",
                                               record.kind, record.name, current.ColumnInt(0)));
    }
    WRIT_RETURN_IF_ERROR(InsertVersion(db_, record));
    WRIT_ASSIGN_OR_RETURN(Statement update, db_.Prepare("UPDATE identities SET version = ?, state = ?, owner = ?, tier = ? "
                                                        "WHERE kind = ? AND name = ?"));
    update.Bind(1, record.version).Bind(2, record.state).Bind(3, record.owner).Bind(4, record.tier);
    update.Bind(5, record.kind).Bind(6, record.name);
    WRIT_RETURN_IF_ERROR(update.Run());
    return transaction.Commit();
  }

  Database& db_;
  IdentityCache cache_;  // the latest records (identity_cache.h)
};

}  // namespace

std::shared_ptr<const IdentityRecord> IdentityCache::Find(const std::string& kind, const std::string& name) {
  const std::string key = IdentityKey(kind, name);
  MutexLock lock(mu_);
  const auto found = entries_.find(key);
  return found == entries_.end() ? nullptr : found->second;
}

void IdentityCache::Put(const IdentityRecord& record) {
  auto entry = std::make_shared<const IdentityRecord>(record);
  std::string key = IdentityKey(record.kind, record.name);
  MutexLock lock(mu_);
  const auto found = entries_.find(key);
  if (found != entries_.end()) {
    if (found->second->version <= record.version) found->second = std::move(entry);
    return;
  }
  if (entries_.size() >= capacity_) entries_.erase(entries_.begin());
  entries_.emplace(std::move(key), std::move(entry));
}

void IdentityCache::Drop(const std::string& kind, const std::string& name) {
  const std::string key = IdentityKey(kind, name);
  MutexLock lock(mu_);
  entries_.erase(key);
}

size_t IdentityCache::size() {
  MutexLock lock(mu_);
  return entries_.size();
}

Result<std::unique_ptr<IdentityStore>> OpenIdentityStore(Database& db) {
  WRIT_RETURN_IF_ERROR(db.Migrate("identity", kMigrations));
  return std::unique_ptr<IdentityStore>(new SqliteIdentityStore(db));
}

}  // namespace writ::store::sqlite
