// The recursive-descent parser shared by policy text and expression parsing. Private to cedar.
#pragma once
#include <string_view>
#include <vector>

#include "cedar/internal/lexer.h"
#include "cedar/policy.h"

namespace writ::cedar::internal {

// Tallest expression tree accepted: evaluation and destruction recurse this deep.
inline constexpr uint32_t kMaxExprHeight = 1000;

class Parser {
 public:
  // REQUIRES: `tokens` ends with kEof and outlives the parser.
  Parser(const std::vector<Token>& tokens, const PolicyParseOptions& options) : toks_(tokens), options_(options) {}

  // policy* EOF. Fills `out` in source order. Returns false and sets error() on failure.
  bool ParsePolicies(std::vector<Policy>* out);
  // expr EOF.
  ExprPtr ParseStandaloneExpr();

  const ParseError& error() const { return error_; }
  bool failed() const { return failed_; }

 private:
  const Token& Peek(size_t ahead = 0) const;
  const Token& Next();
  bool At(Tok kind) const { return Peek().kind == kind; }
  bool AtIdent(std::string_view word) const { return At(Tok::kIdent) && Peek().text == word; }
  bool Expect(Tok kind, std::string_view what);
  bool ExpectIdent(std::string_view word);
  void Fail(ParseErrorKind kind, const SourceSpan& span, std::string message);

  bool ParsePolicy(Policy* policy);
  bool ParseScope(ScopeConstraint* scope, std::string_view var, SlotId slot);
  bool ParseActionScope(ActionConstraint* scope);
  bool ParseEntityUid(EntityUid* uid);
  bool ParseEntityOrSlot(ScopeConstraint* scope, SlotId slot);
  bool ParsePath(std::string* path, bool allow_string_end, std::string_view* id_raw);

  ExprPtr ParseExpr();
  ExprPtr ParseOr();
  ExprPtr ParseAnd();
  ExprPtr ParseRelation();
  ExprPtr ParseAdd();
  ExprPtr ParseMult();
  ExprPtr ParseUnary();
  ExprPtr ParseMember();
  ExprPtr ParsePrimary();
  ExprPtr MakeCall(const SourceSpan& span, std::string_view name, bool method, std::vector<ExprPtr> args);
  bool ParseArgs(std::vector<ExprPtr>* args);
  bool ParseString(const Token& tok, std::string* out);
  // Sets e.height from its kids; fails with kTooDeep beyond kMaxExprHeight.
  bool Measure(Expr& e);

  const std::vector<Token>& toks_;
  const PolicyParseOptions& options_;
  size_t pos_ = 0;
  size_t depth_ = 0;
  bool in_condition_ = false;
  bool failed_ = false;
  ParseError error_;
};

// True for identifiers that can't name a variable, attribute-less path segment or type.
bool IsReserved(std::string_view ident);

}  // namespace writ::cedar::internal
