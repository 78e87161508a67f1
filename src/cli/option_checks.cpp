#include "cli/option_checks.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

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

}  // namespace

void add_option_checks(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_type_size_max() == 0) continue;  // a flag
    option->check(kNonEmpty);
    if (option->check_name("--seed")) option->check(kSeed);
    if (option->check_name("--threads")) option->check(kThreads);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) add_option_checks(*sub);
}

}  // namespace hdiff::cli
