#include "ledger/ocsf.h"

#include "common/json.h"

namespace writ::ledger {
namespace {

constexpr int kCategoryIam = 3;
constexpr int kCategoryApplication = 6;
constexpr int kClassAuthentication = 3002;
constexpr int kClassEntityManagement = 3004;
constexpr int kClassApiActivity = 6003;
constexpr int kActivityOther = 99;
constexpr int kSeverityInformational = 1;
constexpr int kSeverityMedium = 3;
constexpr int kSeverityHigh = 4;
constexpr int kStatusUnknown = 0;
constexpr int kStatusSuccess = 1;
constexpr int kStatusFailure = 2;
constexpr int kAuthProtocolOauth2 = 6;

// API Activity: 1 Create, 2 Read, 3 Update, 4 Delete, from an HTTP-style action name.
int ApiActivity(std::string_view action) {
  auto has = [&](std::string_view verb) { return action.find(verb) != std::string_view::npos; };
  if (has("http:GET") || has("http:HEAD") || has(":read") || has("/read")) return 2;
  if (has("http:POST") || has(":create")) return 1;
  if (has("http:PUT") || has("http:PATCH") || has(":update")) return 3;
  if (has("http:DELETE") || has(":delete")) return 4;
  return kActivityOther;
}

// Entity Management: 1 Create, 2 Read, 3 Update, 4 Delete, 8 Enable, 9 Disable, 12 Suspend, 13 Resume.
int EntityActivity(const Event& event) {
  if (event.kind == EventKind::kBreakerTripped) return 12;
  const json::Value* change = event.details.Find("change");
  std::string_view name = change != nullptr && change->is_string() ? std::string_view(change->as_string()) : "";
  if (name == "create") return 1;
  if (name == "update") return 3;
  if (name == "delete" || name == "retire") return 4;
  if (name == "enable" || name == "activate") return 8;
  if (name == "disable") return 9;
  if (name == "suspend") return 12;
  if (name == "resume") return 13;
  return kActivityOther;
}

}  // namespace

std::string ToOcsfJson(const StoredEvent& stored, const OcsfOptions& options) {
  const Event& event = stored.event;
  int class_uid = kClassApiActivity;
  int activity = kActivityOther;
  switch (event.kind) {
    case EventKind::kDecision:
      activity = ApiActivity(event.action);
      break;
    case EventKind::kTokenIssued:
      class_uid = kClassAuthentication;
      activity = 3;  // Authentication Ticket
      break;
    case EventKind::kTokenRevoked:
      class_uid = kClassAuthentication;
      activity = 2;  // Logoff
      break;
    case EventKind::kIdentityChanged:
    case EventKind::kBreakerTripped:
      class_uid = kClassEntityManagement;
      activity = EntityActivity(event);
      break;
    default:
      break;
  }
  int category = class_uid / 1000 == kCategoryIam ? kCategoryIam : kCategoryApplication;
  int severity = event.kind == EventKind::kBreakerTripped ? kSeverityHigh
                 : event.kind == EventKind::kAlert        ? kSeverityMedium
                                                          : kSeverityInformational;
  int status = event.decision == Decision::kAllow  ? kStatusSuccess
               : event.decision == Decision::kDeny ? kStatusFailure
                                                   : kStatusUnknown;
  if (event.decision == Decision::kNone && event.kind != EventKind::kDecision) status = kStatusSuccess;

  json::Writer w;
  w.BeginObject();
  w.Key("category_uid").Int(category);
  w.Key("class_uid").Int(class_uid);
  w.Key("activity_id").Int(activity);
  w.Key("type_uid").Int(int64_t{class_uid} * 100 + activity);
  w.Key("time").Int(ToUnixMillis(event.time));
  w.Key("severity_id").Int(severity);
  w.Key("status_id").Int(status);
  std::string message(EventKindName(event.kind));
  if (event.decision != Decision::kNone) {
    message.push_back(' ');
    message.append(DecisionName(event.decision));
  }
  w.Key("message").String(message);
  w.Key("metadata").BeginObject();
  w.Key("version").String("1.8.0");
  w.Key("uid").String(event.id);
  w.Key("log_name").String("writ-ledger");
  w.Key("sequence").Int(static_cast<int64_t>(stored.index));
  if (!event.correlation_id.empty()) w.Key("correlation_uid").String(event.correlation_id);
  w.Key("product").BeginObject();
  w.Key("name").String(options.product_name);
  w.Key("vendor_name").String(options.vendor_name);
  w.Key("version").String(options.product_version);
  w.EndObject();
  w.EndObject();

  w.Key("actor").BeginObject();
  w.Key("app_name").String("writ");
  if (!event.actor.empty()) {
    w.Key("user").BeginObject().Key("uid").String(event.actor).EndObject();
  }
  if (event.decision != Decision::kNone) {
    w.Key("authorizations").BeginArray();
    w.BeginObject();
    w.Key("decision").String(event.decision == Decision::kAllow ? "allowed"
                             : event.decision == Decision::kDeny ? "denied"
                                                                 : "approval required");
    if (!event.policy_ids.empty() || !event.policy_set_version.empty()) {
      w.Key("policy").BeginObject();
      if (!event.policy_ids.empty()) w.Key("uid").String(event.policy_ids.front());
      if (!event.policy_set_version.empty()) w.Key("version").String(event.policy_set_version);
      w.Key("is_applied").Bool(true);
      w.EndObject();
    }
    w.EndObject();
    w.EndArray();
  }
  w.EndObject();

  if (class_uid == kClassApiActivity) {
    w.Key("api").BeginObject();
    w.Key("operation").String(event.action.empty() ? std::string(EventKindName(event.kind)) : event.action);
    w.Key("request").BeginObject().Key("uid").String(event.id).EndObject();
    w.EndObject();
    w.Key("src_endpoint").BeginObject().Key("name").String(event.actor.empty() ? "writ" : event.actor).EndObject();
    if (!event.resource.empty()) {
      w.Key("resources").BeginArray().BeginObject().Key("uid").String(event.resource).EndObject().EndArray();
    }
  } else if (class_uid == kClassAuthentication) {
    w.Key("user").BeginObject().Key("uid").String(event.subject).EndObject();
    w.Key("service").BeginObject().Key("name").String("writ").EndObject();
    w.Key("auth_protocol_id").Int(kAuthProtocolOauth2);
  } else {
    w.Key("entity").BeginObject().Key("uid").String(event.subject).EndObject();
  }

  w.Key("unmapped").BeginObject().Key("writ").BeginObject();
  w.Key("kind").String(EventKindName(event.kind));
  if (!event.subject.empty()) w.Key("subject").String(event.subject);
  if (!event.trace_id.empty()) w.Key("trace_id").String(event.trace_id);
  if (event.policy_ids.size() > 1) {
    w.Key("policy_ids").BeginArray();
    for (const std::string& policy : event.policy_ids) w.String(policy);
    w.EndArray();
  }
  if (event.details.is_object()) w.Key("details").Json(event.details);
  w.EndObject().EndObject();
  w.EndObject();
  return w.Take();
}

Status ExportOcsf(const Ledger& ledger, const EventQuery& query,
                  const std::function<bool(std::string_view line)>& sink, const OcsfOptions& options) {
  EventQuery page = query;
  page.limit = 1000;
  for (;;) {
    WRIT_ASSIGN_OR_RETURN(std::vector<StoredEvent> events, ledger.Query(page));
    for (const StoredEvent& event : events) {
      std::string line = ToOcsfJson(event, options);
      line += '\n';
      if (!sink(line)) return Ok();
    }
    if (events.size() < static_cast<size_t>(page.limit)) return Ok();
    page.after_index = events.back().index + 1;
  }
}

}  // namespace writ::ledger
