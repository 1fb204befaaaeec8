#include "cli/output.h"

#include <algorithm>

namespace writ::cli {
namespace {

void AppendIndented(std::string& out, const json::Value& value, int depth) {
  const std::string indent(static_cast<size_t>(depth + 1) * 2, ' ');
  const std::string closing(static_cast<size_t>(depth) * 2, ' ');
  if (value.is_array() && !value.as_array().empty()) {
    out += "[\n";
    bool first = true;
    for (const json::Value& element : value.as_array()) {
      if (!first) out += ",\n";
      first = false;
      out += indent;
      AppendIndented(out, element, depth + 1);
    }
    out += "\n" + closing + "]";
  } else if (value.is_object() && !value.as_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [key, member] : value.as_object()) {
      if (!first) out += ",\n";
      first = false;
      out += indent;
      json::AppendQuoted(out, key);
      out += ": ";
      AppendIndented(out, member, depth + 1);
    }
    out += "\n" + closing + "}";
  } else {
    out += json::Serialize(value);
  }
}

}  // namespace

Result<Format> ParseFormat(std::string_view name) {
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  return Fail(Code::kInvalidArgument, "output format must be `table` or `json`");
}

void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(headers.size());
  for (size_t column = 0; column < headers.size(); ++column) widths[column] = headers[column].size();
  for (const auto& row : rows) {
    for (size_t column = 0; column < row.size() && column < widths.size(); ++column) {
      widths[column] = std::max(widths[column], row[column].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t column = 0; column < widths.size(); ++column) {
      const std::string& cell = column < cells.size() ? cells[column] : std::string();
      line += cell;
      if (column + 1 < widths.size()) line += std::string(widths[column] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print_row(headers);
  for (const auto& row : rows) print_row(row);
}

std::string CellText(const json::Value* value) {
  if (value == nullptr || value->is_null()) return "";
  if (value->is_string()) return value->as_string();
  if (value->is_array()) {
    std::string text;
    for (const json::Value& element : value->as_array()) {
      if (!text.empty()) text += ",";
      text += CellText(&element);
    }
    return text;
  }
  if (value->is_object()) {
    std::string text;
    for (const auto& [key, member] : value->as_object()) {
      if (!text.empty()) text += ",";
      text += key + "=" + CellText(&member);
    }
    return text;
  }
  return json::Serialize(*value);
}

void PrintJson(std::ostream& out, const json::Value& value) {
  std::string text;
  AppendIndented(text, value, 0);
  out << text << '\n';
}

}  // namespace writ::cli
