#include "authz/authzen.h"

#include <charconv>

#include <fmt/format.h>

#include "identity/registry.h"

namespace writ::authz {
namespace {

constexpr size_t kMaxIdBytes = 1024;
constexpr int64_t kRegistryListPage = 1000;         // the registry's largest page
constexpr size_t kMaxRegistryCandidates = 10000;    // bounds the work of one search

Status Bad(std::string message) { return Fail(Code::kInvalidArgument, std::move(message)); }

// A parsed subject or resource: its uid, and an entity when it carries properties.
struct EntityRef {
  cedar::EntityUid uid;
  std::optional<cedar::Entity> entity;
};

struct ActionRef {
  cedar::EntityUid uid;
  std::optional<cedar::Entity> entity;
};

const json::Value* Member(const json::Value& object, std::string_view key) {
  const json::Value* value = object.Find(key);
  return value == nullptr || value->is_null() ? nullptr : value;
}

Result<std::string> RequiredText(const json::Value& object, std::string_view owner, std::string_view key) {
  const json::Value* value = Member(object, key);
  if (value == nullptr) return Fail(Code::kInvalidArgument, fmt::format("`{}.{}` is required", owner, key));
  if (!value->is_string()) {
    return Fail(Code::kInvalidArgument, fmt::format("`{}.{}` must be a string, not {}", owner, key, json::TypeName(value->type())));
  }
  if (value->as_string().empty() || value->as_string().size() > kMaxIdBytes) {
    return Fail(Code::kInvalidArgument, fmt::format("`{}.{}` must be 1 to {} bytes", owner, key, kMaxIdBytes));
  }
  return value->as_string();
}

Result<std::optional<cedar::Value>> Properties(const json::Value& object, std::string_view owner) {
  const json::Value* properties = Member(object, "properties");
  if (properties == nullptr) return std::optional<cedar::Value>();
  if (!properties->is_object()) return Fail(Code::kInvalidArgument, fmt::format("`{}.properties` must be an object", owner));
  auto value = cedar::ValueFromJson(*properties);
  if (!value) return Fail(Code::kInvalidArgument, fmt::format("`{}.properties`: {}", owner, value.error().message));
  return std::optional<cedar::Value>(std::move(*value));
}

Result<const json::Value*> RequiredObject(const json::Value* value, std::string_view name) {
  if (value == nullptr || value->is_null()) return Fail(Code::kInvalidArgument, fmt::format("`{}` is required", name));
  if (!value->is_object()) {
    return Fail(Code::kInvalidArgument, fmt::format("`{}` must be an object, not {}", name, json::TypeName(value->type())));
  }
  return value;
}

// `require_id` false: search on this kind of entity (only the type counts; any id is ignored).
Result<EntityRef> ParseEntity(const json::Value* value, std::string_view name, bool require_id) {
  WRIT_ASSIGN_OR_RETURN(const json::Value* object, RequiredObject(value, name));
  EntityRef ref;
  WRIT_ASSIGN_OR_RETURN(ref.uid.type, RequiredText(*object, name, "type"));
  if (require_id) {
    WRIT_ASSIGN_OR_RETURN(ref.uid.id, RequiredText(*object, name, "id"));
  } else if (const json::Value* id = Member(*object, "id"); id != nullptr && !id->is_string()) {
    return Fail(Code::kInvalidArgument, fmt::format("`{}.id` must be a string", name));
  }
  WRIT_ASSIGN_OR_RETURN(auto properties, Properties(*object, name));
  if (properties && require_id) ref.entity = cedar::Entity{.uid = ref.uid, .attrs = std::move(*properties)};
  return ref;
}

Result<ActionRef> ParseAction(const json::Value* value) {
  WRIT_ASSIGN_OR_RETURN(const json::Value* object, RequiredObject(value, "action"));
  ActionRef ref;
  WRIT_ASSIGN_OR_RETURN(const std::string name, RequiredText(*object, "action", "name"));
  ref.uid = ActionUid(name);
  WRIT_ASSIGN_OR_RETURN(auto properties, Properties(*object, "action"));
  if (properties) ref.entity = cedar::Entity{.uid = ref.uid, .attrs = std::move(*properties)};
  return ref;
}

Result<json::Value> ParseContext(const json::Value* value) {
  if (value == nullptr || value->is_null()) return json::Value();
  if (!value->is_object()) return Fail(Code::kInvalidArgument, fmt::format("`context` must be an object, not {}", json::TypeName(value->type())));
  return *value;
}

Status CheckBodyIsObject(const json::Value& body) {
  if (!body.is_object()) return Bad(fmt::format("the request body must be a JSON object, not {}", json::TypeName(body.type())));
  return Ok();
}

DecisionRequest MakeRequest(EntityRef subject, ActionRef action, EntityRef resource, json::Value context,
                            std::string_view request_id) {
  DecisionRequest request;
  request.principal = std::move(subject.uid);
  request.action = std::move(action.uid);
  request.resource = std::move(resource.uid);
  request.context = std::move(context);
  request.correlation_id = std::string(request_id);
  if (subject.entity) request.entities.push_back(std::move(*subject.entity));
  if (resource.entity) request.entities.push_back(std::move(*resource.entity));
  if (action.entity) request.entities.push_back(std::move(*action.entity));
  return request;
}

// The request of one evaluation from the members of `item`, falling back to `defaults`.
Result<DecisionRequest> ParseEvaluation(const json::Value& item, const json::Value& defaults, std::string_view request_id) {
  auto pick = [&](std::string_view key) -> const json::Value* {
    const json::Value* own = Member(item, key);
    return own != nullptr ? own : Member(defaults, key);
  };
  WRIT_ASSIGN_OR_RETURN(EntityRef subject, ParseEntity(pick("subject"), "subject", true));
  WRIT_ASSIGN_OR_RETURN(ActionRef action, ParseAction(pick("action")));
  WRIT_ASSIGN_OR_RETURN(EntityRef resource, ParseEntity(pick("resource"), "resource", true));
  WRIT_ASSIGN_OR_RETURN(json::Value context, ParseContext(pick("context")));
  return MakeRequest(std::move(subject), std::move(action), std::move(resource), std::move(context), request_id);
}

struct Answer {
  bool decision = false;
  json::Value context;  // null: none
};

Answer Decide(const Engine& engine, ApprovalGate* gate, const DecisionRequest& request, bool verbose) {
  const DecisionResult result = engine.Decide(request);
  Answer answer;
  answer.decision = result.outcome == Outcome::kAllow;
  json::Value context = json::Object{};
  if (result.outcome == Outcome::kApprovalRequired) {
    if (gate == nullptr) {
      context.Set("reason", "approval required, and no approval service is configured");
    } else {
      auto resolved = gate->Resolve(request, result);
      if (!resolved) {
        context.Set("reason", fmt::format("approval service failed: {}", resolved.error().message));
      } else if (resolved->allowed) {
        answer.decision = true;
        context.Set("approval", "granted");
      } else {
        context.Set("approval_required", true);
        context.Set("approval", resolved->ticket);
      }
    }
    answer.context = std::move(context);
    return answer;
  }
  if (!verbose) return answer;
  json::Array policies;
  for (const auto& id : result.policy_ids) policies.emplace_back(id);
  context.Set("policies", std::move(policies));
  if (!result.reason.empty()) context.Set("reason", result.reason);
  if (!result.errors.empty()) {
    json::Array errors;
    for (const auto& error : result.errors) errors.emplace_back(error);
    context.Set("errors", std::move(errors));
  }
  answer.context = std::move(context);
  return answer;
}

json::Value ToJson(Answer answer) {
  json::Value out = json::Object{{"decision", answer.decision}};
  if (!answer.context.is_null()) out.Set("context", std::move(answer.context));
  return out;
}

json::Value ItemFailure(const Error& error) {
  return json::Object{{"decision", false},
                      {"context", json::Object{{"error", json::Object{{"status", 400}, {"message", error.message}}}}}};
}

enum class Semantic : uint8_t { kExecuteAll, kDenyOnFirstDeny, kPermitOnFirstPermit };

Result<Semantic> ParseSemantic(const json::Value& body) {
  const json::Value* options = Member(body, "options");
  if (options == nullptr) return Semantic::kExecuteAll;
  if (!options->is_object()) return Fail(Code::kInvalidArgument, "`options` must be an object");
  const json::Value* semantic = Member(*options, "evaluations_semantic");
  if (semantic == nullptr) return Semantic::kExecuteAll;
  if (!semantic->is_string()) return Fail(Code::kInvalidArgument, "`options.evaluations_semantic` must be a string");
  const std::string& name = semantic->as_string();
  if (name == "execute_all") return Semantic::kExecuteAll;
  if (name == "deny_on_first_deny") return Semantic::kDenyOnFirstDeny;
  if (name == "permit_on_first_permit") return Semantic::kPermitOnFirstPermit;
  return Fail(Code::kInvalidArgument, fmt::format("`options.evaluations_semantic` `{}` is not execute_all, "
                                                  "deny_on_first_deny or permit_on_first_permit", name.substr(0, 64)));
}

struct Page {
  bool present = false;
  size_t offset = 0;
  size_t limit = static_cast<size_t>(kMaxSearchPage);
};

Result<Page> ParsePage(const json::Value& body) {
  Page page;
  const json::Value* value = Member(body, "page");
  if (value == nullptr) return page;
  if (!value->is_object()) return Fail(Code::kInvalidArgument, "`page` must be an object");
  page.present = true;
  if (const json::Value* token = Member(*value, "token")) {
    if (!token->is_string()) return Fail(Code::kInvalidArgument, "`page.token` must be a string");
    const std::string& text = token->as_string();
    if (!text.empty()) {
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), page.offset);
      if (ec != std::errc() || end != text.data() + text.size()) {
        return Fail(Code::kInvalidArgument, "`page.token` is not a token this PDP issued");
      }
    }
  }
  if (const json::Value* limit = Member(*value, "limit")) {
    if (!limit->is_int() || limit->as_int() < 1) return Fail(Code::kInvalidArgument, "`page.limit` must be a positive integer");
    page.limit = static_cast<size_t>(std::min<int64_t>(limit->as_int(), kMaxSearchPage));
  }
  return page;
}

