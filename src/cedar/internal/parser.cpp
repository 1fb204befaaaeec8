#include "cedar/internal/parser.h"

#include <charconv>

#include "cedar/internal/ext.h"

namespace writ::cedar::internal {
namespace {

struct DepthGuard {
  explicit DepthGuard(size_t* d) : depth(d) { ++*depth; }
  ~DepthGuard() { --*depth; }
  size_t* depth;
};

ExprPtr NewExpr(ExprKind kind, const SourceSpan& span) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->span = span;
  return e;
}

SourceSpan Join(const SourceSpan& a, const SourceSpan& b) {
  SourceSpan s = a;
  s.end = b.end;
  return s;
}

}  // namespace

bool IsReserved(std::string_view w) {
  return w == "true" || w == "false" || w == "if" || w == "then" || w == "else" || w == "in" || w == "like" ||
         w == "has" || w == "is" || w == "__cedar";
}

const Token& Parser::Peek(size_t ahead) const {
  size_t i = pos_ + ahead;
  return i < toks_.size() ? toks_[i] : toks_.back();
}

const Token& Parser::Next() {
  const Token& t = Peek();
  if (pos_ + 1 < toks_.size()) ++pos_;
  return t;
}

void Parser::Fail(ParseErrorKind kind, const SourceSpan& span, std::string message) {
  if (failed_) return;
  failed_ = true;
  error_ = ParseError{kind, span.line, span.column, std::move(message)};
}

bool Parser::Expect(Tok kind, std::string_view what) {
  if (At(kind)) {
    Next();
    return true;
  }
  Fail(ParseErrorKind::kUnexpectedToken, Peek().span,
       "unexpected " + Describe(Peek()) + ", expected " + std::string(what));
  return false;
}

bool Parser::ExpectIdent(std::string_view word) {
  if (AtIdent(word)) {
    Next();
    return true;
  }
  Fail(ParseErrorKind::kUnexpectedToken, Peek().span,
       "unexpected " + Describe(Peek()) + ", expected `" + std::string(word) + "`");
  return false;
}

bool Parser::ParseString(const Token& tok, std::string* out) {
  auto s = Unescape(tok.text);
  if (!s) {
    Fail(ParseErrorKind::kInvalidEscape, tok.span, s.error());
    return false;
  }
  *out = std::move(*s);
  return true;
}

bool Parser::Measure(Expr& e) {
  uint32_t h = 0;
  for (const auto& k : e.kids) h = std::max(h, k->height);
  e.height = h + 1;
  if (e.height > kMaxExprHeight) {
    Fail(ParseErrorKind::kTooDeep, e.span, "expression nested too deeply");
    return false;
  }
  return true;
}

bool Parser::ParsePolicies(std::vector<Policy>* out) {
  while (!At(Tok::kEof)) {
    Policy p;
    if (!ParsePolicy(&p)) return false;
    out->push_back(std::move(p));
  }
  return true;
}

ExprPtr Parser::ParseStandaloneExpr() {
  in_condition_ = true;
  ExprPtr e = ParseExpr();
  if (!e) return nullptr;
  if (!At(Tok::kEof)) {
    Fail(ParseErrorKind::kUnexpectedToken, Peek().span, "unexpected " + Describe(Peek()) + ", expected end of input");
    return nullptr;
  }
  return e;
}

ExprPtr Parser::ParseExpr() {
  DepthGuard guard(&depth_);
  if (depth_ > options_.max_depth) {
    Fail(ParseErrorKind::kTooDeep, Peek().span, "expression nested too deeply");
    return nullptr;
  }
  if (AtIdent("if")) {
    SourceSpan sp = Next().span;
    ExprPtr c = ParseExpr();
    if (!c || !ExpectIdent("then")) return nullptr;
    ExprPtr t = ParseExpr();
    if (!t || !ExpectIdent("else")) return nullptr;
    ExprPtr f = ParseExpr();
    if (!f) return nullptr;
    auto e = NewExpr(ExprKind::kIf, Join(sp, f->span));
    e->kids.push_back(std::move(c));
    e->kids.push_back(std::move(t));
    e->kids.push_back(std::move(f));
    if (!Measure(*e)) return nullptr;
    return e;
  }
  return ParseOr();
}

ExprPtr Parser::ParseOr() {
  ExprPtr left = ParseAnd();
  while (left && At(Tok::kOr)) {
    Next();
    ExprPtr right = ParseAnd();
    if (!right) return nullptr;
    auto e = NewExpr(ExprKind::kOr, Join(left->span, right->span));
    e->kids.push_back(std::move(left));
    e->kids.push_back(std::move(right));
    if (!Measure(*e)) return nullptr;
    left = std::move(e);
  }
  return left;
}

