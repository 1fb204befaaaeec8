#include "store/sqlite_store.h"

#include "store/sqlite/database.h"
#include "store/sqlite/identity_store.h"
#include "store/sqlite/policy_store.h"
#include "store/sqlite/token_store.h"

namespace writ::store {

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  WRIT_ASSIGN_OR_RETURN(store->database_, sqlite::Database::Open(path));
  WRIT_ASSIGN_OR_RETURN(store->identities_, sqlite::OpenIdentityStore(*store->database_));
  WRIT_ASSIGN_OR_RETURN(store->policies_, sqlite::OpenPolicyStore(*store->database_));
  WRIT_ASSIGN_OR_RETURN(store->tokens_, sqlite::OpenTokenStore(*store->database_));
  return store;
}

SqliteStore::~SqliteStore() = default;

}  // namespace writ::store
