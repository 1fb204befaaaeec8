#include "cli/command.h"

#include "cli/connection.h"

namespace writ::cli {

Action MakeDaemonAction(const GlobalOptions& global, std::function<Result<json::Value>(Connection&)> call,
                        std::function<void(std::ostream&, const json::Value&)> print) {
  return [&global, call = std::move(call), print = std::move(print)](std::ostream& out, std::ostream& err) {
    auto format = ParseFormat(global.output);
    if (!format) {
      err << "writ: " << format.error().message << '\n';
      return 2;
    }
    Connection connection(ResolveSocketPath(global.socket));
    auto result = call(connection);
    if (!result) {
      err << "writ: " << result.error().message << '\n';
      return 1;
    }
    if (*format == Format::kJson) {
      PrintJson(out, *result);
    } else {
      print(out, *result);
    }
    return 0;
  };
}

}  // namespace writ::cli
