// Router: maps (method, path pattern) to a handler. Patterns are literal segments and
// `{parameter}` segments: "/v1/identities/{kind}/{name}". A literal segment beats a parameter at
// the same position, so "/v1/identities/search" wins over "/v1/identities/{kind}".
//
// Thread safety: add every route before the server starts; after that the Router is only read
// (Dispatch is safe from many threads).
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "server/http.h"

namespace writ::server {

// A handler returns a Response (any status), or an Error that becomes
// ErrorResponse(error) (status from HttpStatusFor). It may throw: the exception is caught, logged
// and answered with 500 — it never stops the daemon. A handler may block (for a store write):
// HttpServer runs these on a pool of threads, never on its event loops.
using Handler = std::function<Result<Response>(const Request&)>;

// How an asynchronous handler answers: call it once, from any thread, with the Response or an
// Error (mapped as for Handler). Copies share one answer: the first call wins, later ones are
// ignored. When every copy is gone without a call, the request is answered 500 (fail closed: a
// dropped callback never leaves the client waiting forever).
class Responder {
 public:
  void operator()(Result<Response> result) const;
  // True once some copy has answered.
  bool answered() const;

 private:
  friend class Router;
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// A handler that answers later, through the Responder, without holding an I/O thread while it
// waits (e.g. for the ledger's durable acknowledgement). It must return promptly; the Request it
// is given stays valid until it has answered. A throw before answering is a 500, as for Handler.
using AsyncHandler = std::function<void(const Request&, Responder)>;

// Receives an asynchronous handler's response: called once, on whichever thread answered.
using Completion = std::function<void(Response)>;

struct RouteOptions {
  // When true, a request with a non-empty body must have Content-Type application/json, else the
  // Router answers 415 without calling the handler.
  bool json_body = true;
};

class Router {
  struct Route;

 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Adds a route. REQUIRES: `pattern` starts with '/', each `{name}` is a whole segment with a
  // non-empty name, and (method, pattern) was not added before. A violation is a programming error:
  // it is logged and the process aborts (so it shows on the first start, in tests).
  void Add(std::string method, std::string_view pattern, Handler handler, RouteOptions options = {});
  void Get(std::string_view pattern, Handler handler) { Add("GET", pattern, std::move(handler)); }
  void Post(std::string_view pattern, Handler handler) { Add("POST", pattern, std::move(handler)); }
  void Put(std::string_view pattern, Handler handler) { Add("PUT", pattern, std::move(handler)); }
  void Patch(std::string_view pattern, Handler handler) { Add("PATCH", pattern, std::move(handler)); }
  void Delete(std::string_view pattern, Handler handler) { Add("DELETE", pattern, std::move(handler)); }
  // Adds a route with an asynchronous handler; same REQUIRES as Add.
  void AddAsync(std::string method, std::string_view pattern, AsyncHandler handler, RouteOptions options = {});

  // Finds the route for request.method and request.path, fills request.params and runs the
  // handler. Without a route for the path: 404; with routes for the path but not this method:
  // 405 with an Allow header; a bad percent-escape in the path: 400; a non-JSON body on a
  // json_body route: 415. All in the JSON error format. Never throws.
  // Returns the response when it is ready before Dispatch returns (every synchronous handler, the
  // errors above, an asynchronous handler that answered at once); otherwise nullopt, and `later`
  // is called once with the response when the asynchronous handler answers (on its thread).
  // `request` must stay valid until then.
  std::optional<Response> Dispatch(Request& request, Completion later) const;

  // Dispatch in two steps, for a server that keeps blocking handlers off its event loops.
  // A Match is the route found for one request; it lives as long as the Router.
  class Match {
   public:
    // True for a synchronous handler (it may block the thread that runs it); false for an
    // asynchronous one (it returns promptly).
    bool blocking() const;

   private:
    friend class Router;
    const Route* route_ = nullptr;
  };
  // Finds the route as Dispatch does and fills request.params; returns false with `*answer` set
  // to the response Dispatch would give without calling a handler (400, 404, 405, 415).
  bool Prepare(Request& request, Match* match, Response* answer) const;
  // Runs the handler of `match` on this thread; returns and calls `later` as Dispatch does.
  std::optional<Response> Run(const Match& match, Request& request, Completion later) const;
  // The same, waiting for an asynchronous handler's answer (blocks the calling thread: for tests
  // and tools, not for the server's I/O threads).
  Response Dispatch(Request& request) const;

 private:
  void AddRoute(std::string method, std::string_view pattern, Handler handler, AsyncHandler async_handler,
                RouteOptions options);
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace writ::server
