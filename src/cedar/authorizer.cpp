#include "cedar/authorizer.h"

#include <algorithm>
#include <unordered_map>

#include "cedar/internal/evaluator.h"
#include "common/json.h"

namespace writ::cedar {

std::string_view ErrorKindName(EvalErrorKind kind) {
  switch (kind) {
    case EvalErrorKind::kEntityDoesNotExist: return "entity_does_not_exist";
    case EvalErrorKind::kEntityAttrDoesNotExist: return "entity_attr_does_not_exist";
    case EvalErrorKind::kRecordAttrDoesNotExist: return "record_attr_does_not_exist";
    case EvalErrorKind::kTypeError: return "type_error";
    case EvalErrorKind::kWrongNumArguments: return "wrong_num_arguments";
    case EvalErrorKind::kIntegerOverflow: return "integer_overflow";
    case EvalErrorKind::kUnlinkedSlot: return "unlinked_slot";
    case EvalErrorKind::kExtensionError: return "extension_error";
    case EvalErrorKind::kRecursionLimit: return "recursion_limit";
  }
  return "unknown";
}

Request Request::Make(EntityUid principal, EntityUid action, EntityUid resource, Value context) {
  return Request{Value::Entity(std::move(principal)), Value::Entity(std::move(action)),
                 Value::Entity(std::move(resource)), std::move(context)};
}

namespace {
// Below this many policies, scanning all of them is cheaper than consulting the index.
constexpr size_t kIndexThreshold = 24;
using Bucket = std::vector<uint32_t>;
using UidBuckets = std::unordered_map<EntityUid, Bucket, EntityUidHash>;
using TypeBuckets = std::unordered_map<std::string, Bucket>;
}  // namespace

// Each policy sits in the bucket of its most selective scope constraint; a request gathers the
// buckets its principal, action and resource (and their ancestors) can hit.
struct Authorizer::Index {
  PolicySet set;
  std::vector<const Policy*> policies;
  UidBuckets principal_eq, resource_eq, principal_in, resource_in, action_eq, action_in;
  TypeBuckets principal_is, resource_is;
  Bucket rest;
  bool use_index = false;

  void Build() {
    for (const auto& p : set.policies()) policies.push_back(p.get());
    use_index = policies.size() > kIndexThreshold;
    if (!use_index) return;
    for (uint32_t i = 0; i < policies.size(); ++i) {
      const Policy& p = *policies[i];
      using Op = ScopeConstraint::Op;
      if (p.principal.op == Op::kEq && p.principal.entity) {
        principal_eq[*p.principal.entity].push_back(i);
      } else if (p.resource.op == Op::kEq && p.resource.entity) {
        resource_eq[*p.resource.entity].push_back(i);
      } else if ((p.principal.op == Op::kIn || p.principal.op == Op::kIsIn) && p.principal.entity) {
        principal_in[*p.principal.entity].push_back(i);
      } else if ((p.resource.op == Op::kIn || p.resource.op == Op::kIsIn) && p.resource.entity) {
        resource_in[*p.resource.entity].push_back(i);
      } else if (p.action.op == ActionConstraint::Op::kEq) {
        action_eq[p.action.entities[0]].push_back(i);
      } else if (p.action.op == ActionConstraint::Op::kIn) {
        for (const auto& a : p.action.entities) action_in[a].push_back(i);
      } else if (p.principal.op == Op::kIs) {
        principal_is[p.principal.type].push_back(i);
      } else if (p.resource.op == Op::kIs) {
        resource_is[p.resource.type].push_back(i);
      } else {
        rest.push_back(i);
      }
    }
  }

