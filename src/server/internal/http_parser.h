// HttpServer's wire format. The request-head parser: the request line and header fields of one
// HTTP/1.1 request, parsed from the bytes received so far, strictly (RFC 9112) and within fixed
// bounds, without allocating (the head refers into the caller's buffer). And the response-head
// writer. Internal to the server module.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/http.h"

namespace writ::server::internal {

struct HeadLimits {
  size_t max_header_bytes = 16 << 10;  // request line + fields + the blank line; more: 431
  size_t max_fields = 128;              // header fields; more: 431
  size_t max_body_bytes = 1 << 20;      // a larger Content-Length: 413
};

// One parsed request head. Views point into the parsed buffer: they live as long as it is not
// modified.
struct RequestHead {
  size_t head_bytes = 0;   // bytes of the head, from the start of the buffer through the blank line
  std::string_view method;
  std::string_view target;
  int minor_version = 1;   // HTTP/1.<minor>: 0 or 1
  std::vector<std::pair<std::string_view, std::string_view>> fields;  // names as sent; values trimmed
  size_t content_length = 0;
  bool keep_alive = true;       // the version's default, as changed by Connection
  bool expect_continue = false;  // Expect: 100-continue
};

enum class HeadStatus : uint8_t {
  kIncomplete,  // no blank line yet (and within the limits): read more
  kComplete,    // `head` is filled
  kRejected,    // `failure` says why; answer it and close the connection
};

struct HeadFailure {
  int status = 400;  // 400, 411, 413 or 431
  std::string message;
};

// Parses the request head at the start of `data`. Empty lines before the request line are skipped
// (RFC 9112 section 2.2) and count towards head_bytes. `scanned` carries how far an earlier call on the
// same (grown) buffer got, so each byte is searched once; start it at 0 for a new request.
// Rejected (400) are: a bad request line or version other than HTTP/1.0 and 1.1, a field without a
// colon or with whitespace before it, obsolete line folding, control characters, bare CR or LF,
// more than one Content-Length or one that is not a plain decimal; 411: any Transfer-Encoding
// (chunked request bodies are not supported: a body needs Content-Length); 413: Content-Length
// over limits.max_body_bytes; 431: a head over max_header_bytes or max_fields.
HeadStatus ParseRequestHead(std::string_view data, const HeadLimits& limits, size_t* scanned, RequestHead* head,
                            HeadFailure* failure);

struct ResponseHead {
  int status = 200;  // REQUIRES: 200..599 (the caller maps anything else to 500)
  int minor_version = 1;  // of the request: the answer uses the same version
  const Headers& headers;  // the handler's; framing fields (Content-Length, Transfer-Encoding,
                           // Connection, X-Request-ID) are the server's and are skipped
  std::string_view request_id;  // sent as X-Request-ID when not empty
  bool keep_alive = true;
  int64_t content_length = 0;  // -1: none (204, 304)
};

// Replaces `*out` with the status line and header fields of `head`, through the blank line.
// Fields that would split the response (CR, LF or NUL anywhere, ':' in a name, an empty name) are
// left out. Returns how many were left out.
size_t AppendResponseHead(const ResponseHead& head, std::string* out);

// True when `a` and `b` are equal ignoring ASCII case.
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);

}  // namespace writ::server::internal
