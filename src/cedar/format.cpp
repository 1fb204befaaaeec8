// Canonical text of policies and expressions (the inverse of the parser, modulo layout).
#include "cedar/policy.h"

namespace writ::cedar {
namespace {

int Prec(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kIf: return 0;
    case ExprKind::kOr: return 1;
    case ExprKind::kAnd: return 2;
    case ExprKind::kEq: case ExprKind::kNe: case ExprKind::kLt: case ExprKind::kLe: case ExprKind::kGt:
    case ExprKind::kGe: case ExprKind::kIn: case ExprKind::kHas: case ExprKind::kLike: case ExprKind::kIs:
      return 3;
    case ExprKind::kAdd: case ExprKind::kSub: return 4;
    case ExprKind::kMul: return 5;
    case ExprKind::kNot: case ExprKind::kNeg: return 6;
    case ExprKind::kLit:
      return e.lit.is_long() && e.lit.as_long() < 0 ? 6 : 8;
    default: return 7;
  }
}

bool IsIdent(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void Emit(const Expr& e, std::string& out);

void EmitAt(const Expr& e, int min_prec, std::string& out) {
  if (Prec(e) < min_prec) {
    out += '(';
    Emit(e, out);
    out += ')';
  } else {
    Emit(e, out);
  }
}

void Binary(const Expr& e, std::string_view op, int lp, int rp, std::string& out) {
  EmitAt(*e.kids[0], lp, out);
  out += ' ';
  out += op;
  out += ' ';
  EmitAt(*e.kids[1], rp, out);
}

void Emit(const Expr& e, std::string& out) {
  switch (e.kind) {
    case ExprKind::kLit: out += ToString(e.lit); return;
    case ExprKind::kVar: {
      static const char* kNames[] = {"principal", "action", "resource", "context"};
      out += kNames[static_cast<int>(e.var)];
      return;
    }
    case ExprKind::kSlot: out += e.slot == SlotId::kPrincipal ? "?principal" : "?resource"; return;
    case ExprKind::kIf:
      out += "if ";
      Emit(*e.kids[0], out);
      out += " then ";
      Emit(*e.kids[1], out);
      out += " else ";
      Emit(*e.kids[2], out);
      return;
    case ExprKind::kOr: Binary(e, "||", 1, 2, out); return;
    case ExprKind::kAnd: Binary(e, "&&", 2, 3, out); return;
    case ExprKind::kEq: Binary(e, "==", 4, 4, out); return;
    case ExprKind::kNe: Binary(e, "!=", 4, 4, out); return;
    case ExprKind::kLt: Binary(e, "<", 4, 4, out); return;
    case ExprKind::kLe: Binary(e, "<=", 4, 4, out); return;
    case ExprKind::kGt: Binary(e, ">", 4, 4, out); return;
    case ExprKind::kGe: Binary(e, ">=", 4, 4, out); return;
    case ExprKind::kIn: Binary(e, "in", 4, 4, out); return;
    case ExprKind::kAdd: Binary(e, "+", 4, 5, out); return;
    case ExprKind::kSub: Binary(e, "-", 4, 5, out); return;
    case ExprKind::kMul: Binary(e, "*", 5, 6, out); return;
    case ExprKind::kNot: out += '!'; EmitAt(*e.kids[0], 7, out); return;
    case ExprKind::kNeg: out += '-'; EmitAt(*e.kids[0], 7, out); return;
    case ExprKind::kHas: {
      EmitAt(*e.kids[0], 4, out);
      out += " has ";
      bool all_ident = true;
      for (const auto& p : e.path) all_ident = all_ident && IsIdent(p);
      if (e.path.size() == 1 && !all_ident) {
        out += QuoteString(e.path[0]);
      } else {
        for (size_t i = 0; i < e.path.size(); ++i) {
          if (i) out += '.';
          out += e.path[i];
        }
      }
      return;
    }
    case ExprKind::kGetAttr:
      EmitAt(*e.kids[0], 7, out);
      if (IsIdent(e.name)) {
        out += '.';
        out += e.name;
      } else {
        out += '[';
        out += QuoteString(e.name);
        out += ']';
      }
      return;
    case ExprKind::kLike: {
      EmitAt(*e.kids[0], 4, out);
      out += " like \"";
      for (const auto& p : e.pattern) {
        if (p.wildcard) {
          out += '*';
        } else if (p.byte == '*') {
          out += "\\*";
        } else {
          std::string q = QuoteString(std::string_view(&p.byte, 1));
          out += q.substr(1, q.size() - 2);
        }
      }
      out += '"';
      return;
    }
    case ExprKind::kIs:
      EmitAt(*e.kids[0], 4, out);
      out += " is ";
      out += e.name;
      if (e.kids.size() > 1) {
        out += " in ";
        EmitAt(*e.kids[1], 4, out);
      }
      return;
    case ExprKind::kSet:
      out += '[';
      for (size_t i = 0; i < e.kids.size(); ++i) {
        if (i) out += ", ";
        Emit(*e.kids[i], out);
      }
      out += ']';
      return;
    case ExprKind::kRecord:
      out += '{';
      for (size_t i = 0; i < e.kids.size(); ++i) {
        if (i) out += ", ";
        out += QuoteString(e.path[i]);
        out += ": ";
        Emit(*e.kids[i], out);
      }
      out += '}';
      return;
    case ExprKind::kContains: case ExprKind::kContainsAll: case ExprKind::kContainsAny: case ExprKind::kIsEmpty:
    case ExprKind::kHasTag: case ExprKind::kGetTag: {
      static const char* kNames[] = {"contains", "containsAll", "containsAny", "isEmpty", "hasTag", "getTag"};
      EmitAt(*e.kids[0], 7, out);
      out += '.';
      out += kNames[static_cast<int>(e.kind) - static_cast<int>(ExprKind::kContains)];
      out += '(';
      if (e.kids.size() > 1) Emit(*e.kids[1], out);
      out += ')';
      return;
    }
    case ExprKind::kExtCall: {
      bool method = e.kids.size() >= 1 && e.name != "ip" && e.name != "decimal" && e.name != "datetime" &&
                    e.name != "duration";
      size_t first = 0;
      if (method) {
        EmitAt(*e.kids[0], 7, out);
        out += '.';
        first = 1;
      }
      out += e.name;
      out += '(';
      for (size_t i = first; i < e.kids.size(); ++i) {
        if (i > first) out += ", ";
        Emit(*e.kids[i], out);
      }
      out += ')';
      return;
    }
  }
}

std::string Scope(const ScopeConstraint& s, std::string_view var) {
  std::string out(var);
  auto target = [&]() -> std::string {
    if (s.slot && !s.entity) return s.slot == SlotId::kPrincipal ? "?principal" : "?resource";
    return s.entity ? ToString(*s.entity) : "";
  };
  switch (s.op) {
    case ScopeConstraint::Op::kAny: break;
    case ScopeConstraint::Op::kEq: out.append(" == ").append(target()); break;
    case ScopeConstraint::Op::kIn: out.append(" in ").append(target()); break;
    case ScopeConstraint::Op::kIs: out.append(" is ").append(s.type); break;
    case ScopeConstraint::Op::kIsIn: out.append(" is ").append(s.type).append(" in ").append(target()); break;
  }
  return out;
}

}  // namespace

std::string FormatExpr(const Expr& expr) {
  std::string out;
  Emit(expr, out);
  return out;
}

std::string FormatPolicy(const Policy& p) {
  std::string out;
  for (const auto& a : p.annotations) {
    out += '@';
    out += a.key;
    if (a.value) {
      out += '(';
      out += QuoteString(*a.value);
      out += ')';
    }
    out += "\n";
  }
  out += p.effect == Effect::kPermit ? "permit (\n  " : "forbid (\n  ";
  out += Scope(p.principal, "principal");
  out += ",\n  action";
  switch (p.action.op) {
    case ActionConstraint::Op::kAny: break;
    case ActionConstraint::Op::kEq:
      out += " == ";
      out += ToString(p.action.entities[0]);
      break;
    case ActionConstraint::Op::kIn:
      if (p.action.is_list) {
        out += " in [";
        for (size_t i = 0; i < p.action.entities.size(); ++i) {
          if (i) out += ", ";
          out += ToString(p.action.entities[i]);
        }
        out += "]";
      } else {
        out += " in ";
        out += ToString(p.action.entities[0]);
      }
      break;
  }
  out += ",\n  ";
  out += Scope(p.resource, "resource");
  out += "\n)";
  for (const auto& c : p.conditions) {
    out += c.is_when ? "\nwhen {\n  " : "\nunless {\n  ";
    out += FormatExpr(*c.expr);
    out += "\n}";
  }
  out += ";\n";
  return out;
}

std::string FormatPolicySet(const PolicySet& set) {
  std::string out;
  for (const auto& t : set.templates()) {
    if (!out.empty()) out += "\n";
    out += FormatPolicy(*t);
  }
  for (const auto& p : set.policies()) {
    if (!out.empty()) out += "\n";
    out += FormatPolicy(*p);
  }
  return out;
}

}  // namespace writ::cedar
