#include "cli/option_checks.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hdiff::cli {
namespace {

const CLI::Validator kNonEmpty(
    [](std::string& value) { return value.empty() ? std::string("the value is empty") : std::string(); }, "", "non-empty");

// from_chars accepts neither signs nor spaces, and reports values past 2^64 - 1
// instead of saturating as strtoull does.
const CLI::Validator kSeed(
    [](std::string& value) {
      uint64_t seed = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seed);
      if (error == std::errc::result_out_of_range || (error == std::errc() && end == value.data() + value.size()))
        return error == std::errc() ? std::string()
                                    : fmt::format("seed {} is above 2^64 - 1 = {}", value,
                                                  std::numeric_limits<uint64_t>::max());
      return fmt::format("seed '{}' is not a non-negative integer", value);
    },
    "SEED", "seed");

const CLI::Validator kThreads(
    [](std::string& value) {
      int threads = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), threads);
      if (error != std::errc() || end != value.data() + value.size() || threads < 0 || threads > kMaxThreads)
        return fmt::format("threads '{}' must be an integer in [0, {}] (0 = all cores)", value, kMaxThreads);
      return std::string();
    },
    "THREADS", "threads");

// CLI11 reads integers with strtoll (base 0: 0x10 is 16, 010 is 8, a sign and
// leading blanks pass) and turns one past int64's range into its largest
// value. Only decimal digits are taken here, with a '-' for signed types, and
// without a leading zero: `010` is refused rather than read as 8 (as CLI11
// would) or silently as 10. Past int64 (uint64 for unsigned types) is refused;
// narrower integer types CLI11 refuses itself.
std::string check_decimal(const std::string& value, bool is_unsigned) {
  const std::string_view digits = !is_unsigned && value.rfind('-', 0) == 0 ? std::string_view(value).substr(1) : value;
  const bool only_digits =
      !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
  if (!only_digits || (digits.size() > 1 && digits.front() == '0'))
    return fmt::format("'{}' is not a{} decimal integer; give decimal digits only{} (10, not 010, 0xa or +10)", value,
                       is_unsigned ? " non-negative" : "", is_unsigned ? "" : " and an optional '-'");
  std::errc error;
  if (is_unsigned) {
    uint64_t parsed = 0;
    error = std::from_chars(value.data(), value.data() + value.size(), parsed).ec;
  } else {
    int64_t parsed = 0;
    error = std::from_chars(value.data(), value.data() + value.size(), parsed).ec;
  }
  if (error != std::errc()) return fmt::format("{} is out of range for an integer", value);
  return {};
}

const CLI::Validator kSignedDecimal([](std::string& value) { return check_decimal(value, false); }, "",
                                    "decimal integer");
const CLI::Validator kUnsignedDecimal([](std::string& value) { return check_decimal(value, true); }, "",
                                      "non-negative decimal integer");

// The options allow_repeated_items exempted. Options live as long as the app
// (the process), so their addresses identify them.
std::set<const CLI::Option*>& sequence_options() {
  static std::set<const CLI::Option*> options;
  return options;
}

// Refuses an item given twice to a list option of `command` (after CLI11 has
// split them: `--v 8,8`, `--v 8 8` and `--v 8 --v 8` alike).
void check_repeated_items(const CLI::App& command) {
  for (const CLI::Option* option : command.get_options()) {
    if (option->get_delimiter() != ',' || sequence_options().count(option) != 0) continue;
    std::set<std::string> seen;
    for (const std::string& item : option->results())
      if (!seen.insert(item).second)
        throw CLI::ValidationError(option->get_name(), fmt::format("{} is given twice; give each value once", item));
  }
}

}  // namespace

CLI::Option* allow_repeated_items(CLI::Option* option) {
  sequence_options().insert(option);
  return option;
}

void add_option_checks(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_type_size_max() == 0) continue;  // a flag
    // Taken first: a check with a description (SEED, THREADS) is appended to the type name.
    const std::string type = option->get_type_name();
    option->check(kNonEmpty);
    if (option->check_name("--seed")) option->check(kSeed);
    if (option->check_name("--threads")) option->check(kThreads);
    if (type == "INT") option->check(kSignedDecimal);
    if (type == "UINT") option->check(kUnsignedDecimal);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    add_option_checks(*sub);
    if (sub->get_footer().empty())
      sub->footer("Integers are decimal digits (no 0x, no leading zero); input files must be regular files or links "
                  "to them (no FIFO or device); docs/security.md.");
    // After parsing, before the command's own callback runs.
    sub->parse_complete_callback([sub] { check_repeated_items(*sub); });
  }
}

void check_list_arguments(const CLI::App& app, int argc, const char* const* argv) {
  if (argc < 2) return;
  for (int k = 1; k < argc; ++k)
    if (std::string_view(argv[k]) == "--help" || std::string_view(argv[k]) == "-h") return;  // help wins
  const CLI::App* command = nullptr;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == argv[1]) command = sub;
  if (command == nullptr) return;  // CLI11 reports it
  for (int k = 2; k < argc; ++k) {
    const std::string_view word = argv[k];
    if (word.rfind("--", 0) != 0) continue;
    const size_t equals = word.find('=');
    const std::string name(word.substr(0, equals));
    const CLI::Option* option = command->get_option_no_throw(name);
    if (option == nullptr || option->get_delimiter() != ',') continue;
    // The option's words: after '=', or every word up to the next option.
    std::vector<std::string_view> lists;
    if (equals != std::string_view::npos) lists.push_back(word.substr(equals + 1));
    else
      while (k + 1 < argc && std::string_view(argv[k + 1]).rfind("--", 0) != 0) lists.emplace_back(argv[++k]);
    for (const std::string_view list : lists)
      if (!list.empty() && (list.front() == ',' || list.back() == ',' || list.find(",,") != std::string_view::npos))
        throw CLI::ValidationError(name, fmt::format("the list '{}' has an empty item; separate values by single commas", list));
  }
}

}  // namespace hdiff::cli
