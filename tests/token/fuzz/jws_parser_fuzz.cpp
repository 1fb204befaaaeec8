// libFuzzer target: what an enforcement point parses from an untrusted caller before any signature
// is checked — a compact JWS (as a writ token and as a DPoP proof with its `jwk` header) and the
// JSON of its payload. Never a crash, a hang or unbounded memory; a parse that succeeds must hold
// what the header comment of ParseCompact promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/json.h"
#include "token/jws.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace writ;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool dpop : {false, true}) {
    const token::JwsLimits limits{.require_kid = !dpop, .allow_jwk_header = dpop};
    auto parsed = token::ParseCompact(text, limits);
    if (!parsed) continue;
    // A parsed token fits its size limit, signs with 64 bytes and its signing input is a prefix.
    if (text.size() > limits.max_bytes || parsed->signature.size() != 64 ||
        text.substr(0, parsed->signing_input.size()) != parsed->signing_input) {
      std::abort();
    }
    if (!dpop && !token::IsThumbprintKid(parsed->kid)) std::abort();
    (void)json::Parse(parsed->payload, {.max_bytes = limits.max_bytes, .max_depth = limits.max_json_depth});
  }
  // The raw input as JSON too: request bodies reach json::Parse directly.
  auto value = json::Parse(text, {.max_bytes = 1 << 20, .max_depth = 64});
  if (value && !json::Parse(json::Serialize(*value))) std::abort();  // what we write, we can read
  return 0;
}
