#pragma once
#include <memory>

#include "store/sqlite/database.h"
#include "store/token_store.h"

namespace writ::store::sqlite {

// TokenStore on `db` (borrowed: must outlive the result). Applies the `token` migrations.
// Errors: those of Database::Migrate.
Result<std::unique_ptr<TokenStore>> OpenTokenStore(Database& db);

}  // namespace writ::store::sqlite
