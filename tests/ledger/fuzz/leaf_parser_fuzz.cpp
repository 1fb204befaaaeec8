// libFuzzer target: the ledger's readers of stored leaf bytes, which an attacker with write access
// to the database file controls: ReadLeafFields (queries, the index, verification) and DecodeLeaf
// (reading events back). Never a crash, a hang or an out-of-bounds read. Whatever DecodeLeaf
// accepts, written again as the ledger writes it, must read back the same through ReadLeafFields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ledger/event.h"
#include "ledger/index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace writ::ledger;
  // A copy of exactly `size` bytes: a read past the leaf is a heap overflow ASan reports.
  const std::string leaf(reinterpret_cast<const char*>(data), size);
  LeafScratch scratch;
  (void)ReadLeafFields(leaf, scratch);
  auto decoded = DecodeLeaf(leaf);
  if (!decoded || decoded->prev.size() != 32) return 0;
  auto body = EncodeEventBody(decoded->event, {});
  if (!body) return 0;
  const std::string canonical = EncodeLeaf(*body, decoded->seq, decoded->prev);
  auto fields = ReadLeafFields(canonical, scratch);
  if (!fields || fields->id != decoded->event.id || fields->kind != decoded->event.kind ||
      fields->subject != decoded->event.subject || fields->correlation_id != decoded->event.correlation_id ||
      !fields->has_seq || fields->seq != decoded->seq) {
    std::abort();
  }
  return 0;
}