ExprPtr Parser::ParseAnd() {
  ExprPtr left = ParseRelation();
  while (left && At(Tok::kAnd)) {
    Next();
    ExprPtr right = ParseRelation();
    if (!right) return nullptr;
    auto e = NewExpr(ExprKind::kAnd, Join(left->span, right->span));
    e->kids.push_back(std::move(left));
    e->kids.push_back(std::move(right));
    if (!Measure(*e)) return nullptr;
    left = std::move(e);
  }
  return left;
}

ExprPtr Parser::ParseRelation() {
  ExprPtr left = ParseAdd();
  if (!left) return nullptr;
  ExprKind kind;
  switch (Peek().kind) {
    case Tok::kEq2: kind = ExprKind::kEq; break;
    case Tok::kNe: kind = ExprKind::kNe; break;
    case Tok::kLt: kind = ExprKind::kLt; break;
    case Tok::kLe: kind = ExprKind::kLe; break;
    case Tok::kGt: kind = ExprKind::kGt; break;
    case Tok::kGe: kind = ExprKind::kGe; break;
    case Tok::kAssign:
      Fail(ParseErrorKind::kInvalidExpression, Peek().span, "`=` is not an operator; use `==`");
      return nullptr;
    case Tok::kIdent:
      if (Peek().text == "in") {
        kind = ExprKind::kIn;
        break;
      }
      if (Peek().text == "has") {
        Next();
        auto e = NewExpr(ExprKind::kHas, left->span);
        if (At(Tok::kString)) {
          std::string s;
          if (!ParseString(Next(), &s)) return nullptr;
          e->path.push_back(std::move(s));
        } else if (At(Tok::kIdent)) {
          e->path.emplace_back(Next().text);
          while (At(Tok::kDot) && Peek(1).kind == Tok::kIdent) {
            Next();
            e->path.emplace_back(Next().text);
          }
        } else {
          Fail(ParseErrorKind::kUnexpectedToken, Peek().span,
               "unexpected " + Describe(Peek()) + ", expected an attribute name after `has`");
          return nullptr;
        }
        e->span.end = toks_[pos_ - 1].span.end;
        e->kids.push_back(std::move(left));
        if (!Measure(*e)) return nullptr;
        return e;
      }
      if (Peek().text == "like") {
        Next();
        if (!At(Tok::kString)) {
          Fail(ParseErrorKind::kInvalidExpression, Peek().span,
               "unexpected " + Describe(Peek()) + ", `like` needs a string literal pattern");
          return nullptr;
        }
        const Token& t = Next();
        auto pat = UnescapePattern(t.text);
        if (!pat) {
          Fail(ParseErrorKind::kInvalidEscape, t.span, pat.error());
          return nullptr;
        }
        auto e = NewExpr(ExprKind::kLike, Join(left->span, t.span));
        e->pattern = std::move(*pat);
        e->kids.push_back(std::move(left));
        if (!Measure(*e)) return nullptr;
        return e;
      }
      if (Peek().text == "is") {
        Next();
        auto e = NewExpr(ExprKind::kIs, left->span);
        std::string_view raw;
        if (!ParsePath(&e->name, false, &raw)) return nullptr;
        e->kids.push_back(std::move(left));
        if (AtIdent("in")) {
          Next();
          ExprPtr r = ParseAdd();
          if (!r) return nullptr;
          e->kids.push_back(std::move(r));
        }
        e->span.end = toks_[pos_ - 1].span.end;
        if (!Measure(*e)) return nullptr;
        return e;
      }
      return left;
    default:
      return left;
  }
  Next();
  ExprPtr right = ParseAdd();
  if (!right) return nullptr;
  auto e = NewExpr(kind, Join(left->span, right->span));
  e->kids.push_back(std::move(left));
  e->kids.push_back(std::move(right));
  if (!Measure(*e)) return nullptr;
  switch (Peek().kind) {
    case Tok::kEq2: case Tok::kNe: case Tok::kLt: case Tok::kLe: case Tok::kGt: case Tok::kGe:
      Fail(ParseErrorKind::kInvalidExpression, Peek().span, "comparison operators cannot be chained; add parentheses");
      return nullptr;
    default:
      if (AtIdent("in") || AtIdent("has") || AtIdent("like") || AtIdent("is")) {
        Fail(ParseErrorKind::kInvalidExpression, Peek().span, "relational operators cannot be chained; add parentheses");
        return nullptr;
      }
  }
  return e;
}

