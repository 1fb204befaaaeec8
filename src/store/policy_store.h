// Storage of the decision service's aggregates: immutable policy-set versions with their
// activation history, and approval requests. The SQLite backend is in store/sqlite/policy_store.cpp.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace writ::store {

// One immutable policy-set version as stored. Never updated after AddVersion.
struct PolicyVersionRecord {
  int64_t version = 0;       // 1, 2, ... assigned by AddVersion
  std::string content_hash;  // hex SHA-256 of the source (authz::ContentHash)
  std::string author;
  std::string reason;
  int64_t created_at_ms = 0;
  std::string source;  // JSON object {"<file name>": "<text>", ...}
};

struct ActivationRecord {
  int64_t version = 0;
  std::string author;
  std::string reason;
  int64_t at_ms = 0;
};

// The version staged for shadow evaluation: who staged which version, why, when.
using StagingRecord = ActivationRecord;

// One approval request and its state, as stored (the authz/approvals modules own the meaning).
struct ApprovalRecord {
  std::string id;
  std::string document;  // JSON written and read by the approvals module
  std::string state;     // "pending", "granted", "denied", "expired", "used"
  int64_t created_at_ms = 0;
};

// Thread-safe. Every failure of the underlying storage is kUnavailable.
class PolicyStore {
 public:
  virtual ~PolicyStore() = default;

  // Stores `record` as the next version (record.version is ignored) and returns that number.
  virtual Result<int64_t> AddVersion(const PolicyVersionRecord& record) = 0;
  // The version, or nullopt when there is none with that number.
  virtual Result<std::optional<PolicyVersionRecord>> GetVersion(int64_t version) = 0;
  // Every version without its source (source left empty), oldest first.
  virtual Result<std::vector<PolicyVersionRecord>> ListVersions() = 0;

  // Appends an activation; the active version is the last one appended.
  virtual Status AddActivation(const ActivationRecord& record) = 0;
  // Every activation, oldest first.
  virtual Result<std::vector<ActivationRecord>> Activations() = 0;

  // Replaces the staged version (nullopt: nothing staged), so that staging outlives a restart.
  virtual Status PutStaging(const std::optional<StagingRecord>& staging) = 0;
  // The staged version, or nullopt.
  virtual Result<std::optional<StagingRecord>> Staging() = 0;

  // Inserts or replaces the approval with record.id.
  virtual Status PutApproval(const ApprovalRecord& record) = 0;
  virtual Result<std::optional<ApprovalRecord>> GetApproval(const std::string& id) = 0;
  // Approvals, newest first, at most `limit`; only those in `state` when it is non-empty.
  virtual Result<std::vector<ApprovalRecord>> ListApprovals(const std::string& state, int64_t limit) = 0;
};

}  // namespace writ::store
