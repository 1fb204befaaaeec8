#include "server/audit_api.h"

#include <charconv>

#include <fmt/format.h>

#include "common/encoding.h"
#include "ledger/ledger.h"
#include "ledger/note.h"
#include "ledger/ocsf.h"

namespace writ::server {
namespace {

constexpr int64_t kDefaultEventPage = 100;
constexpr size_t kMaxReasoningBytes = 64 << 10;
constexpr size_t kMaxIdLength = 128;

std::string HashText(const ledger::Hash& hash) {
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

Result<uint64_t> ParseCount(const Request& request, std::string_view name, std::optional<uint64_t> fallback) {
  const auto text = request.query.Get(name);
  if (!text) {
    if (fallback) return *fallback;
    return Fail(Code::kInvalidArgument, fmt::format("query parameter `{}` is required", name));
  }
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    return Fail(Code::kInvalidArgument, fmt::format("query parameter `{}` must be a non-negative integer", name));
  }
  return value;
}

Response TextResponse(std::string body) {
  Response response;
  response.status = 200;
  response.headers.Set("Content-Type", "text/plain; charset=utf-8");
  response.body = std::move(body);
  return response;
}

Result<ledger::EventQuery> ParseEventQuery(const Request& request) {
  ledger::EventQuery query;
  if (const auto subject = request.query.Get("subject")) query.subject = std::string(*subject);
  if (const auto correlation = request.query.Get("correlation_id")) query.correlation_id = std::string(*correlation);
  if (const auto kind = request.query.Get("kind")) {
    WRIT_ASSIGN_OR_RETURN(query.kind, ledger::ParseEventKind(*kind));
  }
  if (const auto from = request.query.Get("from")) {
    WRIT_ASSIGN_OR_RETURN(query.from, ParseRfc3339(*from));
  }
  if (const auto to = request.query.Get("to")) {
    WRIT_ASSIGN_OR_RETURN(query.to, ParseRfc3339(*to));
  }
  WRIT_ASSIGN_OR_RETURN(query.after_index, ParseCount(request, "after", 0));
  WRIT_ASSIGN_OR_RETURN(const uint64_t limit, ParseCount(request, "limit", kDefaultEventPage));
  query.limit = static_cast<int64_t>(std::min<uint64_t>(limit, 10000));
  if (query.limit < 1) return Fail(Code::kInvalidArgument, "query parameter `limit` must be at least 1");
  return query;
}

json::Value EventJson(const ledger::StoredEvent& stored) {
  const ledger::Event& event = stored.event;
  json::Value out;
  out.Set("index", static_cast<int64_t>(stored.index));
  out.Set("id", event.id);
  out.Set("time", FormatRfc3339(event.time));
  out.Set("kind", ledger::EventKindName(event.kind));
  if (!event.actor.empty()) out.Set("actor", event.actor);
  if (!event.subject.empty()) out.Set("subject", event.subject);
  if (!event.action.empty()) out.Set("action", event.action);
  if (!event.resource.empty()) out.Set("resource", event.resource);
  if (event.decision != ledger::Decision::kNone) out.Set("decision", ledger::DecisionName(event.decision));
  if (!event.policy_ids.empty()) {
    json::Value ids = json::Array{};
    for (const auto& id : event.policy_ids) ids.Append(id);
    out.Set("policy_ids", std::move(ids));
  }
  if (!event.policy_set_version.empty()) out.Set("policy_set_version", event.policy_set_version);
  if (!event.correlation_id.empty()) out.Set("correlation_id", event.correlation_id);
  if (!event.trace_id.empty()) out.Set("trace_id", event.trace_id);
  if (!event.details.is_null()) out.Set("details", event.details);
  return out;
}

class AuditApi {
 public:
  AuditApi(ledger::Ledger& ledger, const ledger::NoteSigner& signer, identity::Registry& registry,
           const AdminAccess& access, AgentAuthenticator authenticate)
      : ledger_(ledger), signer_(signer), registry_(registry), access_(access), authenticate_(std::move(authenticate)) {}

