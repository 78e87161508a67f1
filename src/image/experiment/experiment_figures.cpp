#include "image/experiment/experiment_figures.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "common/gnuplot.h"

namespace hdiff::image {
namespace {

double x_of(const ProbeTable& t, int64_t k) {
  return t.num_steps > 0 ? static_cast<double>(k) / static_cast<double>(t.num_steps) : static_cast<double>(k);
}

std::string x_label(const ProbeTable& t) {
  return t.num_steps > 0 ? "k / K (fraction of the diffusion reversed)" : "k (respaced step)";
}

std::string k_title(const ProbeTable& t, int64_t k) {
  return t.num_steps > 0 ? fmt::format("k/K = {:.3g}", x_of(t, k)) : fmt::format("k = {}", k);
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) fail("cannot write {}", path.string());
}

// P(class changed) and its standard error at table.ks[s] (0 for an undefined error, so the point is drawn).
std::pair<double, double> changed(const ProbeTable& t, size_t s) {
  const double n = static_cast<double>(t.results[s].size());
  double c = 0;
  for (const auto& p : t.results[s]) c += p.start_class != p.generated_class ? 1 : 0;
  const double mean = c / n;
  if (t.results[s].size() < 2) return {mean, 0.0};
  return {mean, std::sqrt((c * (1 - mean) * (1 - mean) + (n - c) * mean * mean) / (n - 1) / n)};
}

void add_split_figures(FigureScript& script, const ProbeTable& table) {
  const auto rows = summarize_distances_by_class(table);
  const char* labels[] = {"cosine similarity of whitened activations", "RMS difference of whitened activations (l2)",
                          "normalised l2: |w_a - w_b| / sqrt(|w_a|^2 + |w_b|^2)"};
  // Titles without '_', which gnuplot's enhanced text takes for a subscript.
  const char* titles[] = {"cosine similarity", "l2 distance", "normalised l2 distance"};
  for (size_t distance = 0; distance < std::size(kDistanceNames); ++distance) {
    std::string plots;
    for (size_t s = 0; s < table.ks.size(); ++s)
      for (bool kept : {false, true}) {
        std::string block;
        for (const auto& row : rows)
          if (row.k == table.ks[s] && row.distance == distance && row.class_kept == kept && row.mean)
            block += fmt::format("{} {:.9g} {:.9g}\n", row.depth, *row.mean, row.se.value_or(0.0));
        if (block.empty()) continue;
        const std::string name = fmt::format("{}_k{}_{}", kDistanceNames[distance], table.ks[s], kept ? "kept" : "changed");
        script.text += fmt::format("${} << EOD\n{}EOD\n", name, block);
        plots += fmt::format("{}${} using 1:2:3 with yerrorlines {} title '{}, {}'", plots.empty() ? "" : ", \\\n  ",
                             name, series_style(s, kept), k_title(table, table.ks[s]),
                             kept ? "class kept" : "class changed");
      }
    if (plots.empty()) continue;
    add_figure(script, fmt::format("similarity_split_{}", kDistanceNames[distance]),
               fmt::format("set xlabel \"probe point depth (0 = stem, last = head)\"\nset ylabel {}\n"
                           "set title \"Class changed (solid) or kept (dashed): {} per classifier layer\"\nplot {}\n",
                           gnuplot_quote(labels[distance]), titles[distance], plots));
  }
}

// The grid as an image plot, headers above it and class names at the bottom of the cells.
void add_trajectory_figure(FigureScript& script, const TrajectoryGrid& grid) {
  if (grid.png.empty()) return;
  std::string labels;
  const char* colours[] = {"#ffffff", "#66ee66", "#ff6666"};
  for (const auto& l : grid.labels) {
    const bool header = l.y < 0;
    // Headers use gnuplot's subscripts (x_0); class names are printed as they are.
    labels += fmt::format("set label {} at {:.6g},{:.6g} center {} font \",{}\" tc rgb \"{}\" front\n",
                          gnuplot_quote(l.text), l.x, grid.height - l.y, header ? "" : "noenhanced boxed", header ? 9 : 6,
                          header ? "#000000" : colours[l.outcome]);
  }
  add_figure(script, "trajectories_labelled",
             fmt::format("set key off\nunset border\nunset tics\nunset grid\nunset xlabel\nunset ylabel\nset size ratio -1\n"
                         "set style textbox opaque fillcolor \"#000000\" noborder margins 1,1\n"
                         "set xrange [0:{}]\nset yrange [0:{}]\n"
                         "set title \"Trajectories: x_0, then x_k and x̂_0 per k (class after: green kept, red changed)\"\n"
                         "{}plot \"trajectories.png\" binary filetype=png with rgbimage\n"
                         "set border\nset tics\nset grid\nset size noratio\n",
                         grid.width, grid.height + 30, labels));
}

}  // namespace

