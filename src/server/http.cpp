#include "server/http.h"

#include <algorithm>
#include <cctype>

#include "common/encoding.h"
#include "server/internal/http_parser.h"

namespace writ::server {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const Entry& entry : entries_) {
    if (internal::EqualsIgnoreAsciiCase(entry.first, name)) return std::string_view(entry.second);
  }
  return std::nullopt;
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  entries_.emplace_back(std::move(name), std::move(value));
}

void Headers::Add(std::string name, std::string value) { entries_.emplace_back(std::move(name), std::move(value)); }

void Headers::Assign(std::span<const std::pair<std::string_view, std::string_view>> fields) {
  if (entries_.size() > fields.size()) entries_.resize(fields.size());
  for (size_t index = 0; index < fields.size(); ++index) {
    if (index < entries_.size()) {
      entries_[index].first.assign(fields[index].first);
      entries_[index].second.assign(fields[index].second);
    } else {
      entries_.emplace_back(std::string(fields[index].first), std::string(fields[index].second));
    }
  }
}

void Headers::Remove(std::string_view name) {
  std::erase_if(entries_, [&](const Entry& entry) { return internal::EqualsIgnoreAsciiCase(entry.first, name); });
}

std::optional<std::string_view> QueryParams::Get(std::string_view name) const {
  for (const Entry& entry : entries_) {
    if (entry.first == name) return std::string_view(entry.second);
  }
  return std::nullopt;
}

std::vector<std::string_view> QueryParams::GetAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const Entry& entry : entries_) {
    if (entry.first == name) values.emplace_back(entry.second);
  }
  return values;
}

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t index = 0; index < text.size(); ++index) {
    const char c = text[index];
    if (c == '%') {
      const int high = index + 1 < text.size() ? HexDigitValue(text[index + 1]) : -1;
      const int low = index + 2 < text.size() ? HexDigitValue(text[index + 2]) : -1;
      if (high < 0 || low < 0) {
        return Fail(Code::kInvalidArgument, "invalid percent-escape in `" + std::string(text.substr(0, 200)) + "`");
      }
      const char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0') return Fail(Code::kInvalidArgument, "escaped NUL (`%00`) is not allowed");
      out.push_back(decoded);
      index += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<QueryParams> ParseQuery(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    WRIT_ASSIGN_OR_RETURN(std::string name, PercentDecode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      WRIT_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
    }
    params.Add(std::move(name), std::move(value));
  }
  return params;
}

std::string_view Request::Param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return {};
}

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kConflict: return 409;
    case Code::kFailedPrecondition: return 409;
    case Code::kOutOfRange: return 400;
    case Code::kResourceExhausted: return 413;
    case Code::kUnavailable: return 503;
    case Code::kDeadlineExceeded: return 504;
    case Code::kDataLoss: return 500;
    case Code::kUnimplemented: return 501;
    case Code::kInternal: return 500;
  }
  return 500;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

Response JsonResponse(int status, const json::Value& body) {
  Response response;
  response.status = status;
  response.headers.Set("Content-Type", "application/json");
  response.body = json::Serialize(body);
  return response;
}

Response ErrorResponse(int status, Code code, std::string_view message) {
  json::Writer writer;
  writer.BeginObject().Key("error").BeginObject();
  writer.Key("code").String(CodeName(code));
  writer.Key("message").String(message);
  writer.EndObject().EndObject();
  Response response;
  response.status = status;
  response.headers.Set("Content-Type", "application/json");
  response.body = writer.Take();
  return response;
}

Response ErrorResponse(const Error& error) { return ErrorResponse(HttpStatusFor(error.code), error.code, error.message); }

bool IsJsonContentType(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  return internal::EqualsIgnoreAsciiCase(Trim(content_type.substr(0, semicolon)), "application/json");
}

Result<json::Value> ParseJsonBody(const Request& request) {
  if (request.body.empty()) return Fail(Code::kInvalidArgument, "request body is required (a JSON object)");
  auto parsed = json::Parse(request.body, request.json_options);
  if (!parsed) {
    return Fail(parsed.error().code, "request body: " + parsed.error().message);
  }
  return parsed;
}

}  // namespace writ::server