  // The trace is hashed into the ledger like any event, so it is as tamper-evident as the
  // decisions that share its correlation id (`writ audit query --correlation-id`).
  Result<Response> AddTrace(const Request& request) {
    const auto authorization = request.headers.Get("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (!authorization || authorization->substr(0, kBearer.size()) != kBearer) {
      return Fail(Code::kUnauthenticated, "a reasoning trace needs `Authorization: Bearer <writ token>`");
    }
    WRIT_ASSIGN_OR_RETURN(const std::string agent, authenticate_(authorization->substr(kBearer.size())));
    WRIT_ASSIGN_OR_RETURN(const json::Value body, ParseJsonBody(request));
    json::ObjectReader reader(body, "trace");
    WRIT_RETURN_IF_ERROR(reader.CheckIsObject());
    WRIT_ASSIGN_OR_RETURN(const std::string correlation_id, reader.RequiredString("correlation_id"));
    WRIT_ASSIGN_OR_RETURN(const std::string reasoning, reader.RequiredString("reasoning"));
    WRIT_ASSIGN_OR_RETURN(const auto trace_id, reader.OptionalString("trace_id"));
    WRIT_RETURN_IF_ERROR(reader.RejectUnknown());
    if (correlation_id.empty() || correlation_id.size() > kMaxIdLength || (trace_id && trace_id->size() > kMaxIdLength)) {
      return Fail(Code::kInvalidArgument, fmt::format("correlation_id and trace_id must have 1 to {} characters", kMaxIdLength));
    }
    if (reasoning.size() > kMaxReasoningBytes) {
      return Fail(Code::kResourceExhausted, fmt::format("reasoning is longer than {} bytes", kMaxReasoningBytes));
    }
    ledger::Event event;
    event.kind = ledger::EventKind::kReasoningTrace;
    event.actor = agent;
    event.subject = agent;
    event.correlation_id = correlation_id;
    event.trace_id = trace_id.value_or("");
    event.details = json::Object{{"reasoning", reasoning}};
    WRIT_ASSIGN_OR_RETURN(const ledger::Receipt receipt, ledger_.Append(std::move(event)));
    json::Value answer;
    answer.Set("id", receipt.id);
    answer.Set("index", static_cast<int64_t>(receipt.index));
    answer.Set("correlation_id", correlation_id);
    return JsonResponse(201, answer);
  }

  Result<Response> Checkpoint(const Request&) {
    WRIT_ASSIGN_OR_RETURN(const auto latest, ledger_.LatestCheckpoint());
    if (!latest) return Fail(Code::kNotFound, "the ledger has no checkpoint yet");
    return TextResponse(*latest);
  }

  Result<Response> Key(const Request&) { return TextResponse(signer_.VerifierKey() + "\n"); }

  Result<Response> Inclusion(const Request& request) {
    const auto id = request.query.Get("id");
    if (!id || id->empty()) return Fail(Code::kInvalidArgument, "query parameter `id` is required");
    WRIT_ASSIGN_OR_RETURN(const uint64_t tree_size, ParseCount(request, "tree_size", 0));
    WRIT_ASSIGN_OR_RETURN(const auto proof, ledger_.ProveInclusionById(std::string(*id), tree_size));
    json::Value body;
    body.Set("id", std::string(*id));
    body.Set("index", static_cast<int64_t>(proof.index));
    body.Set("tree_size", static_cast<int64_t>(proof.tree_size));
    body.Set("leaf_hash", HashText(proof.leaf_hash));
    json::Value hashes = json::Array{};
    for (const auto& hash : proof.hashes) hashes.Append(HashText(hash));
    body.Set("hashes", std::move(hashes));
    WRIT_ASSIGN_OR_RETURN(const auto root, ledger_.Root(proof.tree_size));
    body.Set("root", HashText(root));
    return JsonResponse(200, body);
  }