ExprPtr Parser::ParseAdd() {
  ExprPtr left = ParseMult();
  while (left && (At(Tok::kPlus) || At(Tok::kMinus))) {
    ExprKind kind = Next().kind == Tok::kPlus ? ExprKind::kAdd : ExprKind::kSub;
    ExprPtr right = ParseMult();
    if (!right) return nullptr;
    auto e = NewExpr(kind, Join(left->span, right->span));
    e->kids.push_back(std::move(left));
    e->kids.push_back(std::move(right));
    if (!Measure(*e)) return nullptr;
    left = std::move(e);
  }
  return left;
}

ExprPtr Parser::ParseMult() {
  ExprPtr left = ParseUnary();
  while (left && At(Tok::kStar)) {
    Next();
    ExprPtr right = ParseUnary();
    if (!right) return nullptr;
    auto e = NewExpr(ExprKind::kMul, Join(left->span, right->span));
    e->kids.push_back(std::move(left));
    e->kids.push_back(std::move(right));
    if (!Measure(*e)) return nullptr;
    left = std::move(e);
  }
  return left;
}

ExprPtr Parser::ParseUnary() {
  if (!At(Tok::kBang) && !At(Tok::kMinus)) return ParseMember();
  Tok op = Peek().kind;
  SourceSpan sp = Peek().span;
  int count = 0;
  while (At(op)) {
    Next();
    ++count;
  }
  if (count > 4) {
    Fail(ParseErrorKind::kInvalidExpression, sp, "too many unary operators in a row (at most 4)");
    return nullptr;
  }
  ExprPtr inner;
  if (op == Tok::kMinus && At(Tok::kInt)) {
    // Fold the first `-` into the literal so that -9223372036854775808 is representable.
    const Token& t = Next();
    uint64_t u = 0;
    auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), u);
    if (ec != std::errc() || u > (uint64_t{1} << 63)) {
      Fail(ParseErrorKind::kIntegerOverflow, t.span, "integer literal `-" + std::string(t.text) + "` is out of range");
      return nullptr;
    }
    inner = NewExpr(ExprKind::kLit, Join(sp, t.span));
    inner->lit = Value::Long(u == (uint64_t{1} << 63) ? INT64_MIN : -static_cast<int64_t>(u));
    --count;
    // Member access binds tighter than `-`: `-1.foo` is unusual but handle `.`/`[` after it.
    if (At(Tok::kDot) || At(Tok::kLBracket)) {
      Fail(ParseErrorKind::kInvalidExpression, Peek().span, "unexpected member access on a literal");
      return nullptr;
    }
  } else {
    inner = ParseMember();
    if (!inner) return nullptr;
  }
  for (int k = 0; k < count; ++k) {
    auto e = NewExpr(op == Tok::kBang ? ExprKind::kNot : ExprKind::kNeg, Join(sp, inner->span));
    e->kids.push_back(std::move(inner));
    if (!Measure(*e)) return nullptr;
    inner = std::move(e);
  }
  return inner;
}

bool Parser::ParseArgs(std::vector<ExprPtr>* args) {
  if (!Expect(Tok::kLParen, "`(`")) return false;
  while (!At(Tok::kRParen)) {
    ExprPtr a = ParseExpr();
    if (!a) return false;
    args->push_back(std::move(a));
    if (At(Tok::kComma)) {
      Next();
    } else if (!At(Tok::kRParen)) {
      return Expect(Tok::kRParen, "`,` or `)`");
    }
  }
  Next();
  return true;
}

