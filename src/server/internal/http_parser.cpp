#include "server/internal/http_parser.h"

#include <algorithm>
#include <array>

namespace writ::server::internal {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kHeadEnd = "\r\n\r\n";
constexpr size_t kMaxContentLengthDigits = 19;  // fits in uint64_t

// tchar of RFC 9110 section 5.6.2: the characters of a token (method, field name).
constexpr std::array<bool, 256> MakeTokenTable() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr std::array<bool, 256> kTokenChar = MakeTokenTable();

bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!kTokenChar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// field-value characters: visible ASCII, SP, HTAB and obs-text (RFC 9110 section 5.5).
bool IsFieldValue(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 ? byte != '\t' : byte == 0x7f) return false;
  }
  return true;
}

// A request-target: visible ASCII only (no space, no control, no NUL, no obs-text).
bool IsTarget(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return false;
  }
  return true;
}

std::string_view TrimWhitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

HeadStatus Reject(HeadFailure* failure, int status, std::string message) {
  failure->status = status;
  failure->message = std::move(message);
  return HeadStatus::kRejected;
}

bool IsSafeHeaderText(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Fields the server writes itself: a handler's own are dropped.
bool IsFramingField(std::string_view name) {
  return EqualsIgnoreAsciiCase(name, "content-length") || EqualsIgnoreAsciiCase(name, "transfer-encoding") ||
         EqualsIgnoreAsciiCase(name, "connection") || EqualsIgnoreAsciiCase(name, "x-request-id");
}

void AppendNumber(std::string& out, uint64_t number) {
  char digits[24];
  size_t at = sizeof(digits);
  do {
    digits[--at] = static_cast<char>('0' + number % 10);
    number /= 10;
  } while (number != 0);
  out.append(digits + at, sizeof(digits) - at);
}

}  // namespace

