#include "server/router.h"

#include <atomic>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/matchers.h"

namespace writ::server {
namespace {

using ::testing::HasSubstr;

Request MakeRequest(std::string method, std::string path, std::string body = "", std::string content_type = "") {
  Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.body = std::move(body);
  if (!content_type.empty()) request.headers.Add("Content-Type", content_type);
  return request;
}

// Answers 200 with the route's name and its parameters, "name kind=agent name=bot".
Handler Echo(std::string name) {
  return [name](const Request& request) -> Result<Response> {
    std::string text = name;
    for (const auto& [key, value] : request.params) text += " " + key + "=" + value;
    Response response;
    response.body = text;
    return response;
  };
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Get("/healthz", Echo("health"));
    router_.Get("/v1/identities", Echo("list"));
    router_.Post("/v1/identities", Echo("create"));
    router_.Get("/v1/identities/{kind}/{name}", Echo("get"));
    router_.Delete("/v1/identities/{kind}/{name}", Echo("delete"));
    router_.Get("/v1/identities/agent/{name}", Echo("get-agent"));
    router_.Get("/v1/identities/{kind}/{name}/history", Echo("history"));
  }
  Response Dispatch(Request request) { return router_.Dispatch(request); }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralRoutes) {
  EXPECT_EQ(Dispatch(MakeRequest("GET", "/healthz")).body, "health");
  EXPECT_EQ(Dispatch(MakeRequest("GET", "/v1/identities")).body, "list");
  EXPECT_EQ(Dispatch(MakeRequest("POST", "/v1/identities", "{}", "application/json")).body, "create");
}

TEST_F(RouterTest, ExtractsDecodedParameters) {
  EXPECT_EQ(Dispatch(MakeRequest("GET", "/v1/identities/human/ann%20lee")).body, "get kind=human name=ann lee");
  EXPECT_EQ(Dispatch(MakeRequest("GET", "/v1/identities/group/sre/history")).body, "history kind=group name=sre");
  EXPECT_EQ(Dispatch(MakeRequest("DELETE", "/v1/identities/human/x")).body, "delete kind=human name=x");
}

TEST_F(RouterTest, LiteralSegmentBeatsParameter) {
  EXPECT_EQ(Dispatch(MakeRequest("GET", "/v1/identities/agent/bot")).body, "get-agent name=bot");
}

TEST_F(RouterTest, UnknownPathIs404InJsonFormat) {
  const Response response = Dispatch(MakeRequest("GET", "/v1/nothing"));
  EXPECT_EQ(response.status, 404);
  EXPECT_THAT(response.body, HasSubstr(R"("code":"not_found")"));
  EXPECT_EQ(Dispatch(MakeRequest("GET", "/healthz/")).status, 404);
  EXPECT_EQ(Dispatch(MakeRequest("GET", "/v1/identities/agent/")).status, 404);  // empty parameter
  EXPECT_EQ(Dispatch(MakeRequest("GET", "/v1/identities/a/b/c/d")).status, 404);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  const Response response = Dispatch(MakeRequest("PUT", "/v1/identities"));
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.Get("Allow"), "GET, POST");
  EXPECT_THAT(response.body, HasSubstr(R"("code":"invalid_argument")"));
  EXPECT_EQ(Dispatch(MakeRequest("POST", "/v1/identities/human/x")).headers.Get("Allow"), "GET, DELETE");
}

TEST_F(RouterTest, BadPathEscapeIs400) {
  EXPECT_EQ(Dispatch(MakeRequest("GET", "/v1/identities/human/%zz")).status, 400);
  EXPECT_EQ(Dispatch(MakeRequest("GET", "*")).status, 400);
}

TEST_F(RouterTest, NonJsonBodyIs415) {
  Response response = Dispatch(MakeRequest("POST", "/v1/identities", "name=x", "application/x-www-form-urlencoded"));
  EXPECT_EQ(response.status, 415);
  EXPECT_THAT(response.body, HasSubstr("application/json"));
  EXPECT_EQ(Dispatch(MakeRequest("POST", "/v1/identities", "{}")).status, 415);  // no Content-Type
  EXPECT_EQ(Dispatch(MakeRequest("POST", "/v1/identities")).status, 200);        // no body: fine
}

TEST(RouterErrorsTest, HandlerErrorMapsToStatus) {
  Router router;
  router.Get("/conflict", [](const Request&) -> Result<Response> { return Fail(Code::kConflict, "exists"); });
  router.Get("/down", [](const Request&) -> Result<Response> { return Fail(Code::kUnavailable, "store down"); });
  Request request = MakeRequest("GET", "/conflict");
  Response response = router.Dispatch(request);
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(response.body, R"({"error":{"code":"conflict","message":"exists"}})");
  request = MakeRequest("GET", "/down");
  EXPECT_EQ(router.Dispatch(request).status, 503);
}

TEST(RouterErrorsTest, HandlerExceptionIs500AndNotPropagated) {
  Router router;
  router.Get("/throw", [](const Request&) -> Result<Response> { throw std::runtime_error("boom secret"); });
  router.Get("/throw-int", [](const Request&) -> Result<Response> { throw 42; });
  Request request = MakeRequest("GET", "/throw");
  Response response = router.Dispatch(request);
  EXPECT_EQ(response.status, 500);
  EXPECT_THAT(response.body, HasSubstr(R"("code":"internal")"));
  EXPECT_THAT(response.body, ::testing::Not(HasSubstr("secret")));
  request = MakeRequest("GET", "/throw-int");
  EXPECT_EQ(router.Dispatch(request).status, 500);
}

