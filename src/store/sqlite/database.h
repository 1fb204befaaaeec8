// A thin, safe wrapper over one SQLite database file: WAL mode, synchronous=FULL (an acknowledged
// write survives power loss), prepared statements, transactions and numbered per-component schema
// migrations. Used by the SQLite implementations of the store interfaces; other modules reach
// storage only through those interfaces (store/*.h).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/mutex.h"
#include "common/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace writ::store::sqlite {

struct DatabaseOptions {
  std::chrono::milliseconds busy_timeout{5000};  // wait this long for another writer's lock
  bool read_only = false;
};

class Statement;

// Thread-safety: a Database is one connection guarded by one mutex. Take `Lock` (or use
// `Transaction`) around every use of statements; Statement methods REQUIRE the lock held.
class Database {
 public:
  // Opens (creating if missing) the database at `path` and sets WAL, synchronous=FULL and
  // foreign keys. Errors: kUnavailable if the file cannot be opened or is not a database.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Brings `component`'s schema to version migrations.size(): runs each migration whose number
  // (1-based index) is above the recorded version, each in its own transaction with its record.
  // Errors: kFailedPrecondition if the database records a newer version than the binary knows
  // (the message says to upgrade writd) or an older one on a read-only connection (the message says
  // to start writd once to migrate); kUnavailable if a migration fails.
  Status Migrate(std::string_view component, std::span<const std::string_view> migrations);

  // True when this connection cannot write (opened with read_only).
  bool IsReadOnly();

  // Schema version recorded for `component` (0 if never migrated).
  Result<int64_t> SchemaVersion(std::string_view component);

  // Runs one or more SQL statements without results. REQUIRES: mu() held.
  Status Exec(std::string_view sql) WRIT_REQUIRES(mu_);

  // A compiled statement for `sql`, reset and without bindings. The same text is compiled once:
  // the statement goes back to a cache when the Statement is destroyed (the hot paths, a decision's
  // identity lookup and a ledger commit, then pay no SQL compilation). While one use of a text is
  // under way, another use of it gets a statement of its own; past kMaxCachedStatements distinct
  // texts, statements are not cached. REQUIRES: mu() held while the Statement is used and destroyed.
  Result<Statement> Prepare(std::string_view sql) WRIT_REQUIRES(mu_);
  static constexpr size_t kMaxCachedStatements = 128;

  Mutex& mu() WRIT_RETURN_CAPABILITY(mu_) { return mu_; }
  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }
  // How long this connection waits for another connection's lock (DatabaseOptions::busy_timeout).
  std::chrono::milliseconds busy_timeout() const { return busy_timeout_; }

 private:
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;  // lent out as a Statement
  };
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
  };

  Database(sqlite3* db, std::string path, std::chrono::milliseconds busy_timeout)
      : db_(db), path_(std::move(path)), busy_timeout_(busy_timeout) {}
  Mutex mu_;
  sqlite3* db_;
  std::string path_;
  std::chrono::milliseconds busy_timeout_;
  // Node-based, so the `in_use` flags lent to Statements stay put.
  std::unordered_map<std::string, CachedStatement, TextHash, std::equal_to<>> cache_ WRIT_GUARDED_BY(mu_);
};

// A prepared statement; binds are 1-based, columns 0-based (SQLite's convention).
class Statement {
 public:
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_), cached_in_use_(other.cached_in_use_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindBlob(int index, std::string_view bytes);
  // The same without SQLite's copy of the bytes (SQLITE_STATIC): for big blobs written once.
  // REQUIRES: `bytes` stays valid and unchanged until the statement is reset or rebound.
  Statement& BindBlobUncopied(int index, std::string_view bytes);
  Statement& BindNull(int index);
  Statement& BindOptional(int index, const std::optional<std::string>& text);  // NULL when empty

  // Advances to the next row: true if a row is available, false when done.
  // Errors: kConflict on a UNIQUE/PRIMARY KEY violation; kUnavailable on I/O or busy failures.
  Result<bool> Step();
  // Steps to completion, expecting no rows.
  Status Run();
  // Clears bindings and rewinds, for reuse.
  void Reset();

  int64_t ColumnInt(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;
  // Copies a blob column into `out`, reusing its capacity (no allocation once it is big enough).
  void ColumnBlobInto(int column, std::string& out) const;
  // A view of a blob column, valid until the next Step or Reset.
  std::string_view ColumnBlobView(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* cached_in_use = nullptr)
      : db_(db), stmt_(stmt), cached_in_use_(cached_in_use) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* cached_in_use_;  // set for a statement lent by the Database's cache: reset and returned, not finalized
};

// BEGIN IMMEDIATE on construction (taking db.mu()), ROLLBACK on destruction unless Commit()
// succeeded. Commit returns only once the transaction is durable (synchronous=FULL).
class WRIT_SCOPED_CAPABILITY Transaction {
 public:
  // Errors are reported by Begin: kUnavailable if the write lock cannot be taken.
  explicit Transaction(Database& db) WRIT_ACQUIRE(db.mu());
  ~Transaction() WRIT_RELEASE();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // The analysis cannot see that a Transaction holds db.mu() from construction to destruction.
  Status Begin() WRIT_NO_THREAD_SAFETY_ANALYSIS;
  Status Commit() WRIT_NO_THREAD_SAFETY_ANALYSIS;

 private:
  Database& db_;
  bool open_ = false;
};

}  // namespace writ::store::sqlite
