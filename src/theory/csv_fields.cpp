#include "theory/csv_fields.h"

#include <sstream>
#include <stdexcept>

#include "common/error.h"

namespace hdiff {

std::vector<std::string> split_csv_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream stream(line);
  while (std::getline(stream, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

double parse_csv_number(const std::string& text, const std::filesystem::path& path, int line, const std::string& column,
                        const std::string& expected, double low, double high) {
  double value = 0;
  try {
    size_t used = 0;
    value = std::stod(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    fail("{}: line {}: column {} holds \"{}\", not a number; give {}", path.string(), line, column, text, expected);
  }
  if (!std::isfinite(value))
    fail("{}: line {}: column {} holds {}, not a finite number; give {}", path.string(), line, column, text, expected);
  if (value < low || value > high)
    fail("{}: line {}: column {} holds {}, outside [{}, {}]; give {}", path.string(), line, column, text, low, high,
         expected);
  return value;
}

int parse_csv_integer(const std::string& text, const std::filesystem::path& path, int line, const std::string& column,
                      const std::string& expected) {
  const double value = parse_csv_number(text, path, line, column, expected, 0, 0x1p31 - 1);
  if (value != std::floor(value))
    fail("{}: line {}: column {} holds {}, not a whole number; give {}", path.string(), line, column, text, expected);
  return static_cast<int>(value);
}

}  // namespace hdiff
