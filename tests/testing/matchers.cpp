#include "testing/matchers.h"

namespace writ {

void PrintTo(const Error& error, std::ostream* os) { *os << error.ToString(); }
void PrintTo(Code code, std::ostream* os) { *os << CodeName(code); }

}  // namespace writ