// Asynchronous routes: the answer comes through the Responder, at once or later from any thread.
class AsyncRouterTest : public ::testing::Test {
 protected:
  AsyncRouterTest() {
    router_.AddAsync("GET", "/now", [](const Request&, Responder respond) {
      respond(Response{.status = 201, .headers = {}, .body = "now"});
    });
    router_.AddAsync("GET", "/later", [this](const Request&, Responder respond) {
      parked_ = std::move(respond);
      parked_ready_.store(true);
    });
    router_.AddAsync("GET", "/error", [](const Request&, Responder respond) {
      respond(Fail(Code::kUnavailable, "ledger down"));
    });
    router_.AddAsync("GET", "/drop", [](const Request&, const Responder&) {});
    router_.AddAsync("GET", "/throw", [](const Request&, const Responder&) { throw std::runtime_error("boom"); });
    router_.AddAsync("GET", "/answer-then-throw", [](const Request&, Responder respond) {
      respond(Response{.status = 200, .headers = {}, .body = "first"});
      throw std::runtime_error("boom");
    });
  }

  // Dispatches and records what reaches `later`.
  std::optional<Response> Dispatch(Request& request) {
    return router_.Dispatch(request, [this](Response response) {
      ++later_calls_;
      later_ = std::move(response);
    });
  }

  Router router_;
  std::optional<Responder> parked_;
  std::atomic<bool> parked_ready_{false};
  int later_calls_ = 0;
  Response later_;
};

TEST_F(AsyncRouterTest, AnswerBeforeReturningIsHandedBackDirectly) {
  Request request = MakeRequest("GET", "/now");
  std::optional<Response> now = Dispatch(request);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->status, 201);
  EXPECT_EQ(now->body, "now");
  EXPECT_EQ(later_calls_, 0);
}

TEST_F(AsyncRouterTest, LaterAnswerFromAnotherThreadGoesToTheCompletionOnce) {
  Request request = MakeRequest("GET", "/later");
  EXPECT_FALSE(Dispatch(request).has_value());
  ASSERT_TRUE(parked_.has_value());
  EXPECT_EQ(later_calls_, 0);
  std::thread([responder = *parked_] {
    responder(Response{.status = 202, .headers = {}, .body = "done"});
    responder(Response{.status = 500, .headers = {}, .body = "ignored"});  // the first answer wins
  }).join();
  EXPECT_EQ(later_calls_, 1);
  EXPECT_EQ(later_.status, 202);
  EXPECT_EQ(later_.body, "done");
  EXPECT_TRUE(parked_->answered());
  parked_.reset();
  EXPECT_EQ(later_calls_, 1);
}

TEST_F(AsyncRouterTest, ErrorsThrowsAndDroppedRespondersFailClosed) {
  Request request = MakeRequest("GET", "/error");
  std::optional<Response> response = Dispatch(request);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_THAT(response->body, HasSubstr("ledger down"));

  request = MakeRequest("GET", "/throw");
  response = Dispatch(request);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);

  request = MakeRequest("GET", "/answer-then-throw");
  response = Dispatch(request);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "first");

  // A handler that keeps no Responder: answered 500 through the completion.
  request = MakeRequest("GET", "/drop");
  EXPECT_FALSE(Dispatch(request).has_value());
  EXPECT_EQ(later_calls_, 1);
  EXPECT_EQ(later_.status, 500);
  EXPECT_THAT(later_.body, HasSubstr("dropped"));

  // Parked, then dropped without an answer.
  request = MakeRequest("GET", "/later");
  EXPECT_FALSE(Dispatch(request).has_value());
  parked_.reset();
  EXPECT_EQ(later_calls_, 2);
  EXPECT_EQ(later_.status, 500);
}

TEST_F(AsyncRouterTest, RoutingErrorsNeverReachTheHandler) {
  Request request = MakeRequest("POST", "/later");
  std::optional<Response> response = Dispatch(request);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 405);
  EXPECT_FALSE(parked_.has_value());
}

TEST_F(AsyncRouterTest, BlockingDispatchWaitsForTheAnswer) {
  Request request = MakeRequest("GET", "/later");
  std::future<Response> response = std::async(std::launch::async, [&] { return router_.Dispatch(request); });
  while (!parked_ready_.load()) std::this_thread::yield();
  EXPECT_EQ(response.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout);
  (*parked_)(Response{.status = 204, .headers = {}, .body = ""});
  EXPECT_EQ(response.get().status, 204);
}

TEST(RouterDeathTest, DuplicateRouteAborts) {
  Router router;
  router.Get("/x/{a}", [](const Request&) -> Result<Response> { return Response{}; });
  EXPECT_DEATH(router.Get("/x/{b}", [](const Request&) -> Result<Response> { return Response{}; }), "");
  EXPECT_DEATH(router.Get("no-slash", [](const Request&) -> Result<Response> { return Response{}; }), "");
  EXPECT_DEATH(router.Get("/x{a}", [](const Request&) -> Result<Response> { return Response{}; }), "");
}

}  // namespace
}  // namespace writ::server
