#include "crypto/random.h"

#include <cstdlib>
#include <limits>

#include <openssl/rand.h>

namespace writ::crypto {

void RandomFill(void* out, size_t size) {
  auto* bytes = static_cast<unsigned char*>(out);
  while (size > 0) {
    size_t chunk = size > size_t{std::numeric_limits<int>::max()} ? size_t{std::numeric_limits<int>::max()} : size;
    if (RAND_bytes(bytes, static_cast<int>(chunk)) != 1) std::abort();
    bytes += chunk;
    size -= chunk;
  }
}

std::string RandomBytes(size_t size) {
  std::string out(size, '\0');
  if (size > 0) RandomFill(out.data(), size);
  return out;
}

}  // namespace writ::crypto
