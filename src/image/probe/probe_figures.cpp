#include "image/probe/probe_figures.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>

#include "common/error.h"
#include "common/gnuplot.h"

namespace hdiff::image {

namespace {

double x_of(const ProbeTable& table, int64_t k) {
  return table.num_steps > 0 ? static_cast<double>(k) / static_cast<double>(table.num_steps)
                             : static_cast<double>(k);
}

std::string x_label(const ProbeTable& table) {
  return table.num_steps > 0 ? "k / K (fraction of the diffusion reversed)" : "k (respaced step)";
}

// NaN (one image: no standard error) is written as 0 so gnuplot draws the point.
double finite_or_zero(double v) { return std::isnan(v) ? 0.0 : v; }

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) fail("cannot write {}", path.string());
}

std::string script(const ProbeTable& table, const std::string& terminal, const std::string& ext) {
  const auto last = table.probes.empty() ? 0 : table.probes.size() - 1;
  return fmt::format(R"gp(set terminal {term}
set datafile separator whitespace
set grid
set key off
set xlabel {xlabel}
set output "class_kept.{ext}"
set ylabel "P(top-1 class kept)"
set yrange [0:1.05]
set title "Class kept after forward-backward"
plot "class_kept.dat" using 1:2:3 with yerrorlines lw 2 pt 7 lc rgb "#1f4e79"
set output "similarity.{ext}"
set ylabel "cosine similarity of whitened activations"
set yrange [*:1.02]
set title "Activation similarity at every ConvNeXt depth"
set palette defined (0 "#440154", 1 "#3b528b", 2 "#21918c", 3 "#5ec962", 4 "#fde725")
set cbrange [0:{last}]
set cblabel "probe point depth (0 = stem, {last} = head)"
set colorbox
plot for [d=0:{last}] "similarity.dat" index d using 1:2:4 with linespoints lw 1.5 pt 7 ps 0.4 lc palette
unset output
)gp",
                     fmt::arg("term", terminal), fmt::arg("ext", ext),
                     fmt::arg("xlabel", gnuplot_quote(x_label(table))), fmt::arg("last", last));
}

// Similarity against probe depth, one solid curve per k for the pairs whose class
// changed and a dashed one for those whose class was kept; the data comes from
// conditional.csv's rows and travels inline (curves without pairs are left out).
std::string class_outcome_script(const ProbeTable& table, const std::string& terminal, const std::string& ext) {
  const auto rows = summarize_by_class(table);
  std::string data, plots;
  for (size_t s = 0; s < table.ks.size(); ++s)
    for (bool kept : {false, true}) {
      std::string block;
      for (const auto& row : rows)
        if (row.k == table.ks[s] && row.class_kept == kept && row.similarity_mean)
          block += fmt::format("{} {:.9g} {:.9g}\n", row.depth, *row.similarity_mean, row.similarity_se.value_or(0.0));
      if (block.empty()) continue;
      const std::string name = fmt::format("k{}_{}", table.ks[s], kept ? "kept" : "changed");
      data += fmt::format("${} << EOD\n{}EOD\n", name, block);
      const double shade = table.ks.size() > 1 ? static_cast<double>(s) / static_cast<double>(table.ks.size() - 1) : 0.0;
      plots += fmt::format("{}${} using 1:2:3 with yerrorlines lw {} dt {} pt 7 ps 0.5 lc palette frac {:.4f} title '{} {}'",
                           plots.empty() ? "" : ", \\\n  ", name, kept ? 1 : 2, kept ? 2 : 1, shade,
                           table.num_steps > 0 ? fmt::format("k/K = {:.3g},", x_of(table, table.ks[s]))
                                               : fmt::format("k = {},", table.ks[s]),
                           kept ? "class kept" : "class changed");
    }
  if (plots.empty()) return "";
  return data + fmt::format(R"gp(set terminal {term}
set output "similarity_by_class.{ext}"
set key outside right
set xlabel "probe point depth (0 = stem, last = head)"
set ylabel "cosine similarity of whitened activations"
set yrange [*:1.02]
set title "New class, old details: similarity of pairs whose class changed (solid) or was kept (dashed)"
set palette defined (0 "#440154", 1 "#21918c", 2 "#fde725")
unset colorbox
plot {plots}
unset output
)gp",
                            fmt::arg("term", terminal), fmt::arg("ext", ext), fmt::arg("plots", plots));
}

}  // namespace

std::string class_kept_data(const ProbeTable& table) {
  std::string out = "# x class_kept class_kept_se\n";
  for (const auto& row : summarize(table))
    if (row.depth == 0)
      out += fmt::format("{:.9g} {:.9g} {:.9g}\n", x_of(table, row.k), row.class_kept,
                         finite_or_zero(row.class_kept_se));
  return out;
}

std::string similarity_data(const ProbeTable& table) {
  const auto rows = summarize(table);
  std::string out;
  for (size_t d = 0; d < table.probes.size(); ++d) {
    if (d > 0) out += "\n\n";
    out += fmt::format("# {} (depth {}): x similarity_mean similarity_se depth\n", table.probes[d], d);
    for (const auto& row : rows)
      if (row.depth == d)
        out += fmt::format("{:.9g} {:.9g} {:.9g} {}\n", x_of(table, row.k), row.similarity_mean,
                           finite_or_zero(row.similarity_se), d);
  }
  return out;
}

bool draw_probe_figures(const ProbeTable& table, const std::filesystem::path& folder) {
  write_text(folder / "class_kept.dat", class_kept_data(table));
  write_text(folder / "similarity.dat", similarity_data(table));
  const std::string png = "pngcairo size 1000,650 font \"sans,11\"", svg = "svg size 1000,650 dynamic font \"sans,11\"";
  return run_gnuplot(script(table, png, "png") + script(table, svg, "svg") + class_outcome_script(table, png, "png") +
                         class_outcome_script(table, svg, "svg"),
                     folder);
}

}  // namespace hdiff::image
