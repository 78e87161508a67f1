#pragma once
// The hidden names hdiff keeps beside an output (a folder or a file) NAME: its
// lock `.NAME.lock`, staging folders `.NAME.staging-PID-N`, temporary files
// `.NAME.tmp-PID-N` and the journal folder `.NAME.unfinished`.
//
// Guarantees: every such name fits the file system's limit on a name (a
// NAME of 255 bytes is legal, `.NAME.staging-…` would not be): when
// `.NAME.TAG` would be too long, NAME is cut and a hash of the whole NAME is
// added, so the name stays the same from run to run and differs between outputs.

#include <filesystem>
#include <string>

namespace hdiff {

// `.NAME.TAG` in the folder of `target` (NAME shortened as above when needed).
std::filesystem::path hidden_sibling(const std::filesystem::path& target, const std::string& tag);

// `.NAME.TAG-PID-N`: a name no other process and no earlier call of this process uses.
std::filesystem::path unique_hidden_sibling(const std::filesystem::path& target, const std::string& tag);

// Removes what killed runs of `target` left beside it: staging folders and
// temporary files (`.NAME.staging-PID-N`, `.NAME.tmp-PID-N`). Call it only
// while holding `target`'s RunLock, when no other run can be using them.
// Returns how many were removed.
int remove_stale_siblings(const std::filesystem::path& target);

// `target` without a trailing separator ("out/" -> "out").
std::filesystem::path without_trailing_separator(const std::filesystem::path& target);

}  // namespace hdiff
