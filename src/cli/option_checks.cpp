#include "cli/option_checks.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>

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

// CLI11 turns integers past the type's range into its largest value; here they are refused.
const CLI::Validator kIntegerInRange(
    [](std::string& value) {
      int64_t number = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (error == std::errc::result_out_of_range)
        return fmt::format("{} is out of range; integers lie in [{}, {}]", value, std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max());
      return std::string();  // anything else CLI11 reads or refuses itself
    },
    "", "integer in range");

}  // namespace

void add_option_checks(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_type_size_max() == 0) continue;  // a flag
    option->check(kNonEmpty);
    if (option->check_name("--seed")) option->check(kSeed);
    if (option->check_name("--threads")) option->check(kThreads);
    if (option->get_type_name() == "INT") option->check(kIntegerInRange);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) add_option_checks(*sub);
}

void check_list_arguments(const CLI::App& app, int argc, const char* const* argv) {
  if (argc < 2) return;
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
    std::string_view list;
    if (equals != std::string_view::npos)
      list = word.substr(equals + 1);
    else if (k + 1 < argc)
      list = argv[++k];
    if (list.empty()) continue;  // the empty value is refused with the other checks
    std::set<std::string_view> seen;
    for (size_t start = 0;;) {
      const size_t comma = list.find(',', start);
      const std::string_view item = list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (item.empty())
        throw CLI::ValidationError(name, fmt::format("the list '{}' has an empty item; separate values by single commas", list));
      if (!seen.insert(item).second)
        throw CLI::ValidationError(name, fmt::format("the list '{}' names {} twice; give each value once", list, item));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
}

}  // namespace hdiff::cli
