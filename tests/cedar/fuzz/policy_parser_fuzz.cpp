// libFuzzer target: policy text. Parsing must never crash or hang; a parsed set must format to
// text that parses again to the same canonical form, and must evaluate without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cedar/authorizer.h"
#include "cedar/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace writ::cedar;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto set = ParsePolicySet(text);
  if (!set) return 0;
  std::string once = FormatPolicySet(*set);
  auto again = ParsePolicySet(once);
  if (!again || FormatPolicySet(*again) != once) std::abort();
  static const Entities* entities = new Entities();
  Authorizer authorizer(std::move(*set));
  Response r = authorizer.Authorize(Request::Make({"User", "a"}, {"Action", "read"}, {"Doc", "d"}), *entities);
  (void)ResponseToJson(r);
  return 0;
}
