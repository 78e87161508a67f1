#include "common/output_names.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace hdiff {
namespace fs = std::filesystem;

namespace {

// FNV-1a, 64 bits: a stable hash of a long NAME (not for security: two names
// that collide would only share a shortened hidden name).
uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

fs::path folder_of(const fs::path& target) {
  return target.parent_path().empty() ? fs::path(".") : target.parent_path();
}

long longest_name(const fs::path& folder) {
  const long limit = pathconf(folder.c_str(), _PC_NAME_MAX);
  return limit > 0 ? limit : 255;
}

// The longest tag that follows the stem: "staging-" + a pid and a counter.
constexpr size_t kLongestTag = 48;

// `.NAME`, or `.PREFIX~HASH` when `.NAME.TAG` could pass the limit.
std::string stem_of(const fs::path& target) {
  const std::string name = target.filename().string();
  const auto limit = static_cast<size_t>(longest_name(folder_of(target)));
  if (1 + name.size() + 1 + kLongestTag <= limit) return "." + name;
  const size_t keep = limit > 1 + 1 + 16 + 1 + kLongestTag ? limit - (1 + 1 + 16 + 1 + kLongestTag) : 0;
  return fmt::format(".{}~{:016x}", name.substr(0, keep), fnv1a(name));
}

bool is_pid_and_counter(std::string_view rest) {
  const size_t dash = rest.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 == rest.size()) return false;
  for (size_t i = 0; i < rest.size(); ++i)
    if (i != dash && (rest[i] < '0' || rest[i] > '9')) return false;
  return true;
}

}  // namespace

fs::path without_trailing_separator(const fs::path& target) {
  return target.filename().empty() && target.has_parent_path() ? target.parent_path() : target;
}

fs::path hidden_sibling(const fs::path& target, const std::string& tag) {
  const fs::path plain = without_trailing_separator(target);
  return plain.parent_path() / (stem_of(plain) + "." + tag);
}

fs::path unique_hidden_sibling(const fs::path& target, const std::string& tag) {
  static std::atomic<uint64_t> counter{0};
  return hidden_sibling(target, fmt::format("{}-{}-{}", tag, getpid(), counter++));
}

int remove_stale_siblings(const fs::path& target) {
  const fs::path plain = without_trailing_separator(target);
  const std::string stem = stem_of(plain);
  int removed = 0;
  std::error_code error;
  for (fs::directory_iterator entry(folder_of(plain), error), end; !error && entry != end; entry.increment(error)) {
    const std::string name = entry->path().filename().string();
    if (name.size() <= stem.size() + 1 || name.compare(0, stem.size() + 1, stem + ".") != 0) continue;
    const std::string_view rest = std::string_view(name).substr(stem.size() + 1);
    for (std::string_view tag : {"staging-", "tmp-"})
      if (rest.substr(0, tag.size()) == tag && is_pid_and_counter(rest.substr(tag.size()))) {
        std::error_code ignored;
        if (fs::remove_all(entry->path(), ignored) > 0) ++removed;
      }
  }
  return removed;
}

}  // namespace hdiff
