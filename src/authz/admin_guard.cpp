#include "authz/admin_guard.h"

#include <fmt/format.h>

namespace writ::authz {

const std::string_view kDefaultAdminPolicies = R"(// writ's default admin policy set: the local administrators
// (the uids in the config's admin.uids) may do everything; nobody else may do anything.
@id("local-administrators")
permit (principal in Writ::Group::"administrators", action, resource);
)";

Result<std::unique_ptr<AdminGuard>> AdminGuard::Create(std::string_view policies) {
  PolicySource source;
  source.files["admin.cedar"] = std::string(policies);
  WRIT_ASSIGN_OR_RETURN(auto snapshot, Compile(source, VersionInfo{.content_hash = ContentHash(source)}));
  return std::unique_ptr<AdminGuard>(new AdminGuard(std::move(snapshot)));
}

Status AdminGuard::Authorize(const AdminCaller& caller, std::string_view action, std::string_view resource,
                             const json::Value& context) const {
  cedar::Entity principal;
  principal.uid = {caller.is_human ? "Writ::Human" : "Writ::LocalUser", caller.name};
  principal.attrs = cedar::Value::Record({{"name", cedar::Value::String(caller.name)}});
  if (caller.is_administrator) principal.parents.push_back({"Writ::Group", "administrators"});
  cedar::Entities entities = snapshot_->entities;
  entities.Add(std::move(principal));
  // Fail closed: an unusable entity store denies the administrative action.
  if (!entities.Finalize()) return Fail(Code::kPermissionDenied, "the admin entities cannot be loaded");

  cedar::RecordFields fields;
  if (context.is_object()) {
    auto value = cedar::ValueFromJson(context);
    if (!value || value->kind() != cedar::ValueKind::kRecord) return Fail(Code::kPermissionDenied, "bad admin context");
    fields = value->as_record();
  }
  const cedar::Request request = cedar::Request::Make(
      {caller.is_human ? "Writ::Human" : "Writ::LocalUser", caller.name}, {"Writ::Action", std::string(action)},
      {"Writ::Admin", std::string(resource)}, cedar::Value::Record(std::move(fields)));
  const cedar::Response response = snapshot_->authorizer->Authorize(request, entities);
  if (response.decision == cedar::Decision::kAllow) return Ok();
  std::string why;
  for (const auto id : response.reasons) why += fmt::format("{}`{}`", why.empty() ? "" : ", ", id);
  for (const auto& error : response.errors) why += fmt::format("{}`{}` erred", why.empty() ? "" : ", ", error.policy_id);
  return Fail(Code::kPermissionDenied, fmt::format("the admin policies do not permit `{}` to {}{}", caller.name, action,
                                                   why.empty() ? "" : " (" + why + ")"));
}

}  // namespace writ::authz