ExprPtr Parser::MakeCall(const SourceSpan& span, std::string_view name, bool method, std::vector<ExprPtr> args) {
  struct Builtin {
    std::string_view name;
    ExprKind kind;
  };
  static constexpr Builtin kMethods[] = {
      {"contains", ExprKind::kContains}, {"containsAll", ExprKind::kContainsAll},
      {"containsAny", ExprKind::kContainsAny}, {"isEmpty", ExprKind::kIsEmpty},
      {"hasTag", ExprKind::kHasTag}, {"getTag", ExprKind::kGetTag}};
  if (method) {
    for (const auto& b : kMethods) {
      if (b.name != name) continue;
      size_t want = b.kind == ExprKind::kIsEmpty ? 1 : 2;
      if (args.size() != want) {
        Fail(ParseErrorKind::kWrongArity, span,
             "call to `" + std::string(name) + "` takes " + std::to_string(want - 1) + " argument(s), got " +
                 std::to_string(args.size() - 1));
        return nullptr;
      }
      auto e = NewExpr(b.kind, span);
      e->kids = std::move(args);
      if (!Measure(*e)) return nullptr;
      return e;
    }
  }
  const ExtFunction* fn = FindExtFunction(name, method);
  if (fn == nullptr) {
    if (method) {
      Fail(ParseErrorKind::kUnknownMethod, span, "`" + std::string(name) + "` is not a valid method");
    } else {
      Fail(ParseErrorKind::kUnknownFunction, span, "`" + std::string(name) + "` is not a valid function");
    }
    return nullptr;
  }
  auto e = NewExpr(ExprKind::kExtCall, span);
  e->name = std::string(name);
  e->fn = fn;
  if (static_cast<int>(args.size()) != fn->arity) {
    // The reference reports a wrong arity when the call is evaluated, not when it is parsed.
    e->kids = std::move(args);
    e->arity_error = "call to `" + std::string(name) + "` takes " + std::to_string(fn->arity - (method ? 1 : 0)) +
                     " argument(s), got " + std::to_string(e->kids.size() - (method ? 1 : 0));
    if (!Measure(*e)) return nullptr;
    return e;
  }
  bool all_lit = true;
  for (const auto& a : args) all_lit = all_lit && a->kind == ExprKind::kLit;
  e->kids = std::move(args);
  if (all_lit) {
    std::vector<Value> vals;
    for (const auto& a : e->kids) vals.push_back(a->lit);
    auto r = fn->impl(vals);
    e->folded = true;
    if (r) {
      e->folded_ok = true;
      e->lit = std::move(*r);
    } else {
      e->folded_error_kind = r.error().type_error ? 1 : 0;
      e->folded_error = std::move(r.error().message);
    }
  }
  if (!Measure(*e)) return nullptr;
  return e;
}

ExprPtr Parser::ParseMember() {
  DepthGuard guard(&depth_);
  if (depth_ > options_.max_depth) {
    Fail(ParseErrorKind::kTooDeep, Peek().span, "expression nested too deeply");
    return nullptr;
  }
  ExprPtr e = ParsePrimary();
  while (e) {
    if (At(Tok::kDot)) {
      Next();
      if (!At(Tok::kIdent)) {
        Fail(ParseErrorKind::kUnexpectedToken, Peek().span, "unexpected " + Describe(Peek()) + ", expected an attribute or method name");
        return nullptr;
      }
      const Token& name = Next();
      if (At(Tok::kLParen)) {
        std::vector<ExprPtr> args;
        args.push_back(std::move(e));
        SourceSpan sp = args[0]->span;
        if (!ParseArgs(&args)) return nullptr;
        e = MakeCall(Join(sp, toks_[pos_ - 1].span), name.text, true, std::move(args));
        if (e && !Measure(*e)) return nullptr;
        continue;
      }
      auto g = NewExpr(ExprKind::kGetAttr, Join(e->span, name.span));
      g->name = std::string(name.text);
      g->kids.push_back(std::move(e));
      if (!Measure(*g)) return nullptr;
      e = std::move(g);
    } else if (At(Tok::kLBracket)) {
      Next();
      if (!At(Tok::kString)) {
        Fail(ParseErrorKind::kInvalidExpression, Peek().span, "unexpected " + Describe(Peek()) + ", `[..]` needs a string literal");
        return nullptr;
      }
      auto g = NewExpr(ExprKind::kGetAttr, e->span);
      if (!ParseString(Next(), &g->name)) return nullptr;
      if (!Expect(Tok::kRBracket, "`]`")) return nullptr;
      g->span.end = toks_[pos_ - 1].span.end;
      g->kids.push_back(std::move(e));
      if (!Measure(*g)) return nullptr;
      e = std::move(g);
    } else {
      break;
    }
  }
  return e;
}