size_t AppendResponseHead(const ResponseHead& head, std::string* out) {
  size_t dropped = 0;
  out->clear();
  out->append(head.minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  AppendNumber(*out, static_cast<uint64_t>(head.status));
  out->push_back(' ');
  out->append(ReasonPhrase(head.status));
  out->append("\r\n");
  for (const auto& [name, value] : head.headers.entries()) {
    if (name.empty() || !IsSafeHeaderText(name) || name.find(':') != std::string::npos || !IsSafeHeaderText(value)) {
      ++dropped;
      continue;
    }
    if (IsFramingField(name)) continue;
    out->append(name).append(": ").append(value).append("\r\n");
  }
  if (!head.request_id.empty()) out->append("X-Request-ID: ").append(head.request_id).append("\r\n");
  if (!head.keep_alive) {
    out->append("Connection: close\r\n");
  } else if (head.minor_version == 0) {
    out->append("Connection: keep-alive\r\n");
  }
  if (head.content_length >= 0) {
    out->append("Content-Length: ");
    AppendNumber(*out, static_cast<uint64_t>(head.content_length));
    out->append("\r\n");
  }
  out->append("\r\n");
  return dropped;
}

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t index = 0; index < a.size(); ++index) {
    char x = a[index];
    char y = b[index];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

HeadStatus ParseRequestHead(std::string_view data, const HeadLimits& limits, size_t* scanned, RequestHead* head,
                            HeadFailure* failure) {
  const auto too_large = [&] {
    return Reject(failure, 431, "request headers exceed " + std::to_string(limits.max_header_bytes) + " bytes");
  };
  // Empty lines before the request line are ignored (a client's stray CRLF after a body).
  size_t start = 0;
  while (start + 1 < data.size() && data[start] == '\r' && data[start + 1] == '\n') start += 2;
  if (start >= limits.max_header_bytes) return too_large();
  const size_t from = std::max(start, *scanned >= 3 ? *scanned - 3 : size_t{0});
  const size_t found = data.find(kHeadEnd, from);
  if (found == std::string_view::npos) {
    *scanned = data.size();
    if (data.size() >= limits.max_header_bytes) return too_large();
    return HeadStatus::kIncomplete;
  }
  const size_t end = found + kHeadEnd.size();
  if (end > limits.max_header_bytes) return too_large();

  // Request line: method SP request-target SP HTTP-version.
  std::string_view rest = data.substr(start, found + kCrlf.size() - start);  // every line ends with CRLF
  const size_t line_end = rest.find(kCrlf);
  const std::string_view line = rest.substr(0, line_end);
  rest.remove_prefix(line_end + kCrlf.size());
  const size_t first_space = line.find(' ');
  const size_t second_space = first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) {
    return Reject(failure, 400, "malformed HTTP request: the request line is not `METHOD target HTTP/1.1`");
  }
  head->method = line.substr(0, first_space);
  head->target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (!IsToken(head->method)) return Reject(failure, 400, "malformed HTTP request: bad method");
  if (!IsTarget(head->target)) return Reject(failure, 400, "malformed HTTP request: bad request target");
  if (version == "HTTP/1.1") {
    head->minor_version = 1;
  } else if (version == "HTTP/1.0") {
    head->minor_version = 0;
  } else {
    return Reject(failure, 400, "malformed HTTP request: only HTTP/1.1 and HTTP/1.0 are served");
  }

  // Header fields, each `name: value` CRLF, up to the empty line.
  head->fields.clear();
  head->content_length = 0;
  head->expect_continue = false;
  bool has_length = false;
  bool has_transfer_encoding = false;
  bool close = false;
  bool keep_alive = false;
  uint64_t length = 0;
  bool length_overflow = false;
  while (!rest.empty()) {
    const size_t field_end = rest.find(kCrlf);
    const std::string_view field = rest.substr(0, field_end);
    rest.remove_prefix(field_end + kCrlf.size());
    if (field.empty()) break;  // the blank line (only at the end: `found` was the first CRLFCRLF)
    if (field.front() == ' ' || field.front() == '\t') {
      return Reject(failure, 400, "malformed HTTP request: obsolete line folding in a header field");
    }
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) return Reject(failure, 400, "malformed HTTP request: header field without a colon");
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = TrimWhitespace(field.substr(colon + 1));
    if (!IsToken(name)) return Reject(failure, 400, "malformed HTTP request: bad header field name");
    if (!IsFieldValue(value)) return Reject(failure, 400, "malformed HTTP request: control character in a header field");
    if (head->fields.size() >= limits.max_fields) {
      return Reject(failure, 431, "more than " + std::to_string(limits.max_fields) + " header fields");
    }
    head->fields.emplace_back(name, value);
    if (EqualsIgnoreAsciiCase(name, "content-length")) {
      if (has_length) return Reject(failure, 400, "malformed HTTP request: more than one Content-Length");
      has_length = true;
      if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Reject(failure, 400, "malformed HTTP request: Content-Length is not a decimal number");
      }
      if (value.size() > kMaxContentLengthDigits) {
        length_overflow = true;
      } else {
        for (const char c : value) length = length * 10 + static_cast<uint64_t>(c - '0');
      }
    } else if (EqualsIgnoreAsciiCase(name, "transfer-encoding")) {
      has_transfer_encoding = true;
    } else if (EqualsIgnoreAsciiCase(name, "connection")) {
      std::string_view tokens = value;
      while (!tokens.empty()) {
        const size_t comma = tokens.find(',');
        const std::string_view token = TrimWhitespace(tokens.substr(0, comma));
        tokens = comma == std::string_view::npos ? std::string_view() : tokens.substr(comma + 1);
        if (EqualsIgnoreAsciiCase(token, "close")) close = true;
        if (EqualsIgnoreAsciiCase(token, "keep-alive")) keep_alive = true;
      }
    } else if (EqualsIgnoreAsciiCase(name, "expect")) {
      head->expect_continue = EqualsIgnoreAsciiCase(value, "100-continue");
    }
  }
  if (has_transfer_encoding) {
    return Reject(failure, 411, "Transfer-Encoding (chunked) request bodies are not supported: send Content-Length");
  }
  if (length_overflow || length > limits.max_body_bytes) {
    return Reject(failure, 413, "request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes");
  }
  head->content_length = static_cast<size_t>(length);
  head->keep_alive = head->minor_version == 1 ? !close : keep_alive && !close;
  head->head_bytes = end;
  return HeadStatus::kComplete;
}

}  // namespace writ::server::internal
