// How the writ CLI prints: `-o table` (aligned columns for people) or `-o json` (the API's JSON,
// for scripts). Errors go to stderr as one sentence.
#pragma once
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace writ::cli {

enum class Format : uint8_t { kTable, kJson };

// Errors: kInvalidArgument unless `name` is "table" or "json".
Result<Format> ParseFormat(std::string_view name);

// Prints `rows` under `headers` with columns padded to their widest cell (two spaces between).
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);

// The text of a scalar JSON value for a table cell ("" for null, "a,b" for an array of scalars).
std::string CellText(const json::Value* value);

// Pretty-prints `value` as indented JSON followed by a newline.
void PrintJson(std::ostream& out, const json::Value& value);

}  // namespace writ::cli
