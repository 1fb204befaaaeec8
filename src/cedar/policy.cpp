#include "cedar/policy.h"

#include "cedar/internal/lexer.h"
#include "cedar/internal/parser.h"

namespace writ::cedar {

std::string_view ParseErrorKindName(ParseErrorKind kind) {
  switch (kind) {
    case ParseErrorKind::kLex: return "lex";
    case ParseErrorKind::kUnexpectedToken: return "unexpected_token";
    case ParseErrorKind::kInvalidEscape: return "invalid_escape";
    case ParseErrorKind::kIntegerOverflow: return "integer_overflow";
    case ParseErrorKind::kUnknownFunction: return "unknown_function";
    case ParseErrorKind::kUnknownMethod: return "unknown_method";
    case ParseErrorKind::kWrongArity: return "wrong_arity";
    case ParseErrorKind::kInvalidSlot: return "invalid_slot";
    case ParseErrorKind::kDuplicateAnnotation: return "duplicate_annotation";
    case ParseErrorKind::kDuplicateKey: return "duplicate_key";
    case ParseErrorKind::kReservedIdentifier: return "reserved_identifier";
    case ParseErrorKind::kInvalidScope: return "invalid_scope";
    case ParseErrorKind::kTooDeep: return "too_deep";
    case ParseErrorKind::kDuplicateId: return "duplicate_id";
    case ParseErrorKind::kInvalidExpression: return "invalid_expression";
  }
  return "unknown";
}

std::string ParseError::ToString() const {
  return std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

Error ToError(const ParseErrors& errors) {
  if (errors.empty()) return Error{Code::kInvalidArgument, "parse error"};
  return Error{Code::kInvalidArgument, errors.front().ToString()};
}

const std::string* Policy::FindAnnotation(std::string_view key) const {
  for (const auto& a : annotations) {
    if (a.key == key && a.value) return &*a.value;
  }
  return nullptr;
}

const Policy* PolicySet::Find(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

Status PolicySet::Add(Policy policy) {
  if (policy.is_template()) return Fail(Code::kInvalidArgument, "policy `" + policy.id + "` has slots: link it instead");
  if (by_id_.count(policy.id) != 0) return Fail(Code::kConflict, "policy id `" + policy.id + "` is already used");
  auto p = std::make_shared<const Policy>(std::move(policy));
  by_id_[p->id] = p.get();
  policies_.push_back(std::move(p));
  return Ok();
}

Status PolicySet::Link(std::string_view template_id, std::string new_id, const std::map<SlotId, EntityUid>& values) {
  const Policy* tmpl = nullptr;
  for (const auto& t : templates_) {
    if (t->id == template_id) tmpl = t.get();
  }
  if (tmpl == nullptr) return Fail(Code::kNotFound, "no template with id `" + std::string(template_id) + "`");
  if (by_id_.count(new_id) != 0) return Fail(Code::kConflict, "policy id `" + new_id + "` is already used");
  Policy linked = *tmpl;
  linked.id = std::move(new_id);
  auto fill = [&](ScopeConstraint& scope, SlotId slot, std::string_view name) -> Status {
    auto it = values.find(slot);
    if (scope.slot) {
      if (it == values.end()) return Fail(Code::kInvalidArgument, "no value for slot `?" + std::string(name) + "`");
      scope.entity = it->second;
    } else if (it != values.end()) {
      return Fail(Code::kInvalidArgument, "template `" + tmpl->id + "` has no slot `?" + std::string(name) + "`");
    }
    return Ok();
  };
  WRIT_RETURN_IF_ERROR(fill(linked.principal, SlotId::kPrincipal, "principal"));
  WRIT_RETURN_IF_ERROR(fill(linked.resource, SlotId::kResource, "resource"));
  auto p = std::make_shared<const Policy>(std::move(linked));
  by_id_[p->id] = p.get();
  policies_.push_back(std::move(p));
  return Ok();
}

namespace {
ParseErrors LexFailure(const internal::LexError& e) {
  return {ParseError{ParseErrorKind::kLex, e.span.line, e.span.column, e.message}};
}
}  // namespace

tl::expected<PolicySet, ParseErrors> ParsePolicySet(std::string_view text, const PolicyParseOptions& options) {
  if (text.size() > options.max_bytes) {
    return tl::unexpected(ParseErrors{{ParseErrorKind::kLex, 1, 1, "policy text is larger than the limit"}});
  }
  auto toks = internal::Lex(text);
  if (!toks) return tl::unexpected(LexFailure(toks.error()));
  internal::Parser parser(*toks, options);
  std::vector<Policy> parsed;
  if (!parser.ParsePolicies(&parsed)) return tl::unexpected(ParseErrors{parser.error()});
  PolicySet set;
  size_t counter = 0;
  for (auto& p : parsed) {
    std::string id = "policy" + std::to_string(counter++);
    if (options.ids_from_annotation) {
      if (const std::string* v = p.FindAnnotation("id")) id = *v;
    }
    if (set.by_id_.count(id) != 0) {
      return tl::unexpected(ParseErrors{{ParseErrorKind::kDuplicateId, p.span.line, p.span.column,
                                         "duplicate policy id `" + id + "`"}});
    }
    p.id = std::move(id);
    auto ptr = std::make_shared<const Policy>(std::move(p));
    set.by_id_[ptr->id] = ptr.get();
    if (ptr->is_template()) {
      set.templates_.push_back(std::move(ptr));
    } else {
      set.policies_.push_back(std::move(ptr));
    }
  }
  return set;
}

tl::expected<std::shared_ptr<const Expr>, ParseErrors> ParseExpression(std::string_view text,
                                                                       const PolicyParseOptions& options) {
  auto toks = internal::Lex(text);
  if (!toks) return tl::unexpected(LexFailure(toks.error()));
  internal::Parser parser(*toks, options);
  ExprPtr e = parser.ParseStandaloneExpr();
  if (!e) return tl::unexpected(ParseErrors{parser.error()});
  return std::shared_ptr<const Expr>(std::move(e));
}

}  // namespace writ::cedar
