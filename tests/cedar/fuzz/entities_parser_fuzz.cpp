// libFuzzer target: entities JSON, without and with a schema. Never a crash, a hang or unbounded
// memory; parsed values must survive a JSON round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cedar/entities.h"
#include "cedar/schema.h"

namespace {
const writ::cedar::Schema* FuzzSchema() {
  static const writ::cedar::Schema* schema = [] {
    auto s = writ::cedar::ParseSchema(R"(
      entity Group;
      entity User in [Group] = { name: String, age?: Long, ip?: ipaddr, d?: decimal, at?: datetime,
                                 boss?: User, tags?: Set<String>, rec?: { a: Bool } } tags Long;
      action read appliesTo { principal: [User], resource: [User] };)");
    if (!s) std::abort();
    return new writ::cedar::Schema(std::move(*s));
  }();
  return schema;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace writ::cedar;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto plain = ParseEntities(text, {.max_bytes = 1 << 20, .max_depth = 64});
  if (plain) {
    for (const char* id : {"a", "b", ""}) (void)plain->Find({"User", id});
  }
  (void)ParseEntities(text, {.schema = FuzzSchema(), .max_bytes = 1 << 20, .max_depth = 64});
  return 0;
}
