#include "store/sqlite/token_store.h"

#include <array>

#include <fmt/format.h>

namespace writ::store::sqlite {
namespace {

// Numbered migrations of the `token` component: append only, never edit a released one.
constexpr std::array<std::string_view, 1> kMigrations = {
    R"sql(
CREATE TABLE token_signing_keys (
  kid TEXT PRIMARY KEY, algorithm TEXT NOT NULL, sealed_private_key BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL, retired_at_ms INTEGER NOT NULL, sequence INTEGER NOT NULL);
CREATE TABLE token_jti_revocations (
  jti TEXT PRIMARY KEY, subject TEXT NOT NULL, expires_at_ms INTEGER NOT NULL, revoked_at_ms INTEGER NOT NULL);
CREATE INDEX token_jti_revocations_by_expiry ON token_jti_revocations (expires_at_ms);
CREATE TABLE token_subject_revocations (
  subject TEXT PRIMARY KEY, revoked_before_s INTEGER NOT NULL);
)sql",
};

class SqliteTokenStore final : public TokenStore {
 public:
  explicit SqliteTokenStore(Database& db) : db_(db) {}

  Status AddSigningKey(const SigningKeyRecord& record, const std::string& retire_kid) override {
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    if (!retire_kid.empty()) {
      WRIT_ASSIGN_OR_RETURN(Statement retire,
                            db_.Prepare("UPDATE token_signing_keys SET retired_at_ms = ? WHERE kid = ? AND retired_at_ms = 0"));
      retire.Bind(1, record.created_at_ms).Bind(2, retire_kid);
      WRIT_RETURN_IF_ERROR(retire.Run());
    }
    WRIT_ASSIGN_OR_RETURN(Statement insert, db_.Prepare("INSERT INTO token_signing_keys VALUES (?,?,?,?,?,?)"));
    insert.Bind(1, record.kid).Bind(2, record.algorithm).BindBlob(3, record.sealed_private_key);
    insert.Bind(4, record.created_at_ms).Bind(5, record.retired_at_ms).Bind(6, record.sequence);
    auto inserted = insert.Run();
    if (!inserted && inserted.error().code == Code::kConflict) {
      return Fail(Code::kConflict, fmt::format("signing key `{}` already exists", record.kid));
    }
    WRIT_RETURN_IF_ERROR(inserted);
    return transaction.Commit();
  }

  Result<std::vector<SigningKeyRecord>> SigningKeys() override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement query,
                          db_.Prepare("SELECT kid, algorithm, sealed_private_key, created_at_ms, retired_at_ms, sequence "
                                      "FROM token_signing_keys ORDER BY sequence"));
    std::vector<SigningKeyRecord> records;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
      if (!has_row) return records;
      records.push_back({query.ColumnText(0), query.ColumnText(1), query.ColumnBlob(2), query.ColumnInt(3),
                         query.ColumnInt(4), query.ColumnInt(5)});
    }
  }

  Status DeleteRetiredKeys(int64_t retired_before_ms) override {
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    WRIT_ASSIGN_OR_RETURN(Statement remove,
                          db_.Prepare("DELETE FROM token_signing_keys WHERE retired_at_ms > 0 AND retired_at_ms < ?"));
    remove.Bind(1, retired_before_ms);
    WRIT_RETURN_IF_ERROR(remove.Run());
    return transaction.Commit();
  }

  Status RevokeJti(const JtiRevocation& revocation) override {
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    WRIT_ASSIGN_OR_RETURN(Statement insert, db_.Prepare("INSERT OR IGNORE INTO token_jti_revocations VALUES (?,?,?,?)"));
    insert.Bind(1, revocation.jti).Bind(2, revocation.subject).Bind(3, revocation.expires_at_ms);
    insert.Bind(4, revocation.revoked_at_ms);
    WRIT_RETURN_IF_ERROR(insert.Run());
    return transaction.Commit();
  }

  Status RevokeSubject(const SubjectRevocation& revocation) override {
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    WRIT_ASSIGN_OR_RETURN(Statement upsert,
                          db_.Prepare("INSERT INTO token_subject_revocations VALUES (?1, ?2) ON CONFLICT (subject) DO "
                                      "UPDATE SET revoked_before_s = max(revoked_before_s, ?2)"));
    upsert.Bind(1, revocation.subject).Bind(2, revocation.revoked_before_s);
    WRIT_RETURN_IF_ERROR(upsert.Run());
    return transaction.Commit();
  }

  Result<std::vector<JtiRevocation>> JtiRevocations() override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement query,
                          db_.Prepare("SELECT jti, subject, expires_at_ms, revoked_at_ms FROM token_jti_revocations"));
    std::vector<JtiRevocation> records;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
      if (!has_row) return records;
      records.push_back({query.ColumnText(0), query.ColumnText(1), query.ColumnInt(2), query.ColumnInt(3)});
    }
  }

  Result<std::vector<SubjectRevocation>> SubjectRevocations() override {
    MutexLock lock(db_.mu());
    WRIT_ASSIGN_OR_RETURN(Statement query, db_.Prepare("SELECT subject, revoked_before_s FROM token_subject_revocations"));
    std::vector<SubjectRevocation> records;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const bool has_row, query.Step());
      if (!has_row) return records;
      records.push_back({query.ColumnText(0), query.ColumnInt(1)});
    }
  }

  Status PruneJtiRevocations(int64_t now_ms) override {
    Transaction transaction(db_);
    WRIT_RETURN_IF_ERROR(transaction.Begin());
    WRIT_ASSIGN_OR_RETURN(Statement remove, db_.Prepare("DELETE FROM token_jti_revocations WHERE expires_at_ms < ?"));
    remove.Bind(1, now_ms);
    WRIT_RETURN_IF_ERROR(remove.Run());
    return transaction.Commit();
  }

 private:
  Database& db_;
};

}  // namespace

Result<std::unique_ptr<TokenStore>> OpenTokenStore(Database& db) {
  WRIT_RETURN_IF_ERROR(db.Migrate("token", kMigrations));
  return std::unique_ptr<TokenStore>(new SqliteTokenStore(db));
}

}  // namespace writ::store::sqlite
