// The human schema format (.cedarschema) parser.
#include "cedar/internal/lexer.h"
#include "cedar/internal/schema_types.h"

namespace writ::cedar {
namespace {

using internal::RawSchema;
using internal::RawType;
using internal::RawTypePtr;
using internal::Tok;
using internal::Token;

constexpr size_t kMaxDepth = 64;

class SchemaParser {
 public:
  explicit SchemaParser(const std::vector<Token>& toks) : toks_(toks) {}

  bool Parse(RawSchema* out) {
    out_ = out;
    while (!At(Tok::kEof)) {
      if (!SkipAnnotations()) return false;
      if (AtWord("namespace")) {
        Next();
        std::string ns;
        if (!Path(&ns)) return false;
        if (!Expect(Tok::kLBrace, "`{`")) return false;
        while (!At(Tok::kRBrace)) {
          if (At(Tok::kEof)) return Error("unexpected end of input, expected `}`");
          if (!SkipAnnotations() || !Decl(ns)) return false;
        }
        Next();
      } else if (!Decl("")) {
        return false;
      }
    }
    return true;
  }

  const std::string& error() const { return error_; }

 private:
  const Token& Peek(size_t k = 0) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool At(Tok k) const { return Peek().kind == k; }
  bool AtWord(std::string_view w) const { return At(Tok::kIdent) && Peek().text == w; }
  bool Error(std::string msg) {
    if (error_.empty()) {
      error_ = std::to_string(Peek().span.line) + ":" + std::to_string(Peek().span.column) + ": " + msg;
    }
    return false;
  }
  bool Expect(Tok k, std::string_view what) {
    if (At(k)) {
      Next();
      return true;
    }
    return Error("unexpected " + internal::Describe(Peek()) + ", expected " + std::string(what));
  }
  bool Str(std::string* out) {
    if (!At(Tok::kString)) return Error("unexpected " + internal::Describe(Peek()) + ", expected a string");
    auto s = internal::Unescape(Next().text);
    if (!s) return Error(s.error());
    *out = std::move(*s);
    return true;
  }
  bool Ident(std::string* out) {
    if (!At(Tok::kIdent)) return Error("unexpected " + internal::Describe(Peek()) + ", expected a name");
    *out = std::string(Next().text);
    return true;
  }
  bool Name(std::string* out) { return At(Tok::kString) ? Str(out) : Ident(out); }
  bool Path(std::string* out) {
    if (!Ident(out)) return false;
    while (At(Tok::kColon2) && Peek(1).kind == Tok::kIdent) {
      Next();
      *out += "::";
      *out += Next().text;
    }
    return true;
  }
  bool SkipAnnotations() {
    while (At(Tok::kAt)) {
      Next();
      std::string key;
      if (!Ident(&key)) return false;
      if (At(Tok::kLParen)) {
        Next();
        std::string v;
        if (!Str(&v) || !Expect(Tok::kRParen, "`)`")) return false;
      }
    }
    return true;
  }
  bool Decl(const std::string& ns) {
    if (AtWord("entity")) return Entity(ns);
    if (AtWord("action")) return Action(ns);
    if (AtWord("type")) return Common(ns);
    return Error("unexpected " + internal::Describe(Peek()) + ", expected `entity`, `action`, `type` or `namespace`");
  }
  bool PathList(std::vector<std::string>* out) {
    if (At(Tok::kLBracket)) {
      Next();
      while (!At(Tok::kRBracket)) {
        std::string p;
        if (!Path(&p)) return false;
        out->push_back(std::move(p));
        if (At(Tok::kComma)) Next();
        else if (!At(Tok::kRBracket)) return Expect(Tok::kRBracket, "`,` or `]`");
      }
      Next();
      return true;
    }
    std::string p;
    if (!Path(&p)) return false;
    out->push_back(std::move(p));
    return true;
  }
  bool Entity(const std::string& ns) {
    Next();
    std::vector<std::string> names;
    do {
      if (!names.empty()) Next();
      std::string n;
      if (!Ident(&n)) return false;
      names.push_back(std::move(n));
    } while (At(Tok::kComma));
    RawSchema::Entity e;
    e.ns = ns;
    if (AtWord("enum")) {
      Next();
      if (!Expect(Tok::kLBracket, "`[`")) return false;
      std::vector<std::string> ids;
      while (!At(Tok::kRBracket)) {
        std::string s;
        if (!Str(&s)) return false;
        ids.push_back(std::move(s));
        if (At(Tok::kComma)) Next();
        else if (!At(Tok::kRBracket)) return Expect(Tok::kRBracket, "`,` or `]`");
      }
      Next();
      e.enum_ids = std::move(ids);
    } else {
      if (AtWord("in")) {
        Next();
        if (!PathList(&e.member_of)) return false;
      }
      if (At(Tok::kAssign)) {
        Next();
        if (!At(Tok::kLBrace)) return Error("unexpected " + internal::Describe(Peek()) + ", expected `{`");
      }
      if (At(Tok::kLBrace)) {
        e.shape = std::make_shared<RawType>();
        if (!Record(e.shape.get(), 0)) return false;
      }
      if (AtWord("tags")) {
        Next();
        e.tags = std::make_shared<RawType>();
        if (!Type(e.tags.get(), 0)) return false;
      }
    }
    if (!Expect(Tok::kSemi, "`;`")) return false;
    for (auto& n : names) {
      RawSchema::Entity copy = e;
      copy.name = std::move(n);
      out_->entities.push_back(std::move(copy));
    }
    return true;
  }
  bool ActionRef(internal::RawActionRef* ref) {
    if (At(Tok::kString)) {
      return Str(&ref->id);
    }
    std::string path;
    if (!Ident(&path)) return false;
    while (At(Tok::kColon2)) {
      Next();
      if (At(Tok::kString)) {
        ref->type = path;
        return Str(&ref->id);
      }
      std::string seg;
      if (!Ident(&seg)) return false;
      path += "::" + seg;
    }
    if (path.find("::") != std::string::npos) return Error("expected an action name or `Type::\"id\"`");
    ref->id = path;
    return true;
  }
  bool Action(const std::string& ns) {
    Next();
    std::vector<std::string> names;
    do {
      if (!names.empty()) Next();
      std::string n;
      if (!Name(&n)) return false;
      names.push_back(std::move(n));
    } while (At(Tok::kComma));
    RawSchema::Action a;
    a.ns = ns;
    if (AtWord("in")) {
      Next();
      if (At(Tok::kLBracket)) {
        Next();
        while (!At(Tok::kRBracket)) {
          internal::RawActionRef r;
          if (!ActionRef(&r)) return false;
          a.member_of.push_back(std::move(r));
          if (At(Tok::kComma)) Next();
          else if (!At(Tok::kRBracket)) return Expect(Tok::kRBracket, "`,` or `]`");
        }
        Next();
      } else {
        internal::RawActionRef r;
        if (!ActionRef(&r)) return false;
        a.member_of.push_back(std::move(r));
      }
    }
    if (AtWord("appliesTo")) {
      Next();
      a.has_applies_to = true;
      if (!Expect(Tok::kLBrace, "`{`")) return false;
      while (!At(Tok::kRBrace)) {
        if (AtWord("principal") || AtWord("resource")) {
          bool principal = Next().text == "principal";
          if (!Expect(Tok::kColon, "`:`")) return false;
          if (!PathList(principal ? &a.principals : &a.resources)) return false;
        } else if (AtWord("context")) {
          Next();
          if (!Expect(Tok::kColon, "`:`")) return false;
          a.context = std::make_shared<RawType>();
          if (!Type(a.context.get(), 0)) return false;
        } else {
          return Error("unexpected " + internal::Describe(Peek()) + ", expected `principal`, `resource` or `context`");
        }
        if (At(Tok::kComma)) Next();
        else if (!At(Tok::kRBrace)) return Expect(Tok::kRBrace, "`,` or `}`");
      }
      Next();
    }
    if (!Expect(Tok::kSemi, "`;`")) return false;
    for (auto& n : names) {
      RawSchema::Action copy = a;
      copy.name = std::move(n);
      out_->actions.push_back(std::move(copy));
    }
    return true;
  }
  bool Common(const std::string& ns) {
    Next();
    RawSchema::Common c;
    c.ns = ns;
    if (!Ident(&c.name) || !Expect(Tok::kAssign, "`=`")) return false;
    c.type = std::make_shared<RawType>();
    if (!Type(c.type.get(), 0) || !Expect(Tok::kSemi, "`;`")) return false;
    out_->commons.push_back(std::move(c));
    return true;
  }
  bool Type(RawType* t, size_t depth) {
    if (depth > kMaxDepth) return Error("schema type nested too deeply");
    if (At(Tok::kLBrace)) return Record(t, depth);
    if (AtWord("Set") && Peek(1).kind == Tok::kLt) {
      Next();
      Next();
      t->kind = RawType::Kind::kSet;
      t->element = std::make_shared<RawType>();
      if (!Type(t->element.get(), depth + 1)) return false;
      return Expect(Tok::kGt, "`>`");
    }
    t->kind = RawType::Kind::kName;
    return Path(&t->name);
  }
  bool Record(RawType* t, size_t depth) {
    if (depth > kMaxDepth) return Error("schema type nested too deeply");
    t->kind = RawType::Kind::kRecord;
    if (!Expect(Tok::kLBrace, "`{`")) return false;
    while (!At(Tok::kRBrace)) {
      if (!SkipAnnotations()) return false;
      internal::RawAttr a;
      if (!Name(&a.name)) return false;
      if (At(Tok::kQuestion)) {
        Next();
        a.required = false;
      }
      if (!Expect(Tok::kColon, "`:`")) return false;
      a.type = std::make_shared<RawType>();
      if (!Type(a.type.get(), depth + 1)) return false;
      t->attrs.push_back(std::move(a));
      if (At(Tok::kComma)) Next();
      else if (!At(Tok::kRBrace)) return Expect(Tok::kRBrace, "`,` or `}`");
    }
    Next();
    return true;
  }

  const std::vector<Token>& toks_;
  size_t pos_ = 0;
  RawSchema* out_ = nullptr;
  std::string error_;
};

}  // namespace

Result<Schema> ParseSchema(std::string_view text) {
  auto toks = internal::Lex(text);
  if (!toks) {
    return Fail(Code::kInvalidArgument, std::to_string(toks.error().span.line) + ":" +
                                            std::to_string(toks.error().span.column) + ": " + toks.error().message);
  }
  RawSchema raw;
  SchemaParser parser(*toks);
  if (!parser.Parse(&raw)) return Fail(Code::kInvalidArgument, parser.error());
  return internal::BuildSchema(raw);
}

}  // namespace writ::cedar
