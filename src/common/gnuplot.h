#pragma once
// Figures through gnuplot: hdiff writes a script and its data, then runs gnuplot
// on them. Every figure shares one style (figure_style) and is written as PNG,
// SVG and PDF (add_figure).
//
// What a caller can rely on:
// - gnuplot missing: one note on stderr, no figure, run_gnuplot returns false;
//   the results are complete without figures, and a kept script redraws them.
// - gnuplot interrupted (Ctrl-C): one warning, no figure file left, returns false.
// - anything else that leaves a figure missing, empty or cut short (a full disk,
//   a gnuplot error, gnuplot killed): an Error (FileError when a file could not
//   be written) naming the figure and gnuplot's error line, so that the caller
//   commits nothing; no figure is ever left incomplete by a run that returned.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace hdiff {

// A gnuplot script and the figure files (names relative to the folder it runs
// in) it must write.
struct FigureScript {
  std::string text;
  std::vector<std::string> files;
};

// The formats every figure is written in, as file extensions.
inline constexpr const char* kFigureFormats[] = {"png", "svg", "pdf"};

// The commands that set the shared look; every script starts with them: UTF-8
// text (ε, χ_L, ᾱ as glyphs, subscripts with `_`), a light grid, the key outside
// on the right, and linetypes 1..16 from series_style (for `lc i` in loops).
std::string figure_style();

// The look of the index-th series of a figure (index from 0) as gnuplot plot
// options: a colour of the Okabe–Ito colour-blind-safe palette and a point type,
// so that neighbouring series differ in both and 16 series in at least one.
// `hollow`: the same colour, open points and a dashed line (a paired series).
std::string series_style(size_t index, bool hollow = false);
// The colour (as '#rrggbb') and the gnuplot point type of series_style, for
// figures that set one apart from the other (colour by channel, point by v).
std::string series_colour(size_t index);
int series_point_type(size_t index, bool hollow = false);

// Appends to `script` the commands that draw one figure as NAME.png, NAME.svg
// and NAME.pdf, and those names to script.files. `commands` is everything after
// the terminal (labels, ranges, plot); labels, arrows and ranges are reset after
// the figure, so the next one starts from the shared style.
void add_figure(FigureScript& script, const std::string& name, const std::string& commands);

// Runs gnuplot on `script` with `folder` as working directory (started without
// a shell, so any folder name is safe; its output is kept in memory, not on the
// disk), then checks that every file of script.files is there, non-empty and
// complete (PNG up to its IEND chunk, SVG up to </svg>, PDF up to %%EOF).
// Returns true when all are; see the top of this file for the rest. With a
// `keep_as` name the script stays in `folder` under that name (drawn or not),
// so a user can restyle the figures and rerun gnuplot on it. Ctrl-C while
// gnuplot runs stops gnuplot, not hdiff.
bool run_gnuplot(const FigureScript& script, const std::filesystem::path& folder, const std::string& keep_as = "");

// Whether `path` holds a complete figure of its extension (png, svg or pdf):
// present, non-empty and ending as that format ends. Other extensions: non-empty.
bool figure_file_complete(const std::filesystem::path& path);

// The line of gnuplot's output that names its first error (not a warning),
// else its last non-empty line, else "".
std::string gnuplot_error_line(const std::string& output);

// A gnuplot string literal for `text` (quotes and backslashes escaped).
std::string gnuplot_quote(const std::string& text);

}  // namespace hdiff
