#include "authz/admin_guard.h"

#include <fmt/format.h>

#include "common/log.h"

namespace writ::authz {

const std::string_view kDefaultAdminPolicies = R"(// writ's default admin policy set: the local administrators
// (the uids in the config's admin.uids) may do everything; nobody else may do anything.
@id("local-administrators")
permit (principal in Writ::Group::"administrators", action, resource);
)";

namespace {

constexpr std::string_view kAdminResourceType = "Writ::Admin";
constexpr std::string_view kActionType = "Writ::Action";

cedar::EntityUid PrincipalUid(const AdminCaller& caller) {
  return {caller.is_human ? "Writ::Human" : "Writ::LocalUser", caller.name};
}

}  // namespace

Result<std::unique_ptr<AdminGuard>> AdminGuard::Create(std::string_view policies, Recorder* recorder) {
  PolicySource source;
  source.files["admin.cedar"] = std::string(policies);
  WRIT_ASSIGN_OR_RETURN(auto snapshot, Compile(source, VersionInfo{.content_hash = ContentHash(source)}));
  return std::unique_ptr<AdminGuard>(new AdminGuard(std::move(snapshot), recorder));
}

Status AdminGuard::Authorize(const AdminCaller& caller, std::string_view action, std::string_view resource,
                             const json::Value& context) const {
  cedar::Entity principal;
  principal.uid = PrincipalUid(caller);
  principal.attrs = cedar::Value::Record({{"name", cedar::Value::String(caller.name)}});
  if (caller.is_administrator) principal.parents.push_back({"Writ::Group", "administrators"});
  for (const auto& group : caller.groups) principal.parents.push_back({"Writ::Group", group});
  cedar::Entities entities = cedar::Entities::Over(snapshot_->entities);
  entities.Add(std::move(principal));
  if (auto finalized = entities.Finalize(); !finalized) {
    return Deny(caller, action, resource, context, {}, finalized.error().message);
  }

  cedar::RecordFields fields;
  if (context.is_object()) {
    auto value = cedar::ValueFromJson(context);
    if (!value || value->kind() != cedar::ValueKind::kRecord) return Deny(caller, action, resource, context, {}, "bad admin context");
    fields = value->as_record();
  }
  const cedar::Request request =
      cedar::Request::Make(PrincipalUid(caller), {std::string(kActionType), std::string(action)},
                           {std::string(kAdminResourceType), std::string(resource)}, cedar::Value::Record(std::move(fields)));
  const cedar::Response response = snapshot_->authorizer->Authorize(request, entities);
  if (response.decision == cedar::Decision::kAllow) return Ok();
  std::vector<std::string> policy_ids;
  std::string why;
  for (const auto id : response.reasons) {
    policy_ids.emplace_back(id);
    why += fmt::format("{}`{}`", why.empty() ? "" : ", ", id);
  }
  for (const auto& error : response.errors) why += fmt::format("{}`{}` erred", why.empty() ? "" : ", ", error.policy_id);
  return Deny(caller, action, resource, context, std::move(policy_ids), why.empty() ? "no admin policy permits it" : why);
}

Status AdminGuard::Deny(const AdminCaller& caller, std::string_view action, std::string_view resource,
                        const json::Value& context, std::vector<std::string> policy_ids, std::string why) const {
  const cedar::EntityUid action_uid{std::string(kActionType), std::string(action)};
  if (recorder_ != nullptr) {
    ledger::Event event;
    event.kind = ledger::EventKind::kDecision;
    event.actor = cedar::ToString(PrincipalUid(caller));
    event.subject = event.actor;
    event.action = cedar::ToString(action_uid);
    event.resource = cedar::ToString({std::string(kAdminResourceType), std::string(resource)});
    event.decision = ledger::Decision::kDeny;
    event.policy_ids = policy_ids;
    event.policy_set_version = "admin";
    json::Value details = json::Object{{"admin", true}, {"reason", why}};
    if (context.is_object()) details.Set("context", context);
    event.details = std::move(details);
    if (auto recorded = recorder_->Record(std::move(event)); !recorded) {
      // Still a deny; the failure is worth a log line since the record is missing.
      log::Error("admin denial not recorded in the ledger", {{"error", recorded.error().message}});
    }
  }
  return Fail(Code::kPermissionDenied,
              fmt::format("the admin policies do not permit `{}` to {} ({})", caller.name, action, why));
}

}  // namespace writ::authz