  Result<Response> Consistency(const Request& request) {
    WRIT_ASSIGN_OR_RETURN(const uint64_t from, ParseCount(request, "from", std::nullopt));
    WRIT_ASSIGN_OR_RETURN(const uint64_t to, ParseCount(request, "to", ledger_.Size()));
    WRIT_ASSIGN_OR_RETURN(const auto proof, ledger_.ProveConsistency(from, to));
    json::Value body;
    body.Set("from", static_cast<int64_t>(from));
    body.Set("to", static_cast<int64_t>(to));
    WRIT_ASSIGN_OR_RETURN(const auto first_root, ledger_.Root(from));
    WRIT_ASSIGN_OR_RETURN(const auto second_root, ledger_.Root(to));
    body.Set("from_root", HashText(first_root));
    body.Set("to_root", HashText(second_root));
    json::Value hashes = json::Array{};
    for (const auto& hash : proof) hashes.Append(HashText(hash));
    body.Set("hashes", std::move(hashes));
    return JsonResponse(200, body);
  }

  // Event bodies may name identities, tools and reasons, so reading them is an administrative
  // action under the admin policy set. Checkpoint, key and proofs stay public: they reveal only
  // hashes and sizes, and auditors outside writd need them to verify what they were shown.
  Result<Response> Events(const Request& request) {
    WRIT_RETURN_IF_ERROR(AuthorizeAdmin(request, access_, registry_, {"audit:read", "audit", json::Value()}));
    WRIT_ASSIGN_OR_RETURN(const auto query, ParseEventQuery(request));
    WRIT_ASSIGN_OR_RETURN(const auto events, ledger_.Query(query));
    json::Value items = json::Array{};
    for (const auto& stored : events) items.Append(EventJson(stored));
    json::Value body;
    body.Set("items", std::move(items));
    body.Set("next", static_cast<int64_t>(events.size()) == query.limit
                         ? json::Value(static_cast<int64_t>(events.back().index + 1))
                         : json::Value());
    body.Set("size", static_cast<int64_t>(ledger_.Size()));
    return JsonResponse(200, body);
  }

  // Pages through the ledger so that one response stays bounded; the shipper continues from the
  // `X-Writ-Next` header (an index for `after`) until it is absent.
  Result<Response> Export(const Request& request) {
    WRIT_RETURN_IF_ERROR(AuthorizeAdmin(request, access_, registry_, {"audit:export", "audit", json::Value()}));
    WRIT_ASSIGN_OR_RETURN(ledger::EventQuery query, ParseEventQuery(request));
    constexpr int64_t kPage = 1000;
    constexpr size_t kMaxEventsPerResponse = 50'000;
    query.limit = kPage;
    std::string lines;
    size_t exported = 0;
    std::optional<uint64_t> next;
    while (true) {
      WRIT_ASSIGN_OR_RETURN(const auto events, ledger_.Query(query));
      for (const auto& stored : events) {
        lines += ledger::ToOcsfJson(stored);
        lines += '\n';
        query.after_index = stored.index + 1;
      }
      exported += events.size();
      if (static_cast<int64_t>(events.size()) < kPage) break;
      if (exported >= kMaxEventsPerResponse) {
        next = query.after_index;
        break;
      }
    }
    Response response = TextResponse(std::move(lines));
    response.headers.Set("Content-Type", "application/x-ndjson");
    if (next) response.headers.Set("X-Writ-Next", std::to_string(*next));
    return response;
  }

 private:
  ledger::Ledger& ledger_;
  const ledger::NoteSigner& signer_;
  identity::Registry& registry_;
  const AdminAccess& access_;
  AgentAuthenticator authenticate_;
};

}  // namespace

void AddAuditRoutes(Router& router, ledger::Ledger& ledger, const ledger::NoteSigner& signer,
                    identity::Registry& registry, const AdminAccess& access, AgentAuthenticator authenticate) {
  auto api = std::make_shared<AuditApi>(ledger, signer, registry, access, std::move(authenticate));
  router.Post("/v1/traces", [api](const Request& request) { return api->AddTrace(request); });
  router.Get("/v1/audit/checkpoint", [api](const Request& request) { return api->Checkpoint(request); });
  router.Get("/v1/audit/key", [api](const Request& request) { return api->Key(request); });
  router.Get("/v1/audit/proof/inclusion", [api](const Request& request) { return api->Inclusion(request); });
  router.Get("/v1/audit/proof/consistency", [api](const Request& request) { return api->Consistency(request); });
  router.Get("/v1/audit/events", [api](const Request& request) { return api->Events(request); });
  router.Get("/v1/audit/export", [api](const Request& request) { return api->Export(request); });
}

}  // namespace writ::server
