#include "store/sqlite/database.h"

#include <sqlite3.h>

#include <fmt/format.h>

namespace writ::store::sqlite {
namespace {

Error SqliteError(sqlite3* db, int rc, std::string_view doing) {
  const int primary = rc & 0xff;
  const Code code = primary == SQLITE_CONSTRAINT                            ? Code::kConflict
                    : primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? Code::kDataLoss
                    : primary == SQLITE_TOOBIG                              ? Code::kResourceExhausted
                                                                            : Code::kUnavailable;
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, fmt::format("store: {} failed: {}", doing, detail)};
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const DatabaseOptions& options) {
  sqlite3* db = nullptr;
  const int flags =
      options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error error = SqliteError(db, rc, fmt::format("opening `{}`", path));
    error.code = Code::kUnavailable;
    sqlite3_close(db);
    return Fail(std::move(error));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  std::unique_ptr<Database> database(new Database(db, path, options.busy_timeout));
  MutexLock lock(database->mu_);
  // Checks the file really is a database before anything else touches it.
  auto check = database->Exec("SELECT count(*) FROM sqlite_master");
  if (!check) {
    return Fail(Code::kUnavailable,
                fmt::format("store: `{}` is not a writ database ({})", path, check.error().message));
  }
  if (!options.read_only) {
    WRIT_RETURN_IF_ERROR(database->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
    WRIT_RETURN_IF_ERROR(
        database->Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                       "  component TEXT NOT NULL, version INTEGER NOT NULL, applied_at_ms INTEGER NOT NULL,"
                       "  PRIMARY KEY (component, version))"));
  }
  return database;
}

Database::~Database() {
  for (auto& [text, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close_v2(db_);
}

Status Database::Exec(std::string_view sql) {
  char* message = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    Error error = SqliteError(nullptr, rc, "statement");
    error.message = fmt::format("store: statement failed: {}", detail);
    return Fail(std::move(error));
  }
  return Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  auto found = cache_.find(sql);
  if (found != cache_.end() && !found->second.in_use) {
    found->second.in_use = true;
    return Statement(db_, found->second.stmt, &found->second.in_use);
  }
  const bool cache = found == cache_.end() && cache_.size() < kMaxCachedStatements;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) return Fail(SqliteError(db_, rc, "preparing a statement"));
  if (!cache) return Statement(db_, stmt);
  CachedStatement& cached = cache_.emplace(std::string(sql), CachedStatement{stmt, true}).first->second;
  return Statement(db_, stmt, &cached.in_use);
}

Result<int64_t> Database::SchemaVersion(std::string_view component) {
  MutexLock lock(mu_);
  WRIT_ASSIGN_OR_RETURN(Statement query,
                        Prepare("SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = ?"));
  query.Bind(1, component);
  WRIT_ASSIGN_OR_RETURN(bool has_row, query.Step());
  return has_row ? query.ColumnInt(0) : 0;
}

bool Database::IsReadOnly() {
  MutexLock lock(mu_);
  return sqlite3_db_readonly(db_, "main") == 1;
}

Status Database::Migrate(std::string_view component, std::span<const std::string_view> migrations) {
  WRIT_ASSIGN_OR_RETURN(const int64_t current, SchemaVersion(component));
  const auto known = static_cast<int64_t>(migrations.size());
  if (current > known) {
    return Fail(Code::kFailedPrecondition,
                fmt::format("store: the `{}` schema in `{}` is version {} but this binary knows only version {}; "
                            "upgrade writd or use a data directory made by this version",
                            component, path_, current, known));
  }
  if (current < known && IsReadOnly()) {
    // A read-only opener (offline `writ audit verify`) cannot migrate: say what to do, not SQLite's
    // "attempt to write a readonly database".
    return Fail(Code::kFailedPrecondition,
                fmt::format("store: the `{}` schema in `{}` is version {}, older than this binary's version {}, "
                            "and it is open read-only; start writd once on this data directory to migrate it",
                            component, path_, current, known));
  }
  for (int64_t version = current + 1; version <= known; ++version) {
    Transaction transaction(*this);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    WRIT_RETURN_IF_ERROR(Exec(migrations[static_cast<size_t>(version - 1)]));
    WRIT_ASSIGN_OR_RETURN(Statement record, Prepare("INSERT INTO schema_migrations VALUES (?, ?, "
                                                    "CAST(strftime('%s','now') AS INTEGER) * 1000)"));
    record.Bind(1, component).Bind(2, version);
    WRIT_RETURN_IF_ERROR(record.Run());
    WRIT_RETURN_IF_ERROR(transaction.Commit());
  }
  return Ok();
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (cached_in_use_ == nullptr) {
    sqlite3_finalize(stmt_);
    return;
  }
  // Back to the cache as new: no open read, no binding left pointing at the caller's bytes.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *cached_in_use_ = false;
}

Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindBlobUncopied(int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::BindOptional(int index, const std::optional<std::string>& text) {
  return text ? Bind(index, std::string_view(*text)) : BindNull(index);
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Fail(SqliteError(db_, rc, "a statement"));
}

Status Statement::Run() {
  WRIT_ASSIGN_OR_RETURN(const bool has_row, Step());
  (void)has_row;
  return Ok();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::ColumnText(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::string Statement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  return blob == nullptr ? std::string() : std::string(static_cast<const char*>(blob), static_cast<size_t>(size));
}

void Statement::ColumnBlobInto(int column, std::string& out) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (blob == nullptr) {
    out.clear();
  } else {
    out.assign(static_cast<const char*>(blob), static_cast<size_t>(size));
  }
}

std::string_view Statement::ColumnBlobView(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  return blob == nullptr ? std::string_view()
                         : std::string_view(static_cast<const char*>(blob), static_cast<size_t>(size));
}

bool Statement::ColumnIsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

namespace {
// Runs one statement without results through the connection's statement cache: a transaction's
// BEGIN and COMMIT are not parsed and compiled again for every commit (sqlite3_exec did that, on
// the ledger writer's path once per group commit). REQUIRES: db.mu() held.
Status RunCached(Database& db, std::string_view sql) WRIT_NO_THREAD_SAFETY_ANALYSIS {
  WRIT_ASSIGN_OR_RETURN(Statement statement, db.Prepare(sql));
  return statement.Run();
}
}  // namespace

Transaction::Transaction(Database& db) : db_(db) { db_.mu().Lock(); }

Transaction::~Transaction() WRIT_NO_THREAD_SAFETY_ANALYSIS {
  if (open_) (void)RunCached(db_, "ROLLBACK");
  db_.mu().Unlock();
}

Status Transaction::Begin() WRIT_NO_THREAD_SAFETY_ANALYSIS {
  WRIT_RETURN_IF_ERROR(RunCached(db_, "BEGIN IMMEDIATE"));
  open_ = true;
  return Ok();
}

Status Transaction::Commit() WRIT_NO_THREAD_SAFETY_ANALYSIS {
  WRIT_RETURN_IF_ERROR(RunCached(db_, "COMMIT"));
  open_ = false;
  return Ok();
}

}  // namespace writ::store::sqlite