  static void AddBucket(const UidBuckets& map, const EntityUid& key, std::vector<uint32_t>& out) {
    if (map.empty()) return;
    auto it = map.find(key);
    if (it != map.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  static void AddWithAncestors(const UidBuckets& map, const EntityUid& uid, const Entities& entities,
                               std::vector<uint32_t>& out) {
    if (map.empty()) return;
    AddBucket(map, uid, out);
    if (const Entity* e = entities.Find(uid)) {
      for (const auto& a : e->ancestors) AddBucket(map, a, out);
    }
  }

  void Candidates(const Request& r, const Entities& entities, std::vector<uint32_t>& out) const {
    const EntityUid& p = r.principal.as_entity();
    const EntityUid& a = r.action.as_entity();
    const EntityUid& res = r.resource.as_entity();
    AddBucket(principal_eq, p, out);
    AddBucket(resource_eq, res, out);
    AddWithAncestors(principal_in, p, entities, out);
    AddWithAncestors(resource_in, res, entities, out);
    AddBucket(action_eq, a, out);
    AddWithAncestors(action_in, a, entities, out);
    if (!principal_is.empty()) {
      if (auto it = principal_is.find(p.type); it != principal_is.end()) out.insert(out.end(), it->second.begin(), it->second.end());
    }
    if (!resource_is.empty()) {
      if (auto it = resource_is.find(res.type); it != resource_is.end()) out.insert(out.end(), it->second.begin(), it->second.end());
    }
    out.insert(out.end(), rest.begin(), rest.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
};

Authorizer::Authorizer(PolicySet set) : index_(std::make_unique<Index>()) {
  index_->set = std::move(set);
  index_->Build();
}

Authorizer::~Authorizer() = default;

const PolicySet& Authorizer::policies() const { return index_->set; }

Response Authorizer::Authorize(const Request& request, const Entities& entities) const {
  Response out;
  Authorize(request, entities, &out);
  return out;
}

void Authorizer::Authorize(const Request& request, const Entities& entities, Response* out) const {
  out->decision = Decision::kDeny;
  out->reasons.clear();
  out->errors.clear();
  if (!request.principal.is_entity() || !request.action.is_entity() || !request.resource.is_entity()) return;
  internal::Evaluator eval(request.principal, request.action, request.resource, request.context, entities);
  bool any_forbid = false;
  bool any_permit = false;
  // Permits are recorded first; if a forbid is satisfied they are replaced by the forbids.
  size_t permit_count = 0;
  auto visit = [&](const Policy& p) {
    auto sat = eval.Satisfied(p);
    if (!sat) {
      out->errors.push_back(PolicyError{p.id, sat.error().kind, std::move(sat.error().message)});
      return;
    }
    if (!*sat) return;
    if (p.effect == Effect::kForbid) {
      if (!any_forbid) {
        out->reasons.erase(out->reasons.begin(), out->reasons.begin() + static_cast<std::ptrdiff_t>(permit_count));
        any_forbid = true;
      }
      out->reasons.push_back(p.id);
    } else if (!any_forbid) {
      any_permit = true;
      out->reasons.push_back(p.id);
      ++permit_count;
    }
  };
  if (!index_->use_index) {
    for (const Policy* p : index_->policies) visit(*p);
  } else {
    thread_local std::vector<uint32_t> candidates;
    candidates.clear();
    index_->Candidates(request, entities, candidates);
    for (uint32_t i : candidates) visit(*index_->policies[i]);
  }
  out->decision = (!any_forbid && any_permit) ? Decision::kAllow : Decision::kDeny;
}

std::string ResponseToJson(const Response& response) {
  json::Writer w;
  w.BeginObject().Key("decision").String(response.decision == Decision::kAllow ? "allow" : "deny");
  w.Key("reason").BeginArray();
  for (auto id : response.reasons) w.String(id);
  w.EndArray().Key("errors").BeginArray();
  for (const auto& e : response.errors) {
    w.BeginObject().Key("policy").String(e.policy_id).Key("kind").String(ErrorKindName(e.kind));
    w.Key("message").String(e.message).EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

Result<Request> RequestFromJson(const json::Value& v, const Schema* schema) {
  if (!v.is_object()) return Fail(Code::kInvalidArgument, "a request must be a JSON object");
  const json::Value* p = v.Find("principal");
  const json::Value* a = v.Find("action");
  const json::Value* r = v.Find("resource");
  if (p == nullptr || a == nullptr || r == nullptr) {
    return Fail(Code::kInvalidArgument, "a request needs `principal`, `action` and `resource`");
  }
  WRIT_ASSIGN_OR_RETURN(EntityUid pu, EntityUidFromJson(*p));
  WRIT_ASSIGN_OR_RETURN(EntityUid au, EntityUidFromJson(*a));
  WRIT_ASSIGN_OR_RETURN(EntityUid ru, EntityUidFromJson(*r));
  Value context = Value::Record({});
  if (const json::Value* c = v.Find("context"); c != nullptr && !c->is_null()) {
    WRIT_ASSIGN_OR_RETURN(context, ContextFromJson(*c, schema, au));
  }
  return Request::Make(std::move(pu), std::move(au), std::move(ru), std::move(context));
}

Result<Request> ParseRequest(std::string_view json_text, const Schema* schema) {
  WRIT_ASSIGN_OR_RETURN(json::Value doc, json::Parse(json_text, {.max_bytes = 64 << 20, .max_depth = 128}));
  return RequestFromJson(doc, schema);
}

Result<std::vector<Request>> ParseRequests(std::string_view json_text, const Schema* schema) {
  WRIT_ASSIGN_OR_RETURN(json::Value doc, json::Parse(json_text, {.max_bytes = 256 << 20, .max_depth = 128}));
  if (!doc.is_array()) return Fail(Code::kInvalidArgument, "requests must be a JSON array");
  std::vector<Request> out;
  out.reserve(doc.as_array().size());
  for (size_t i = 0; i < doc.as_array().size(); ++i) {
    auto r = RequestFromJson(doc.as_array()[i], schema);
    if (!r) return Fail(Code::kInvalidArgument, "request " + std::to_string(i) + ": " + r.error().message);
    out.push_back(std::move(*r));
  }
  return out;
}

Result<Value> EvaluateExpression(const Expr& expr, const Request& request, const Entities& entities) {
  internal::Evaluator eval(request.principal, request.action, request.resource, request.context, entities);
  auto v = eval.Eval(expr);
  if (!v) return Fail(Code::kInvalidArgument, std::string(ErrorKindName(v.error().kind)) + ": " + v.error().message);
  return std::move(*v);
}

}  // namespace writ::cedar
