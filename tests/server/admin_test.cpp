#include "server/admin.h"

#include <gtest/gtest.h>

#include "identity/registry.h"
#include "server/identity_api.h"
#include "store/sqlite_store.h"
#include "testing/matchers.h"
#include "testing/temp_dir.h"

namespace writ::server {
namespace {

using ::testing::HasSubstr;

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::SqliteStore::Open(dir_.file("writ.db")).value();
    registry_ = identity::Registry::Create(store_->identities(), {}).value();
    AddIdentityRoutes(router_, *registry_, access_);
  }

  static Request LocalRequest(uint32_t uid, std::string method, std::string path, std::string body = "") {
    Request request;
    request.method = std::move(method);
    request.target = path;
    request.path = std::move(path);
    request.body = std::move(body);
    if (!request.body.empty()) request.headers.Set("Content-Type", "application/json");
    request.peer.transport = Transport::kUnix;
    request.peer.uid = uid;
    request.peer.gid = uid;
    request.peer.pid = 1;
    return request;
  }

  TempDir dir_;
  AdminAccess access_{{1000}};
  Router router_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<identity::Registry> registry_;
};

TEST_F(AdminTest, OnlyConfiguredLocalUidsAreAdministrators) {
  EXPECT_THAT(RequireAdmin(LocalRequest(1000, "GET", "/"), access_, *registry_), IsOk());
  EXPECT_THAT(RequireAdmin(LocalRequest(1001, "GET", "/"), access_, *registry_),
              FailsWith(Code::kPermissionDenied, "uid 1001 is not a writ administrator"));
  Request tcp = LocalRequest(1000, "GET", "/");
  tcp.peer.transport = Transport::kTcp;
  tcp.peer.uid.reset();
  EXPECT_THAT(RequireAdmin(tcp, access_, *registry_), FailsWith(Code::kPermissionDenied, HasSubstr("Unix socket")));
}

TEST_F(AdminTest, AuthorIsTheHumanMappedToTheCallersUid) {
  EXPECT_EQ(RequireAdmin(LocalRequest(1000, "GET", "/"), access_, *registry_).value(), "uid:1000");
  Request create = LocalRequest(1000, "POST", "/v1/identities", R"({"kind":"human","name":"alice","uid":1000})");
  ASSERT_EQ(router_.Dispatch(create).status, 201);
  EXPECT_EQ(RequireAdmin(LocalRequest(1000, "GET", "/"), access_, *registry_).value(), "alice");
}

TEST_F(AdminTest, EveryIdentityRouteRefusesNonAdministrators) {
  const std::pair<const char*, const char*> routes[] = {
      {"POST", "/v1/identities"},           {"GET", "/v1/identities"},
      {"GET", "/v1/identities/agent/x"},    {"PATCH", "/v1/identities/agent/x"},
      {"POST", "/v1/identities/agent/x/suspend"}, {"GET", "/v1/identities/agent/x/history"}};
  for (const auto& [method, path] : routes) {
    Request request = LocalRequest(4242, method, path, "{}");
    const Response response = router_.Dispatch(request);
    EXPECT_EQ(response.status, 403) << method << " " << path;
    EXPECT_THAT(response.body, HasSubstr("permission_denied"));
  }
}

TEST_F(AdminTest, LifecycleActionsTakeOnlyAReason) {
  Request human = LocalRequest(1000, "POST", "/v1/identities", R"({"kind":"human","name":"alice"})");
  ASSERT_EQ(router_.Dispatch(human).status, 201);
  Request extra = LocalRequest(1000, "POST", "/v1/identities/human/alice/suspend", R"({"reason":"x","tier":"high"})");
  EXPECT_EQ(router_.Dispatch(extra).status, 400);
  Request unknown = LocalRequest(1000, "POST", "/v1/identities/human/alice/explode", "");
  EXPECT_EQ(router_.Dispatch(unknown).status, 404);
  Request paged = LocalRequest(1000, "GET", "/v1/identities", "");
  paged.query.Add("kind", "human");
  paged.query.Add("limit", "abc");
  EXPECT_EQ(router_.Dispatch(paged).status, 400);
}

}  // namespace
}  // namespace writ::server
