#include "store/sqlite/policy_store.h"

#include <array>

namespace writ::store::sqlite {
namespace {

// Numbered migrations of the `policy` component: append only, never edit a released one.
constexpr std::array<std::string_view, 2> kMigrations = {
    R"sql(
CREATE TABLE policy_versions (
  version INTEGER PRIMARY KEY, content_hash TEXT NOT NULL, author TEXT NOT NULL, reason TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL, source TEXT NOT NULL);
CREATE TABLE policy_activations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL REFERENCES policy_versions (version),
  author TEXT NOT NULL, reason TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE TABLE approvals (
  id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at_ms INTEGER NOT NULL, document TEXT NOT NULL);
CREATE INDEX approvals_by_state ON approvals (state, created_at_ms);
)sql",
    // The version staged for shadow evaluation (at most one row).
    R"sql(
CREATE TABLE policy_staging (
  id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL REFERENCES policy_versions (version),
  author TEXT NOT NULL, reason TEXT NOT NULL, at_ms INTEGER NOT NULL);
)sql",
};

class SqlitePolicyStore final : public PolicyStore {
 public:
  explicit SqlitePolicyStore(Database& db) : db_(db) {}

  Result<int64_t> AddVersion(const PolicyVersionRecord& record) override {
    Transaction tx(db_);
    WRIT_RETURN_IF_ERROR(tx.Begin());
    int64_t next = 1;
    {
      WRIT_ASSIGN_OR_RETURN(Statement max, db_.Prepare("SELECT COALESCE(MAX(version), 0) FROM policy_versions"));
      WRIT_ASSIGN_OR_RETURN(const bool row, max.Step());
      if (row) next = max.ColumnInt(0) + 1;
    }
    {
      WRIT_ASSIGN_OR_RETURN(Statement insert, db_.Prepare("INSERT INTO policy_versions VALUES (?,?,?,?,?,?)"));
      insert.Bind(1, next).Bind(2, record.content_hash).Bind(3, record.author).Bind(4, record.reason);
      insert.Bind(5, record.created_at_ms).Bind(6, record.source);
      WRIT_RETURN_IF_ERROR(insert.Run());
    }
    WRIT_RETURN_IF_ERROR(tx.Commit());
    return next;
  }

