// The SQLite implementation of store::PolicyStore (component "policy", its own migrations).
#pragma once
#include <memory>

#include "common/result.h"
#include "store/policy_store.h"
#include "store/sqlite/database.h"

namespace writ::store::sqlite {

// Applies the `policy` migrations on `db` (borrowed: it must outlive the store) and returns the store.
// Errors: as Database::Migrate.
Result<std::unique_ptr<PolicyStore>> OpenPolicyStore(Database& db);

}  // namespace writ::store::sqlite