// The candidates of a subject or resource search of `type`: the active version's entities of
// that type, then (subject search of Writ::Agent / Writ::Human) the registry's active identities
// of that kind that the entity files do not declare, by name, at most kMaxRegistryCandidates.
// Errors: kUnavailable when the registry cannot be listed.
Result<std::vector<cedar::EntityUid>> Candidates(const Engine& engine, const Snapshot& snapshot, const std::string& type,
                                                 bool with_registry) {
  std::vector<cedar::EntityUid> out;
  if (auto it = snapshot.entities_by_type.find(type); it != snapshot.entities_by_type.end()) out = it->second;
  const auto kind = RegistryKind(type);
  if (!with_registry || !kind || *kind == identity::Kind::kGroup || engine.registry() == nullptr) return out;
  identity::ListOptions options{.kind = *kind, .state = identity::State::kActive, .limit = kRegistryListPage};
  for (size_t listed = 0; listed < kMaxRegistryCandidates;) {
    auto page = engine.registry()->List(options);
    if (!page) return Fail(Code::kUnavailable, fmt::format("identity registry unavailable: {}", page.error().message));
    for (const identity::Identity& found : *page) {
      cedar::EntityUid uid{type, found.name};
      if (snapshot.entities.Find(uid) == nullptr) out.push_back(std::move(uid));
    }
    listed += page->size();
    if (static_cast<int64_t>(page->size()) < options.limit) break;
    options.after = page->back().name;
  }
  return out;
}

}  // namespace