ExprPtr Parser::ParsePrimary() {
  const Token& t = Peek();
  switch (t.kind) {
    case Tok::kInt: {
      Next();
      int64_t v = 0;
      auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
      if (ec != std::errc()) {
        Fail(ParseErrorKind::kIntegerOverflow, t.span, "integer literal `" + std::string(t.text) + "` is out of range");
        return nullptr;
      }
      auto e = NewExpr(ExprKind::kLit, t.span);
      e->lit = Value::Long(v);
      return e;
    }
    case Tok::kString: {
      Next();
      std::string s;
      if (!ParseString(t, &s)) return nullptr;
      auto e = NewExpr(ExprKind::kLit, t.span);
      e->lit = Value::String(std::move(s));
      return e;
    }
    case Tok::kSlot: {
      Next();
      if (t.text != "principal" && t.text != "resource") {
        Fail(ParseErrorKind::kInvalidSlot, t.span, "invalid slot `?" + std::string(t.text) + "`");
      } else {
        Fail(ParseErrorKind::kInvalidSlot, t.span, "slots are only allowed in the policy scope");
      }
      return nullptr;
    }
    case Tok::kLParen: {
      Next();
      ExprPtr e = ParseExpr();
      if (!e || !Expect(Tok::kRParen, "`)`")) return nullptr;
      return e;
    }
    case Tok::kLBracket: {
      Next();
      auto e = NewExpr(ExprKind::kSet, t.span);
      while (!At(Tok::kRBracket)) {
        ExprPtr x = ParseExpr();
        if (!x) return nullptr;
        e->kids.push_back(std::move(x));
        if (At(Tok::kComma)) {
          Next();
        } else if (!At(Tok::kRBracket)) {
          Expect(Tok::kRBracket, "`,` or `]`");
          return nullptr;
        }
      }
      e->span.end = Next().span.end;
      if (!Measure(*e)) return nullptr;
      return e;
    }
    case Tok::kLBrace: {
      Next();
      auto e = NewExpr(ExprKind::kRecord, t.span);
      while (!At(Tok::kRBrace)) {
        std::string key;
        const Token& k = Peek();
        if (k.kind == Tok::kString) {
          Next();
          if (!ParseString(k, &key)) return nullptr;
        } else if (k.kind == Tok::kIdent) {
          Next();
          key = std::string(k.text);
        } else {
          Fail(ParseErrorKind::kUnexpectedToken, k.span, "unexpected " + Describe(k) + ", expected a record key");
          return nullptr;
        }
        for (const auto& other : e->path) {
          if (other == key) {
            Fail(ParseErrorKind::kDuplicateKey, k.span, "duplicate key `" + key + "` in record literal");
            return nullptr;
          }
        }
        if (!Expect(Tok::kColon, "`:`")) return nullptr;
        ExprPtr v = ParseExpr();
        if (!v) return nullptr;
        e->path.push_back(std::move(key));
        e->kids.push_back(std::move(v));
        if (At(Tok::kComma)) {
          Next();
        } else if (!At(Tok::kRBrace)) {
          Expect(Tok::kRBrace, "`,` or `}`");
          return nullptr;
        }
      }
      e->span.end = Next().span.end;
      if (!Measure(*e)) return nullptr;
      return e;
    }
    case Tok::kIdent: {
      std::string_view w = t.text;
      if (w == "true" || w == "false") {
        Next();
        auto e = NewExpr(ExprKind::kLit, t.span);
        e->lit = Value::Bool(w == "true");
        return e;
      }
      if (Peek(1).kind == Tok::kColon2) {
        EntityUid uid;
        if (!ParseEntityUid(&uid)) return nullptr;
        auto e = NewExpr(ExprKind::kLit, Join(t.span, toks_[pos_ - 1].span));
        e->lit = Value::Entity(std::move(uid));
        return e;
      }
      if (Peek(1).kind == Tok::kLParen) {
        Next();
        std::vector<ExprPtr> args;
        if (!ParseArgs(&args)) return nullptr;
        return MakeCall(Join(t.span, toks_[pos_ - 1].span), w, false, std::move(args));
      }
      Var var;
      if (w == "principal") var = Var::kPrincipal;
      else if (w == "action") var = Var::kAction;
      else if (w == "resource") var = Var::kResource;
      else if (w == "context") var = Var::kContext;
      else {
        Fail(IsReserved(w) ? ParseErrorKind::kReservedIdentifier : ParseErrorKind::kUnexpectedToken, t.span,
             IsReserved(w) ? "unexpected reserved word `" + std::string(w) + "`"
                           : "unknown variable `" + std::string(w) + "`");
        return nullptr;
      }
      Next();
      auto e = NewExpr(ExprKind::kVar, t.span);
      e->var = var;
      return e;
    }
    default:
      Fail(ParseErrorKind::kUnexpectedToken, t.span, "unexpected " + Describe(t) + ", expected an expression");
      return nullptr;
  }
}

}  // namespace writ::cedar::internal
