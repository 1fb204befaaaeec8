#include "authz/policy_set.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/encoding.h"
#include "crypto/hash.h"

namespace writ::authz {
namespace {

constexpr size_t kMaxDiffLines = 4000;  // per file; larger files are summarised

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

enum class FileKind : uint8_t { kPolicies, kSchema, kSchemaJson, kEntities };

Result<FileKind> KindOf(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    return Fail(Code::kInvalidArgument, fmt::format("file name `{}` must be 1 to 255 characters without `/`", name.substr(0, 64)));
  }
  if (EndsWith(name, ".cedar")) return FileKind::kPolicies;
  if (EndsWith(name, ".cedarschema.json")) return FileKind::kSchemaJson;
  if (EndsWith(name, ".cedarschema")) return FileKind::kSchema;
  if (EndsWith(name, "entities.json")) return FileKind::kEntities;
  return Fail(Code::kInvalidArgument,
              fmt::format("file `{}` is not a policy set file (.cedar, .cedarschema, entities.json)", name));
}

Result<ApprovalSpec> ReadApprovalSpec(const cedar::Policy& policy, std::string_view file) {
  ApprovalSpec spec;
  if (const std::string* ttl = policy.FindAnnotation("approval_ttl")) {
    auto parsed = ParseDuration(*ttl);
    if (!parsed) {
      return Fail(Code::kInvalidArgument, fmt::format("{}: policy `{}`: @approval_ttl: {}", file, policy.id, parsed.error().message));
    }
    spec.ttl = *parsed;
  }
  if (const std::string* approvers = policy.FindAnnotation("approvers")) spec.approvers = *approvers;
  return spec;
}

void AddActionsFromScope(const cedar::Policy& policy, std::set<cedar::EntityUid>& actions) {
  for (const auto& uid : policy.action.entities) actions.insert(uid);
}

}  // namespace

json::Value SourceToJson(const PolicySource& source) {
  json::Value out = json::Object{};
  for (const auto& [name, text] : source.files) out.Set(name, text);
  return out;
}

Result<PolicySource> SourceFromJson(const json::Value& files) {
  if (!files.is_object()) return Fail(Code::kInvalidArgument, "`files` must be an object of file name to text");
  PolicySource source;
  size_t total = 0;
  for (const auto& [name, text] : files.as_object()) {
    if (!text.is_string()) return Fail(Code::kInvalidArgument, fmt::format("file `{}` must be a string", name.substr(0, 64)));
    total += text.as_string().size();
    source.files[name] = text.as_string();
  }
  if (source.files.size() > kMaxSourceFiles || total > kMaxSourceBytes) {
    return Fail(Code::kResourceExhausted, fmt::format("a policy set holds at most {} files and {} bytes", kMaxSourceFiles, kMaxSourceBytes));
  }
  return source;
}

std::string ContentHash(const PolicySource& source) {
  crypto::Sha256Hasher hasher;
  for (const auto& [name, text] : source.files) {
    hasher.Update(fmt::format("{}:{}\n{}:", name.size(), name, text.size()));
    hasher.Update(text);
  }
  const crypto::Sha256Digest digest = hasher.Finish();
  return HexEncode(std::span<const uint8_t>(digest.data(), digest.size()));
}