cedar::EntityUid ActionUid(std::string_view name) {
  const size_t sep = name.rfind("::\"");
  if (sep != std::string_view::npos && sep > 0 && name.size() >= sep + 4 && name.back() == '"') {
    const std::string_view id = name.substr(sep + 3, name.size() - sep - 4);
    if (id.find('"') == std::string_view::npos && id.find('\\') == std::string_view::npos) {
      return {std::string(name.substr(0, sep)), std::string(id)};
    }
  }
  return {"Action", std::string(name)};
}

Result<json::Value> Authzen::Evaluation(const json::Value& body, std::string_view request_id,
                                        const json::Value& caller) const {
  WRIT_RETURN_IF_ERROR(CheckBodyIsObject(body));
  WRIT_ASSIGN_OR_RETURN(DecisionRequest request, ParseEvaluation(body, json::Value(json::Object{}), request_id));
  request.caller = caller;
  return ToJson(Decide(engine_, gate_, request, /*verbose=*/true));
}

Result<json::Value> Authzen::Evaluations(const json::Value& body, std::string_view request_id,
                                         const json::Value& caller) const {
  WRIT_RETURN_IF_ERROR(CheckBodyIsObject(body));
  const json::Value* items = Member(body, "evaluations");
  if (items != nullptr && !items->is_array()) return Fail(Code::kInvalidArgument, "`evaluations` must be an array");
  if (items == nullptr || items->as_array().empty()) return Evaluation(body, request_id, caller);
  if (items->as_array().size() > kMaxBatchItems) {
    return Fail(Code::kInvalidArgument, fmt::format("at most {} evaluations per request", kMaxBatchItems));
  }
  WRIT_ASSIGN_OR_RETURN(const Semantic semantic, ParseSemantic(body));
  // Check the defaults' shapes once: a malformed default is a problem of the whole payload.
  for (std::string_view key : {"subject", "action", "resource", "context"}) {
    const json::Value* value = Member(body, key);
    if (value != nullptr && !value->is_object()) {
      return Fail(Code::kInvalidArgument, fmt::format("`{}` must be an object, not {}", key, json::TypeName(value->type())));
    }
  }
  json::Array out;
  out.reserve(items->as_array().size());
  for (const json::Value& item : items->as_array()) {
    bool decision = false;
    if (!item.is_object()) {
      out.push_back(ItemFailure({Code::kInvalidArgument, "each evaluation must be an object"}));
    } else if (auto request = ParseEvaluation(item, body, request_id); !request) {
      out.push_back(ItemFailure(request.error()));
    } else {
      request->caller = caller;
      Answer answer = Decide(engine_, gate_, *request, /*verbose=*/false);
      decision = answer.decision;
      out.push_back(ToJson(std::move(answer)));
    }
    if (semantic == Semantic::kDenyOnFirstDeny && !decision) break;
    if (semantic == Semantic::kPermitOnFirstPermit && decision) break;
  }
  return json::Value(json::Object{{"evaluations", std::move(out)}});
}

