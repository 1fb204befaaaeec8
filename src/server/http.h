// The HTTP types handlers see: Request (method, path, query, headers, body, Peer) and Response,
// plus the one mapping from writ::Code to an HTTP status and the JSON error body
// {"error":{"code":"<CodeName>","message":"..."}}. No Beast or Asio here (they stay in .cpp files).
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace writ::server {

// An ordered list of header fields; names compare case-insensitively (RFC 9110 section 5.1).
class Headers {
 public:
  using Entry = std::pair<std::string, std::string>;

  // The value of the first field named `name`, or nullopt. The view lives as long as this object
  // is not modified.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  // Replaces every field named `name` by one field.
  void Set(std::string name, std::string value);
  // Appends a field, keeping existing ones of the same name.
  void Add(std::string name, std::string value);
  void Remove(std::string_view name);
  void Clear() { entries_.clear(); }
  // Replaces every field by `fields`, in order, reusing the storage of the current ones: no
  // allocation when each new name and value fits where the old one was (a client that sends the
  // same fields on every request of a connection).
  void Assign(std::span<const std::pair<std::string_view, std::string_view>> fields);
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Decoded query parameters in order of appearance (`?a=1&b=x%20y&a=2`).
class QueryParams {
 public:
  using Entry = std::pair<std::string, std::string>;
  // The first value of `name`, or nullopt. `?flag` (no `=`) has the value "".
  std::optional<std::string_view> Get(std::string_view name) const;
  std::vector<std::string_view> GetAll(std::string_view name) const;
  void Add(std::string name, std::string value) { entries_.emplace_back(std::move(name), std::move(value)); }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Percent-decodes `text` (RFC 3986); with `plus_is_space`, '+' becomes ' ' (form encoding, used
// in queries). Errors: kInvalidArgument for a truncated or non-hex escape, or an escaped NUL.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Parses the part of a request-target after '?'. Errors: kInvalidArgument as PercentDecode.
Result<QueryParams> ParseQuery(std::string_view query);

enum class Transport : uint8_t { kUnix, kTcp };

// Who is on the other end of the connection, as the kernel reports it.
struct Peer {
  Transport transport = Transport::kTcp;
  // Set for kUnix only: the credentials of the connecting process (SO_PEERCRED at connect time).
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<int32_t> pid;
  // For kTcp: "127.0.0.1:54321" or "[::1]:54321". Empty for kUnix.
  std::string address;
};

struct Request {
  std::string method;  // as sent, e.g. "GET" (methods are case-sensitive)
  std::string target;  // the raw request-target, e.g. "/v1/identities?limit=10"
  std::string path;    // target up to '?', not decoded (the Router decodes each segment)
  QueryParams query;
  Headers headers;
  std::string body;  // at most the server's max_body_bytes
  Peer peer;
  std::string request_id;  // X-Request-ID sent by the client, or a new UUIDv7
  // Decoded values of the route's {parameters}, set by the Router.
  std::vector<std::pair<std::string, std::string>> params;
  // Limits for ParseJsonBody, set by the server from its options.
  json::ParseOptions json_options;

  // The value of route parameter `name`, or "" if the route has none of that name.
  std::string_view Param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
};

// The HTTP status for `code`: the one table (STYLE.md habit 3). invalid_argument 400,
// unauthenticated 401, permission_denied 403, not_found 404, conflict 409, failed_precondition 409,
// out_of_range 400, resource_exhausted 413, unavailable 503, deadline_exceeded 504, data_loss 500,
// unimplemented 501, internal 500.
int HttpStatusFor(Code code);

// The reason phrase for `status` ("Not Found"), or "" for an unknown status.
std::string_view ReasonPhrase(int status);

// A response with `body` serialized as JSON and Content-Type application/json.
Response JsonResponse(int status, const json::Value& body);

// {"error":{"code":"<CodeName(code)>","message":"<message>"}} with the given status.
Response ErrorResponse(int status, Code code, std::string_view message);
// The same, with HttpStatusFor(error.code).
Response ErrorResponse(const Error& error);

// True when `content_type` is application/json, with optional parameters ("; charset=utf-8").
bool IsJsonContentType(std::string_view content_type);

// Parses the request body as JSON within request.json_options (depth, size).
// The Router has already answered 415 when Content-Type is not application/json (for routes with
// RouteOptions::json_body). Errors: kInvalidArgument for an empty or malformed body or nesting too
// deep; kResourceExhausted for a body over the size limit.
Result<json::Value> ParseJsonBody(const Request& request);

}  // namespace writ::server
