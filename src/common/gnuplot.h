#pragma once
// Figures through gnuplot: hdiff writes a script and its data, then runs gnuplot
// on them. A missing gnuplot is reported, never fatal: the CSV results stand alone.

#include <filesystem>
#include <string>

namespace hdiff {

// Runs gnuplot on `script` with `folder` as working directory (started without a
// shell, so any folder name is safe). Returns false and
// prints one line on stderr when gnuplot is missing or fails; the figure is
// then skipped. With a `keep_as` name the script stays in `folder` under that
// name (drawn or not), so a user can restyle the figures and rerun gnuplot on
// it. Ctrl-C while gnuplot runs stops gnuplot, not hdiff.
bool run_gnuplot(const std::string& script, const std::filesystem::path& folder, const std::string& keep_as = "");

// A gnuplot string literal for `text` (quotes and backslashes escaped).
std::string gnuplot_quote(const std::string& text);

}  // namespace hdiff
