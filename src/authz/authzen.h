// OpenID AuthZEN Authorization API 1.0 over the decision Engine: the access evaluation (single and
// batch), subject/resource/action search and the metadata document. HTTP-free: the server routes
// (server/authz_api.cpp) parse bodies, authenticate callers and map errors to statuses. The mapping
// from AuthZEN to Cedar is documented in docs/authzen.md.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "authz/engine.h"
#include "common/json.h"
#include "common/result.h"

namespace writ::authz {

inline constexpr size_t kMaxBatchItems = 1000;
inline constexpr int64_t kMaxSearchPage = 1000;

// What the approvals module says about an approval-required decision.
struct ApprovalAnswer {
  bool allowed = false;  // a grant covers this request: answer true
  json::Value ticket;    // else the pending approval request to show the caller (an object)
};

// Implemented by the approvals module (authz cannot depend on it).
class ApprovalGate {
 public:
  virtual ~ApprovalGate() = default;
  // Consumes a matching grant, or finds/creates the pending approval request.
  // Errors: any; the caller answers deny.
  virtual Result<ApprovalAnswer> Resolve(const DecisionRequest& request, const DecisionResult& result) = 0;
};

enum class SearchKind : uint8_t { kSubject, kResource, kAction };

class Authzen {
 public:
  // `engine` (and `gate`, when set) are borrowed and must outlive this object.
  explicit Authzen(const Engine& engine, ApprovalGate* gate = nullptr) : engine_(engine), gate_(gate) {}

  // POST /access/v1/evaluation. Returns {"decision":bool,"context":{...}}.
  // Errors: kInvalidArgument naming the missing or mistyped member (HTTP 400).
  // `caller` (null or an object) is what writd knows of the authenticated caller: policies see it as
  // `context.writ.caller`.
  Result<json::Value> Evaluation(const json::Value& body, std::string_view request_id,
                                 const json::Value& caller = json::Value()) const;
  // POST /access/v1/evaluations. Items are exactly {"decision":bool} unless they carry an error or
  // an approval ticket. Errors: kInvalidArgument for problems of the whole payload.
  Result<json::Value> Evaluations(const json::Value& body, std::string_view request_id,
                                  const json::Value& caller = json::Value()) const;
  // POST /access/v1/search/{subject,resource,action}. Returns {"results":[...]} (and "page" when
  // the request had one). Errors: kInvalidArgument; kUnavailable if the search cannot be recorded.
  Result<json::Value> Search(SearchKind kind, const json::Value& body, std::string_view request_id,
                             const json::Value& caller = json::Value()) const;

  // GET /.well-known/authzen-configuration for a PDP reached at `base_url` ("http://host:port").
  static json::Value Metadata(std::string_view base_url);

 private:
  const Engine& engine_;
  ApprovalGate* gate_;
};

// `Action::"name"`, or the uid written in full when `name` is one (`Writ::Action::"mcp:call"`).
cedar::EntityUid ActionUid(std::string_view name);

}  // namespace writ::authz