bool draw_analysis_figures(const ProbeTable& table, const std::vector<PatchChanges>& changes,
                           const TrajectoryGrid& grid, const std::filesystem::path& folder) {
  HDIFF_CHECK(changes.size() == table.ks.size());
  std::string class_data = "# x class_changed class_changed_se\n";
  std::string chi_data = "# x chi chi_se class_changed class_changed_se\n";
  for (size_t s = 0; s < table.ks.size(); ++s) {
    if (table.results[s].empty()) continue;
    const auto [p, p_se] = changed(table, s);
    class_data += fmt::format("{:.9g} {:.9g} {:.9g}\n", x_of(table, table.ks[s]), p, p_se);
    const auto row = susceptibility(changes[s]);
    if (row.chi)
      chi_data += fmt::format("{:.9g} {:.9g} {:.9g} {:.9g} {:.9g}\n", x_of(table, table.ks[s]), *row.chi,
                              row.chi_se.value_or(0.0), p, p_se);
  }
  std::string correlation_data, correlation_plots;
  size_t blocks = 0;
  for (size_t s = 0; s < table.ks.size(); ++s) {
    if (changes[s].m.empty()) continue;
    std::string block;
    for (const auto& row : patch_correlations(changes[s]))
      if (row.correlation) block += fmt::format("{} {:.9g}\n", row.r, *row.correlation);
    if (block.empty()) continue;
    correlation_data += fmt::format("{}# {}\n{}", blocks ? "\n\n" : "", k_title(table, table.ks[s]), block);
    correlation_plots += fmt::format("{}\"patch_correlations.dat\" index {} using 1:2 with linespoints {} title '{}'",
                                     blocks ? ", \\\n  " : "", blocks, series_style(s), k_title(table, table.ks[s]));
    ++blocks;
  }
  write_text(folder / "class_changed.dat", class_data);
  write_text(folder / "susceptibility.dat", chi_data);
  write_text(folder / "patch_correlations.dat", correlation_data);

  FigureScript script{"# hdiff images experiment: analysis figures\n" + figure_style() +
                          "set datafile separator whitespace\n",
                      {}};
  add_figure(script, "class_changed",
             fmt::format("set key off\nset xlabel {}\nset ylabel \"P(top-1 class changed)\"\nset yrange [-0.05:1.05]\n"
                         "set title \"Class changed after forward-backward\"\n"
                         "plot \"class_changed.dat\" using 1:2:3 with yerrorlines {}\n",
                         gnuplot_quote(x_label(table)), series_style(0)));
  add_split_figures(script, table);
  if (chi_data.find('\n') + 1 < chi_data.size())  // a row beyond the header: χ is defined somewhere
    add_figure(script, "susceptibility",
             fmt::format("set xlabel {}\nset ylabel \"susceptibility χ of patch changes\"\n"
                         "set y2label \"P(top-1 class changed)\"\nset y2range [-0.05:1.05]\nset y2tics\nset ytics nomirror\n"
                         "set title \"Where χ peaks and where the class is lost\"\n"
                         "plot \"susceptibility.dat\" using 1:2:3 with yerrorlines {} title 'χ', \\\n"
                         "  \"susceptibility.dat\" using 1:4:5 axes x1y2 with yerrorlines {} title 'P(class changed)'\n"
                         "unset y2tics\nunset y2label\nset ytics mirror\n",
                         gnuplot_quote(x_label(table)), series_style(0), series_style(1, true)));
  if (blocks > 0)
    add_figure(script, "patch_correlations",
               fmt::format("set xlabel \"patch distance r (patch widths)\"\nset ylabel \"C(r) / C(0)\"\n"
                           "set title \"Connected correlation of patch changes\"\n"
                           "plot {}\n",
                           correlation_plots));
  add_trajectory_figure(script, grid);
  return run_gnuplot(script, folder);
}

}  // namespace hdiff::image