  Result<std::optional<PolicyVersionRecord>> GetVersion(int64_t version) override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement select, db_.Prepare("SELECT version, content_hash, author, reason, created_at_ms, "
                                                        "source FROM policy_versions WHERE version = ?"));
    select.Bind(1, version);
    WRIT_ASSIGN_OR_RETURN(const bool row, select.Step());
    if (!row) return std::optional<PolicyVersionRecord>();
    PolicyVersionRecord record = Read(select);
    record.source = select.ColumnText(5);
    return std::optional<PolicyVersionRecord>(std::move(record));
  }

  Result<std::vector<PolicyVersionRecord>> ListVersions() override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement select, db_.Prepare("SELECT version, content_hash, author, reason, created_at_ms "
                                                        "FROM policy_versions ORDER BY version"));
    std::vector<PolicyVersionRecord> out;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const bool row, select.Step());
      if (!row) break;
      out.push_back(Read(select));
    }
    return out;
  }

  Status AddActivation(const ActivationRecord& record) override {
    Transaction tx(db_);
    WRIT_RETURN_IF_ERROR(tx.Begin());
    {
      WRIT_ASSIGN_OR_RETURN(
          Statement insert,
          db_.Prepare("INSERT INTO policy_activations (version, author, reason, at_ms) VALUES (?,?,?,?)"));
      insert.Bind(1, record.version).Bind(2, record.author).Bind(3, record.reason).Bind(4, record.at_ms);
      WRIT_RETURN_IF_ERROR(insert.Run());
    }
    return tx.Commit();
  }

  Result<std::vector<ActivationRecord>> Activations() override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement select,
                          db_.Prepare("SELECT version, author, reason, at_ms FROM policy_activations ORDER BY seq"));
    std::vector<ActivationRecord> out;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const bool row, select.Step());
      if (!row) break;
      out.push_back({select.ColumnInt(0), select.ColumnText(1), select.ColumnText(2), select.ColumnInt(3)});
    }
    return out;
  }

  Status PutStaging(const std::optional<StagingRecord>& staging) override {
    Transaction tx(db_);
    WRIT_RETURN_IF_ERROR(tx.Begin());
    {
      WRIT_ASSIGN_OR_RETURN(Statement clear, db_.Prepare("DELETE FROM policy_staging"));
      WRIT_RETURN_IF_ERROR(clear.Run());
    }
    if (staging) {
      WRIT_ASSIGN_OR_RETURN(Statement insert, db_.Prepare("INSERT INTO policy_staging VALUES (1,?,?,?,?)"));
      insert.Bind(1, staging->version).Bind(2, staging->author).Bind(3, staging->reason).Bind(4, staging->at_ms);
      WRIT_RETURN_IF_ERROR(insert.Run());
    }
    return tx.Commit();
  }

  Result<std::optional<StagingRecord>> Staging() override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement select, db_.Prepare("SELECT version, author, reason, at_ms FROM policy_staging"));
    WRIT_ASSIGN_OR_RETURN(const bool row, select.Step());
    if (!row) return std::optional<StagingRecord>();
    return std::optional<StagingRecord>(
        StagingRecord{select.ColumnInt(0), select.ColumnText(1), select.ColumnText(2), select.ColumnInt(3)});
  }

  Status PutApproval(const ApprovalRecord& record) override {
    Transaction tx(db_);
    WRIT_RETURN_IF_ERROR(tx.Begin());
    {
      WRIT_ASSIGN_OR_RETURN(Statement upsert, db_.Prepare("INSERT OR REPLACE INTO approvals VALUES (?,?,?,?)"));
      upsert.Bind(1, record.id).Bind(2, record.state).Bind(3, record.created_at_ms).Bind(4, record.document);
      WRIT_RETURN_IF_ERROR(upsert.Run());
    }
    return tx.Commit();
  }

  Result<std::optional<ApprovalRecord>> GetApproval(const std::string& id) override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement select,
                          db_.Prepare("SELECT id, state, created_at_ms, document FROM approvals WHERE id = ?"));
    select.Bind(1, id);
    WRIT_ASSIGN_OR_RETURN(const bool row, select.Step());
    if (!row) return std::optional<ApprovalRecord>();
    return std::optional<ApprovalRecord>(ReadApproval(select));
  }

  Result<std::vector<ApprovalRecord>> ListApprovals(const std::string& state, int64_t limit) override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(
        Statement select,
        db_.Prepare("SELECT id, state, created_at_ms, document FROM approvals WHERE (? = '' OR state = ?) "
                    "ORDER BY created_at_ms DESC, id DESC LIMIT ?"));
    select.Bind(1, state).Bind(2, state).Bind(3, limit);
    std::vector<ApprovalRecord> out;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const bool row, select.Step());
      if (!row) break;
      out.push_back(ReadApproval(select));
    }
    return out;
  }

 private:
  static PolicyVersionRecord Read(const Statement& row) {
    PolicyVersionRecord record;
    record.version = row.ColumnInt(0);
    record.content_hash = row.ColumnText(1);
    record.author = row.ColumnText(2);
    record.reason = row.ColumnText(3);
    record.created_at_ms = row.ColumnInt(4);
    return record;
  }
  static ApprovalRecord ReadApproval(const Statement& row) {
    ApprovalRecord record;
    record.id = row.ColumnText(0);
    record.state = row.ColumnText(1);
    record.created_at_ms = row.ColumnInt(2);
    record.document = row.ColumnText(3);
    return record;
  }

  Database& db_;
};

}  // namespace

Result<std::unique_ptr<PolicyStore>> OpenPolicyStore(Database& db) {
  WRIT_RETURN_IF_ERROR(db.Migrate("policy", kMigrations));
  return std::unique_ptr<PolicyStore>(new SqlitePolicyStore(db));
}

}  // namespace writ::store::sqlite