Result<json::Value> Authzen::Search(SearchKind kind, const json::Value& body, std::string_view request_id,
                                    const json::Value& caller) const {
  WRIT_RETURN_IF_ERROR(CheckBodyIsObject(body));
  WRIT_ASSIGN_OR_RETURN(const Page page, ParsePage(body));
  WRIT_ASSIGN_OR_RETURN(EntityRef subject, ParseEntity(Member(body, "subject"), "subject", kind != SearchKind::kSubject));
  WRIT_ASSIGN_OR_RETURN(EntityRef resource, ParseEntity(Member(body, "resource"), "resource", kind != SearchKind::kResource));
  ActionRef action;
  if (kind != SearchKind::kAction) {
    WRIT_ASSIGN_OR_RETURN(action, ParseAction(Member(body, "action")));
  }
  WRIT_ASSIGN_OR_RETURN(const json::Value context, ParseContext(Member(body, "context")));

  const std::shared_ptr<const Snapshot> snapshot = engine_.snapshot();
  DecisionRequest request = MakeRequest(subject, action, resource, context, request_id);
  request.record = false;
  request.caller = caller;
  json::Array results;
  auto allowed = [&]() { return engine_.Decide(request, *snapshot).outcome == Outcome::kAllow; };
  if (kind == SearchKind::kAction) {
    for (const cedar::EntityUid& uid : snapshot->actions) {
      request.action = uid;
      if (allowed()) results.push_back(json::Object{{"name", uid.type == "Action" ? uid.id : cedar::ToString(uid)}});
    }
  } else {
    const std::string& type = kind == SearchKind::kSubject ? subject.uid.type : resource.uid.type;
    WRIT_ASSIGN_OR_RETURN(const auto candidates, Candidates(engine_, *snapshot, type, kind == SearchKind::kSubject));
    for (const cedar::EntityUid& uid : candidates) {
      (kind == SearchKind::kSubject ? request.principal : request.resource) = uid;
      if (allowed()) results.push_back(json::Object{{"type", uid.type}, {"id", uid.id}});
    }
  }

  ledger::Event event;
  event.kind = ledger::EventKind::kDecision;
  event.actor = kind == SearchKind::kSubject ? "" : cedar::ToString(subject.uid);
  event.subject = event.actor;
  event.action = kind == SearchKind::kAction ? "" : cedar::ToString(action.uid);
  event.resource = kind == SearchKind::kResource ? "" : cedar::ToString(resource.uid);
  event.policy_set_version = std::to_string(snapshot->info.version);
  event.correlation_id = std::string(request_id);
  event.details = json::Object{{"search", kind == SearchKind::kSubject    ? "subject"
                                          : kind == SearchKind::kResource ? "resource"
                                                                          : "action"},
                               {"results", static_cast<int64_t>(results.size())}};
  WRIT_RETURN_IF_ERROR(engine_.RecordEvent(std::move(event)));

  if (!page.present) return json::Value(json::Object{{"results", std::move(results)}});
  const size_t total = results.size();
  const size_t begin = std::min(page.offset, total);
  const size_t end = std::min(total, begin + page.limit);
  json::Array slice(std::make_move_iterator(results.begin() + static_cast<std::ptrdiff_t>(begin)),
                    std::make_move_iterator(results.begin() + static_cast<std::ptrdiff_t>(end)));
  const std::string next = end < total ? std::to_string(end) : "";
  json::Value page_out = json::Object{{"next_token", next}, {"count", static_cast<int64_t>(slice.size())},
                                      {"total", static_cast<int64_t>(total)}};
  return json::Value(json::Object{{"page", std::move(page_out)}, {"results", std::move(slice)}});
}

json::Value Authzen::Metadata(std::string_view base_url) {
  const std::string base(base_url);
  return json::Object{{"policy_decision_point", base},
                      {"access_evaluation_endpoint", base + "/access/v1/evaluation"},
                      {"access_evaluations_endpoint", base + "/access/v1/evaluations"},
                      {"search_subject_endpoint", base + "/access/v1/search/subject"},
                      {"search_resource_endpoint", base + "/access/v1/search/resource"},
                      {"search_action_endpoint", base + "/access/v1/search/action"}};
}

}  // namespace writ::authz