Result<std::shared_ptr<const Snapshot>> Compile(const PolicySource& source, const VersionInfo& info) {
  if (source.files.size() > kMaxSourceFiles) return Fail(Code::kResourceExhausted, "too many files in the policy set");
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->info = info;
  // The schema first: entity files are parsed against it.
  for (const auto& [name, text] : source.files) {
    WRIT_ASSIGN_OR_RETURN(const FileKind kind, KindOf(name));
    if (kind != FileKind::kSchema && kind != FileKind::kSchemaJson) continue;
    if (snapshot->schema) return Fail(Code::kInvalidArgument, fmt::format("`{}`: a policy set has at most one schema", name));
    auto schema = kind == FileKind::kSchema ? cedar::ParseSchema(text) : cedar::ParseSchemaJson(text);
    if (!schema) return Fail(Code::kInvalidArgument, fmt::format("{}:{}", name, schema.error().message));
    snapshot->schema = std::move(*schema);
  }

  cedar::PolicySet combined;
  std::map<std::string, std::string, std::less<>> file_of_id;
  std::set<cedar::EntityUid> actions;
  cedar::Entities entities;
  bool have_entities = false;
  const std::string* entity_text = nullptr;
  for (const auto& [name, text] : source.files) {
    WRIT_ASSIGN_OR_RETURN(const FileKind kind, KindOf(name));
    if (kind == FileKind::kPolicies) {
      auto parsed = cedar::ParsePolicySet(text, {.ids_from_annotation = true});
      if (!parsed) return Fail(Code::kInvalidArgument, fmt::format("{}:{}", name, parsed.error().front().ToString()));
      if (!parsed->templates().empty()) {
        const auto& first = *parsed->templates().front();
        return Fail(Code::kInvalidArgument, fmt::format("{}:{}:{}: templates are not supported in policy sets", name,
                                                        first.span.line, first.span.column));
      }
      for (const auto& policy : parsed->policies()) {
        if (policy->FindAnnotation("id") == nullptr) {
          return Fail(Code::kInvalidArgument, fmt::format("{}:{}:{}: policy has no `@id(\"...\")` annotation", name,
                                                          policy->span.line, policy->span.column));
        }
        if (auto it = file_of_id.find(policy->id); it != file_of_id.end()) {
          return Fail(Code::kInvalidArgument, fmt::format("{}:{}:{}: policy id `{}` is already used in {}", name,
                                                          policy->span.line, policy->span.column, policy->id, it->second));
        }
        file_of_id.emplace(policy->id, name);
        if (const std::string* approval = policy->FindAnnotation("approval")) {
          if (*approval != "required") {
            return Fail(Code::kInvalidArgument, fmt::format("{}: policy `{}`: @approval must be \"required\"", name, policy->id));
          }
          if (policy->effect != cedar::Effect::kPermit) {
            return Fail(Code::kInvalidArgument, fmt::format("{}: policy `{}`: @approval applies to permit policies only", name, policy->id));
          }
          WRIT_ASSIGN_OR_RETURN(ApprovalSpec spec, ReadApprovalSpec(*policy, name));
          snapshot->approval_policies.emplace(policy->id, std::move(spec));
        }
        AddActionsFromScope(*policy, actions);
        WRIT_RETURN_IF_ERROR(combined.Add(*policy));
      }
    } else if (kind == FileKind::kEntities) {
      if (have_entities) return Fail(Code::kInvalidArgument, fmt::format("`{}`: a policy set has at most one entities file", name));
      have_entities = true;
      const cedar::Schema* schema = snapshot->schema ? &*snapshot->schema : nullptr;
      auto parsed = cedar::ParseEntities(text, {.schema = schema, .max_bytes = kMaxSourceBytes});
      if (!parsed) return Fail(Code::kInvalidArgument, fmt::format("{}: {}", name, parsed.error().message));
      entities = std::move(*parsed);
      entity_text = &text;
    }
  }
  if (entity_text != nullptr) {
    // The entity store has no iteration; the uids come from the file itself (already validated).
    WRIT_ASSIGN_OR_RETURN(const json::Value doc, json::Parse(*entity_text, {.max_bytes = kMaxSourceBytes, .max_depth = 128}));
    if (doc.is_array()) {
      for (const auto& item : doc.as_array()) {
        const json::Value* uid_json = item.Find("uid");
        if (uid_json == nullptr) continue;
        auto uid = cedar::EntityUidFromJson(*uid_json);
        if (!uid) continue;
        if (uid->type == "Action" || EndsWith(uid->type, "::Action")) {
          actions.insert(*uid);
        } else {
          snapshot->entities_by_type[uid->type].push_back(*uid);
        }
      }
    }
    for (auto& [type, uids] : snapshot->entities_by_type) {
      std::sort(uids.begin(), uids.end());
      uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    }
  }
  if (snapshot->schema) {
    for (const auto& [uid, def] : snapshot->schema->actions()) actions.insert(uid);
  }
  snapshot->entities = std::move(entities);
  snapshot->authorizer = std::make_unique<cedar::Authorizer>(std::move(combined));
  snapshot->actions.assign(actions.begin(), actions.end());
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

std::shared_ptr<const Snapshot> EmptySnapshot() {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->authorizer = std::make_unique<cedar::Authorizer>(cedar::PolicySet());
  return snapshot;
}

namespace {

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Longest-common-subsequence line diff; files beyond kMaxDiffLines are shown as replaced.
void DiffFile(std::string_view a, std::string_view b, std::string& out) {
  const auto left = SplitLines(a);
  const auto right = SplitLines(b);
  if (left.size() > kMaxDiffLines || right.size() > kMaxDiffLines) {
    for (auto line : left) out += fmt::format("-{}\n", line);
    for (auto line : right) out += fmt::format("+{}\n", line);
    return;
  }
  const size_t n = left.size();
  const size_t m = right.size();
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) = left[i] == right[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  size_t i = 0;
  size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && left[i] == right[j]) {
      out += fmt::format(" {}\n", left[i]);
      ++i, ++j;
    } else if (j < m && (i == n || at(i, j + 1) >= at(i + 1, j))) {
      out += fmt::format("+{}\n", right[j++]);
    } else {
      out += fmt::format("-{}\n", left[i++]);
    }
  }
}

}  // namespace

std::string DiffSources(const PolicySource& from, const PolicySource& to, const std::string& from_label,
                        const std::string& to_label) {
  std::set<std::string> names;
  for (const auto& [name, text] : from.files) names.insert(name);
  for (const auto& [name, text] : to.files) names.insert(name);
  std::string out;
  for (const auto& name : names) {
    auto a = from.files.find(name);
    auto b = to.files.find(name);
    const std::string_view left = a == from.files.end() ? std::string_view() : std::string_view(a->second);
    const std::string_view right = b == to.files.end() ? std::string_view() : std::string_view(b->second);
    if (a != from.files.end() && b != to.files.end() && left == right) continue;
    out += fmt::format("--- {}/{}\n+++ {}/{}\n", a == from.files.end() ? "/dev/null" : from_label, name,
                       b == to.files.end() ? "/dev/null" : to_label, name);
    DiffFile(left, right, out);
  }
  return out;
}

}  // namespace writ::authz
