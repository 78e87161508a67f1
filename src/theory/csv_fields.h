#pragma once
// Reading the fields of the CSV files `hdiff phase` writes (results.csv,
// correlations.csv), for the theory commands that take them back: every bad
// field is one Error naming the file, the line, the column and the file
// expected (`expected`, e.g. "a results.csv written by `hdiff phase`").

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace hdiff {

// The comma-separated fields of `line` (a trailing comma gives an empty last field).
std::vector<std::string> split_csv_fields(const std::string& line);

// A finite number in [low, high] from column `column` of line `line`: the whole
// field must be the number.
double parse_csv_number(const std::string& text, const std::filesystem::path& path, int line, const std::string& column,
                        const std::string& expected, double low = -HUGE_VAL, double high = HUGE_VAL);

// A whole number in [0, 2^31) from column `column` of line `line`.
int parse_csv_integer(const std::string& text, const std::filesystem::path& path, int line, const std::string& column,
                      const std::string& expected);

}  // namespace hdiff
