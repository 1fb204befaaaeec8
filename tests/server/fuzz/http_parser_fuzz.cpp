// libFuzzer target: the bytes a client may send before the server knows anything of it — the
// request head — parsed whole and in pieces, as the event loop does while they arrive. Never a
// crash, a read outside the input or a hang; a head that parses satisfies the limits, its views lie
// inside the input, and feeding the bytes in two pieces gives the same answer as all at once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/internal/http_parser.h"

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace writ::server::internal;
  if (size < 1) return 0;
  const size_t split = data[0] % (size);  // where the first read ends
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const HeadLimits limits{.max_header_bytes = 1024, .max_fields = 16, .max_body_bytes = 4096};

  RequestHead whole;
  HeadFailure whole_failure;
  size_t scanned = 0;
  const HeadStatus status = ParseRequestHead(text, limits, &scanned, &whole, &whole_failure);
  if (status == HeadStatus::kComplete) {
    if (whole.head_bytes > text.size() || whole.head_bytes > limits.max_header_bytes) std::abort();
    if (whole.content_length > limits.max_body_bytes || whole.fields.size() > limits.max_fields) std::abort();
    if (!Inside(whole.method, text) || !Inside(whole.target, text) || whole.method.empty() || whole.target.empty()) std::abort();
    for (const auto& [name, value] : whole.fields) {
      if (!Inside(name, text) || !Inside(value, text) || name.empty()) std::abort();
      if (value.find_first_of("\r\n") != std::string_view::npos) std::abort();
    }
  } else if (status == HeadStatus::kRejected) {
    const int code = whole_failure.status;
    if (code != 400 && code != 411 && code != 413 && code != 431) std::abort();
  }

  // The same bytes in two reads: the first may end anywhere.
  const size_t first = split < text.size() ? split : text.size();
  RequestHead pieces;
  HeadFailure pieces_failure;
  size_t carried = 0;
  HeadStatus early = ParseRequestHead(text.substr(0, first), limits, &carried, &pieces, &pieces_failure);
  if (early == HeadStatus::kIncomplete) {
    early = ParseRequestHead(text, limits, &carried, &pieces, &pieces_failure);
    if (early != status) std::abort();
    if (status == HeadStatus::kComplete && (pieces.head_bytes != whole.head_bytes || pieces.target != whole.target)) {
      std::abort();
    }
    if (status == HeadStatus::kRejected && pieces_failure.status != whole_failure.status) std::abort();
  }
  return 0;
}
