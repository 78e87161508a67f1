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

// Class kept and similarity against k/K, from the data files beside them.
void add_k_figures(FigureScript& script, const ProbeTable& table) {
  const auto last = table.probes.empty() ? 0 : table.probes.size() - 1;
  add_figure(script, "class_kept",
             fmt::format("set key off\nset xlabel {}\nset ylabel \"P(top-1 class kept)\"\nset yrange [0:1.05]\n"
                         "set title \"Class kept after forward-backward\"\n"
                         "plot \"class_kept.dat\" using 1:2:3 with yerrorlines {}\n",
                         gnuplot_quote(x_label(table)), series_style(0)));
  // Depth is a continuous scale: viridis, which stays ordered for colour-blind readers and in grey.
  add_figure(script, "similarity",
             fmt::format("set key off\nset xlabel {}\nset ylabel \"cosine similarity of whitened activations\"\n"
                         "set yrange [*:1.02]\nset title \"Activation similarity at every ConvNeXt depth\"\n"
                         "set palette defined (0 \"#440154\", 1 \"#3b528b\", 2 \"#21918c\", 3 \"#5ec962\", 4 \"#fde725\")\n"
                         "set cbrange [0:{last}]\nset cblabel \"probe point depth (0 = stem, {last} = head)\"\nset colorbox\n"
                         "plot for [d=0:{last}] \"similarity.dat\" index d using 1:2:4 with linespoints lw 1.5 pt 7 ps 0.4 "
                         "lc palette\n",
                         gnuplot_quote(x_label(table)), fmt::arg("last", last)));
}

// Similarity against probe depth, one solid curve per k for the pairs whose class
// changed and a dashed one (open points) for those whose class was kept; the data
// comes from conditional.csv's rows and travels inline (curves without pairs are
// left out, and the figure with them where no k has any).
void add_class_outcome_figure(FigureScript& script, const ProbeTable& table) {
  const auto rows = summarize_by_class(table);
  std::string plots;
  for (size_t s = 0; s < table.ks.size(); ++s)
    for (bool kept : {false, true}) {
      std::string block;
      for (const auto& row : rows)
        if (row.k == table.ks[s] && row.class_kept == kept && row.similarity_mean)
          block += fmt::format("{} {:.9g} {:.9g}\n", row.depth, *row.similarity_mean, row.similarity_se.value_or(0.0));
      if (block.empty()) continue;
      const std::string name = fmt::format("k{}_{}", table.ks[s], kept ? "kept" : "changed");
      script.text += fmt::format("${} << EOD\n{}EOD\n", name, block);
      plots += fmt::format("{}${} using 1:2:3 with yerrorlines {} title '{} {}'", plots.empty() ? "" : ", \\\n  ", name,
                           series_style(s, kept),
                           table.num_steps > 0 ? fmt::format("k/K = {:.3g},", x_of(table, table.ks[s]))
                                               : fmt::format("k = {},", table.ks[s]),
                           kept ? "class kept" : "class changed");
    }
  if (plots.empty()) return;
  add_figure(script, "similarity_by_class",
             "set xlabel \"probe point depth (0 = stem, last = head)\"\n"
             "set ylabel \"cosine similarity of whitened activations\"\nset yrange [*:1.02]\n"
             "set title \"New class, old details: similarity of pairs whose class changed (solid) or was kept (dashed)\"\n"
             "plot " + plots + "\n");
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
  FigureScript script{"# hdiff images experiment figures\n" + figure_style() + "set datafile separator whitespace\n", {}};
  add_k_figures(script, table);
  add_class_outcome_figure(script, table);
  return run_gnuplot(script, folder);
}

}  // namespace hdiff::image
