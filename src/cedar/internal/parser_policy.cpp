// Policy-level grammar: annotations, effect, scope, conditions.
#include "cedar/internal/parser.h"

namespace writ::cedar::internal {
namespace {

SourceSpan Join(const SourceSpan& a, const SourceSpan& b) {
  SourceSpan s = a;
  s.end = b.end;
  return s;
}

bool IsActionType(std::string_view type) {
  return type == "Action" || (type.size() > 8 && type.substr(type.size() - 8) == "::Action");
}

}  // namespace

bool Parser::ParsePolicy(Policy* policy) {
  SourceSpan start = Peek().span;
  while (At(Tok::kAt)) {
    Next();
    if (!At(Tok::kIdent)) {
      Fail(ParseErrorKind::kUnexpectedToken, Peek().span, "unexpected " + Describe(Peek()) + ", expected an annotation name");
      return false;
    }
    const Token& key = Next();
    Annotation a;
    a.key = std::string(key.text);
    if (At(Tok::kLParen)) {
      Next();
      if (!At(Tok::kString)) {
        Fail(ParseErrorKind::kUnexpectedToken, Peek().span, "unexpected " + Describe(Peek()) + ", expected a string");
        return false;
      }
      std::string v;
      if (!ParseString(Next(), &v)) return false;
      a.value = std::move(v);
      if (!Expect(Tok::kRParen, "`)`")) return false;
    }
    for (const auto& other : policy->annotations) {
      if (other.key == a.key) {
        Fail(ParseErrorKind::kDuplicateAnnotation, key.span, "duplicate annotation: `@" + a.key + "`");
        return false;
      }
    }
    policy->annotations.push_back(std::move(a));
  }
  if (AtIdent("permit")) {
    policy->effect = Effect::kPermit;
  } else if (AtIdent("forbid")) {
    policy->effect = Effect::kForbid;
  } else {
    Fail(ParseErrorKind::kUnexpectedToken, Peek().span, "unexpected " + Describe(Peek()) + ", expected `permit` or `forbid`");
    return false;
  }
  Next();
  if (!Expect(Tok::kLParen, "`(`")) return false;
  if (!ParseScope(&policy->principal, "principal", SlotId::kPrincipal)) return false;
  if (!Expect(Tok::kComma, "`,`")) return false;
  if (!ParseActionScope(&policy->action)) return false;
  if (!Expect(Tok::kComma, "`,`")) return false;
  if (!ParseScope(&policy->resource, "resource", SlotId::kResource)) return false;
  if (At(Tok::kComma)) Next();
  if (!Expect(Tok::kRParen, "`)`")) return false;
  while (AtIdent("when") || AtIdent("unless")) {
    Condition c;
    c.is_when = Next().text == "when";
    if (!Expect(Tok::kLBrace, "`{`")) return false;
    if (At(Tok::kRBrace)) {
      Fail(ParseErrorKind::kUnexpectedToken, Peek().span, std::string("empty ") + (c.is_when ? "`when`" : "`unless`") + " clause");
      return false;
    }
    in_condition_ = true;
    ExprPtr e = ParseExpr();
    in_condition_ = false;
    if (!e) return false;
    if (!Expect(Tok::kRBrace, "`}`")) return false;
    c.expr = std::shared_ptr<const Expr>(std::move(e));
    policy->conditions.push_back(std::move(c));
  }
  if (!Expect(Tok::kSemi, "`;`")) return false;
  policy->span = Join(start, toks_[pos_ > 0 ? pos_ - 1 : 0].span);
  return true;
}

bool Parser::ParsePath(std::string* path, bool allow_string_end, std::string_view* id_raw) {
  // IDENT (:: IDENT)* [:: STR]
  if (!At(Tok::kIdent) || IsReserved(Peek().text)) {
    Fail(ParseErrorKind::kUnexpectedToken, Peek().span, "unexpected " + Describe(Peek()) + ", expected a name");
    return false;
  }
  *path = std::string(Next().text);
  while (At(Tok::kColon2)) {
    Next();
    if (At(Tok::kString) && allow_string_end) {
      *id_raw = Peek().text;
      Next();
      return true;
    }
    if (!At(Tok::kIdent) || IsReserved(Peek().text)) {
      Fail(ParseErrorKind::kUnexpectedToken, Peek().span, "unexpected " + Describe(Peek()) + ", expected a name");
      return false;
    }
    *path += "::";
    *path += Next().text;
  }
  return true;
}

bool Parser::ParseEntityUid(EntityUid* uid) {
  const Token& start = Peek();
  std::string_view raw;
  const char* no_id = nullptr;
  if (!ParsePath(&uid->type, true, &raw)) return false;
  if (raw.data() == nullptr) no_id = "expected an entity uid like `Type::\"id\"`";
  if (no_id) {
    Fail(ParseErrorKind::kUnexpectedToken, start.span, no_id);
    return false;
  }
  auto id = Unescape(raw);
  if (!id) {
    Fail(ParseErrorKind::kInvalidEscape, start.span, id.error());
    return false;
  }
  uid->id = std::move(*id);
  return true;
}

bool Parser::ParseEntityOrSlot(ScopeConstraint* scope, SlotId slot) {
  if (At(Tok::kSlot)) {
    const Token& t = Next();
    std::string_view want = slot == SlotId::kPrincipal ? "principal" : "resource";
    if (t.text != want) {
      Fail(ParseErrorKind::kInvalidSlot, t.span,
           "invalid slot `?" + std::string(t.text) + "` here: expected `?" + std::string(want) + "`");
      return false;
    }
    scope->slot = slot;
    return true;
  }
  EntityUid uid;
  if (!ParseEntityUid(&uid)) return false;
  scope->entity = std::move(uid);
  return true;
}

bool Parser::ParseScope(ScopeConstraint* scope, std::string_view var, SlotId slot) {
  if (!ExpectIdent(var)) return false;
  if (At(Tok::kEq2)) {
    Next();
    scope->op = ScopeConstraint::Op::kEq;
    return ParseEntityOrSlot(scope, slot);
  }
  if (AtIdent("in")) {
    Next();
    scope->op = ScopeConstraint::Op::kIn;
    if (At(Tok::kLBracket)) {
      Fail(ParseErrorKind::kInvalidScope, Peek().span, "the " + std::string(var) + " scope takes one entity, not a set");
      return false;
    }
    return ParseEntityOrSlot(scope, slot);
  }
  if (AtIdent("is")) {
    Next();
    std::string_view raw;
    if (!ParsePath(&scope->type, false, &raw)) return false;
    scope->op = ScopeConstraint::Op::kIs;
    if (AtIdent("in")) {
      Next();
      scope->op = ScopeConstraint::Op::kIsIn;
      return ParseEntityOrSlot(scope, slot);
    }
    if (At(Tok::kEq2)) {
      Fail(ParseErrorKind::kInvalidScope, Peek().span, "`is` cannot be combined with `==` in the scope");
      return false;
    }
  }
  return true;
}

bool Parser::ParseActionScope(ActionConstraint* scope) {
  if (!ExpectIdent("action")) return false;
  auto one = [&]() {
    EntityUid uid;
    SourceSpan sp = Peek().span;
    if (At(Tok::kSlot)) {
      Fail(ParseErrorKind::kInvalidSlot, sp, "slots are not allowed in the action scope");
      return false;
    }
    if (!ParseEntityUid(&uid)) return false;
    if (!IsActionType(uid.type)) {
      Fail(ParseErrorKind::kInvalidScope, sp,
           "expected an entity of type `Action` in the action scope, got `" + ToString(uid) + "`");
      return false;
    }
    scope->entities.push_back(std::move(uid));
    return true;
  };
  if (At(Tok::kEq2)) {
    Next();
    scope->op = ActionConstraint::Op::kEq;
    return one();
  }
  if (AtIdent("in")) {
    Next();
    scope->op = ActionConstraint::Op::kIn;
    if (At(Tok::kLBracket)) {
      Next();
      scope->is_list = true;
      while (!At(Tok::kRBracket)) {
        if (!one()) return false;
        if (At(Tok::kComma)) {
          Next();
        } else if (!At(Tok::kRBracket)) {
          return Expect(Tok::kRBracket, "`,` or `]`");
        }
      }
      Next();
      return true;
    }
    return one();
  }
  if (AtIdent("is")) {
    Fail(ParseErrorKind::kInvalidScope, Peek().span, "`is` is not allowed in the action scope");
    return false;
  }
  return true;
}

}  // namespace writ::cedar::internal
