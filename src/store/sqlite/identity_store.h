#pragma once
#include <memory>

#include "store/identity_store.h"
#include "store/sqlite/database.h"

namespace writ::store::sqlite {

// IdentityStore on `db` (borrowed: must outlive the result). Applies the `identity` migrations.
// Errors: those of Database::Migrate.
Result<std::unique_ptr<IdentityStore>> OpenIdentityStore(Database& db);

}  // namespace writ::store::sqlite
