#include "server/router.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <future>

#include "common/log.h"

namespace writ::server {

struct Router::Route {
  std::string method;
  std::string pattern;
  // One entry per path segment; a parameter segment keeps its name and sets is_param.
  std::vector<std::pair<std::string, bool>> segments;
  Handler handler;             // one of these two is set
  AsyncHandler async_handler;
  RouteOptions options;
};

// One asynchronous request's answer. Dispatch holds a reference while the handler runs, so an
// answer given before the handler returns is handed back by Dispatch itself (no `later` call).
struct Responder::State {
  enum Phase : int { kRunning, kReturned, kAnswered };
  std::atomic<bool> answered{false};
  std::atomic<int> phase{kRunning};
  Response response;  // written once, by the answering thread, before it publishes `phase`
  Completion later;

  explicit State(Completion completion) : later(std::move(completion)) {}
  ~State() {
    if (!answered.exchange(true)) {
      Deliver(ErrorResponse(500, Code::kInternal, "the request was dropped before it was answered"));
    }
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  void Deliver(Response result) {
    response = std::move(result);
    int expected = kRunning;
    if (phase.compare_exchange_strong(expected, kAnswered, std::memory_order_acq_rel)) return;
    later(std::move(response));
  }
};

void Responder::operator()(Result<Response> result) const {
  if (state_->answered.exchange(true)) return;
  state_->Deliver(result ? std::move(result).value() : ErrorResponse(result.error()));
}

bool Responder::answered() const { return state_->answered.load(); }

namespace {

constexpr size_t kMaxSegments = 64;  // per route pattern

// Splits "/a/b/c" into {"a","b","c"} ("/" gives {""}), into `out` (cleared first), stopping after
// `limit` segments.
void SplitPath(std::string_view path, std::vector<std::string_view>* out, size_t limit = SIZE_MAX) {
  out->clear();
  path.remove_prefix(1);
  while (out->size() < limit) {
    const size_t slash = path.find('/');
    out->push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  SplitPath(path, &segments);
  return segments;
}

// True when the two patterns match the same paths: equal literals, parameters in the same places.
bool SameShape(const std::vector<std::pair<std::string, bool>>& left,
               const std::vector<std::pair<std::string, bool>>& right) {
  if (left.size() != right.size()) return false;
  for (size_t index = 0; index < left.size(); ++index) {
    if (left[index].second != right[index].second) return false;
    if (!left[index].second && left[index].first != right[index].first) return false;
  }
  return true;
}

[[noreturn]] void BadRoute(std::string_view method, std::string_view pattern, std::string_view why) {
  log::Error("invalid route", {{"method", method}, {"pattern", pattern}, {"reason", why}});
  std::abort();
}

}  // namespace

Router::Router() = default;
Router::~Router() = default;

void Router::Add(std::string method, std::string_view pattern, Handler handler, RouteOptions options) {
  if (!handler) BadRoute(method, pattern, "handler is empty");
  AddRoute(std::move(method), pattern, std::move(handler), nullptr, options);
}

void Router::AddAsync(std::string method, std::string_view pattern, AsyncHandler handler, RouteOptions options) {
  if (!handler) BadRoute(method, pattern, "handler is empty");
  AddRoute(std::move(method), pattern, nullptr, std::move(handler), options);
}

void Router::AddRoute(std::string method, std::string_view pattern, Handler handler, AsyncHandler async_handler,
                      RouteOptions options) {
  if (pattern.empty() || pattern.front() != '/') BadRoute(method, pattern, "pattern must start with `/`");
  auto route = std::make_unique<Route>();
  if (SplitPath(pattern).size() > kMaxSegments) BadRoute(method, pattern, "too many segments");
  for (std::string_view segment : SplitPath(pattern)) {
    const bool is_param = !segment.empty() && segment.front() == '{';
    if (is_param) {
      if (segment.size() < 3 || segment.back() != '}') BadRoute(method, pattern, "bad `{parameter}` segment");
      segment = segment.substr(1, segment.size() - 2);
    } else if (segment.find_first_of("{}") != std::string_view::npos) {
      BadRoute(method, pattern, "`{parameter}` must be a whole segment");
    }
    route->segments.emplace_back(std::string(segment), is_param);
  }
  for (const auto& existing : routes_) {
    if (existing->method == method && SameShape(existing->segments, route->segments)) {
      BadRoute(method, pattern, "route added twice");
    }
  }
  route->method = std::move(method);
  route->pattern = std::string(pattern);
  route->handler = std::move(handler);
  route->async_handler = std::move(async_handler);
  route->options = options;
  routes_.push_back(std::move(route));
}

Response Router::Dispatch(Request& request) const {
  auto answer = std::make_shared<std::promise<Response>>();
  std::future<Response> later = answer->get_future();
  std::optional<Response> now = Dispatch(request, [answer](Response response) { answer->set_value(std::move(response)); });
  return now ? std::move(*now) : later.get();
}

bool Router::Match::blocking() const { return route_ != nullptr && !route_->async_handler; }

std::optional<Response> Router::Dispatch(Request& request, Completion later) const {
  Match match;
  Response answer;
  if (!Prepare(request, &match, &answer)) return answer;
  return Run(match, request, std::move(later));
}

bool Router::Prepare(Request& request, Match* match, Response* answer) const {
  if (request.path.empty() || request.path.front() != '/') {
    *answer = ErrorResponse(400, Code::kInvalidArgument, "request path must start with `/`");
    return false;
  }
  // The path's segments, decoded; views into the path itself unless a segment has an escape.
  // Reused by each thread: no allocation per request once warm.
  thread_local std::vector<std::string_view> segments;
  thread_local std::vector<std::string> decoded_storage;
  SplitPath(request.path, &segments, kMaxSegments + 1);
  const auto not_found = [&] {
    *answer = ErrorResponse(404, Code::kNotFound, "no route for `" + request.path.substr(0, 200) + "`");
    return false;
  };
  if (segments.size() > kMaxSegments) return not_found();  // longer than any route
  if (decoded_storage.size() < segments.size()) decoded_storage.resize(segments.size());
  for (size_t index = 0; index < segments.size(); ++index) {
    if (segments[index].find('%') == std::string_view::npos) continue;
    auto decoded = PercentDecode(segments[index], false);
    if (!decoded) {
      *answer = ErrorResponse(400, Code::kInvalidArgument, decoded.error().message);
      return false;
    }
    decoded_storage[index] = std::move(decoded).value();
    segments[index] = decoded_storage[index];
  }

  // Among routes whose pattern matches the path, the most specific wins: compare positions left
  // to right, a literal beating a parameter.
  // Literal positions as bits, the first segment the most significant: a larger mask is more
  // specific (patterns have at most kMaxSegments segments). No allocation per candidate route.
  const Route* best = nullptr;
  uint64_t best_literals = 0;
  std::vector<std::string_view> allowed;
  for (const auto& route : routes_) {
    if (route->segments.size() != segments.size()) continue;
    uint64_t literals = 0;
    bool matches = true;
    for (size_t index = 0; index < segments.size() && matches; ++index) {
      const auto& [text, is_param] = route->segments[index];
      if (is_param) {
        matches = !segments[index].empty();
      } else {
        matches = text == segments[index];
      }
      literals = literals << 1 | (is_param ? 0u : 1u);
    }
    if (!matches) continue;
    if (route->method != request.method) {
      if (std::find(allowed.begin(), allowed.end(), route->method) == allowed.end()) allowed.push_back(route->method);
      continue;
    }
    if (best == nullptr || literals > best_literals) {
      best = route.get();
      best_literals = literals;
    }
  }
  if (best == nullptr) {
    if (!allowed.empty()) {
      std::string allow;
      for (const std::string_view method : allowed) {
        if (!allow.empty()) allow += ", ";
        allow += method;
      }
      *answer = ErrorResponse(405, Code::kInvalidArgument,
                              "method `" + request.method.substr(0, 32) + "` is not allowed here; allowed: " + allow);
      answer->headers.Set("Allow", allow);
      return false;
    }
    return not_found();
  }

  request.params.clear();
  for (size_t index = 0; index < segments.size(); ++index) {
    if (best->segments[index].second) request.params.emplace_back(best->segments[index].first, segments[index]);
  }
  if (best->options.json_body && !request.body.empty()) {
    const auto content_type = request.headers.Get("Content-Type");
    if (!content_type || !IsJsonContentType(*content_type)) {
      *answer = ErrorResponse(415, Code::kInvalidArgument, "request body must have Content-Type application/json");
      return false;
    }
  }
  match->route_ = best;
  return true;
}

std::optional<Response> Router::Run(const Match& match, Request& request, Completion later) const {
  const Route* best = match.route_;
  const auto log_throw = [&](std::string_view what) {
    log::Error("handler threw", {{"method", request.method},
                                 {"route", best->pattern},
                                 {"request_id", request.request_id},
                                 {"exception", what}});
  };
  const auto internal = [] {
    return ErrorResponse(500, Code::kInternal, "internal error while handling the request (see the writd log)");
  };
  if (best->async_handler) {
    auto state = std::make_shared<Responder::State>(std::move(later));
    const Responder respond(state);
    try {
      best->async_handler(request, respond);
    } catch (const std::exception& error) {
      log_throw(error.what());
      respond(internal());
    } catch (...) {
      log_throw("unknown");
      respond(internal());
    }
    int expected = Responder::State::kRunning;
    if (state->phase.compare_exchange_strong(expected, Responder::State::kReturned, std::memory_order_acq_rel)) {
      return std::nullopt;  // answered later, through `later`
    }
    return std::move(state->response);
  }
  try {
    Result<Response> result = best->handler(request);
    if (!result) return ErrorResponse(result.error());
    return std::move(result).value();
  } catch (const std::exception& error) {
    log_throw(error.what());
  } catch (...) {
    log_throw("unknown");
  }
  return internal();
}

}  // namespace writ::server
