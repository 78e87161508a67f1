#include "text/text_changes_report.h"

#include <fmt/format.h>

#include <cmath>

#include "common/gnuplot.h"

namespace hdiff::text {
namespace {

std::string number(double x) { return fmt::format("{:.6g}", x); }
std::string mean_field(const std::optional<Estimate>& e) { return e ? number(e->mean) : ""; }
std::string se_field(const std::optional<Estimate>& e) { return e ? number(e->standard_error) : ""; }

}  // namespace

std::string changes_csv(const std::vector<TextChangesRow>& rows, int64_t sequences, int trajectories, int window) {
  std::string text =
      "noise,changed_fraction,susceptibility,susceptibility_se,sequences,trajectories,susceptibility_raw,"
      "susceptibility_raw_se,susceptibility_window,susceptibility_window_se,window,correlation_length\n";
  for (const auto& r : rows) {
    const auto& c = r.changes;
    text += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\n", number(r.noise), number(c.changed_fraction),
                        mean_field(c.susceptibility), se_field(c.susceptibility), sequences, trajectories,
                        mean_field(c.susceptibility_raw), se_field(c.susceptibility_raw),
                        mean_field(c.susceptibility_window), se_field(c.susceptibility_window), window,
                        r.correlation_length ? number(*r.correlation_length) : "");
  }
  return text;
}

std::string correlations_csv(const std::vector<TextChangesRow>& rows) {
  std::string text = "noise,distance,correlation,correlation_se,normalised\n";
  for (const auto& r : rows) {
    const bool has_zero = !r.correlation.empty() && r.correlation[0] && r.correlation[0]->mean > 0;
    for (size_t d = 0; d < r.correlation.size(); ++d) {
      const auto& c = r.correlation[d];
      if (!c) continue;
      text += fmt::format("{},{},{},{},{}\n", number(r.noise), d, number(c->mean), number(c->standard_error),
                          has_zero ? number(c->mean / r.correlation[0]->mean) : "");
    }
  }
  return text;
}

std::string sample_grid(const Tokenizer& tokenizer, std::span<const uint32_t> clean, int64_t d,
                        const TextChangesResult& result, const std::vector<double>& noise, int64_t shown) {
  std::string text =
      "# hdiff net changes: forward-backward samples (first trajectory of each sequence).\n"
      "# x0: the clean validation text; masked: the input at noise t ('_' = masked); x0^: the model's\n"
      "# reconstruction, '^' beneath each character that differs from x0.\n";
  const auto v = static_cast<uint32_t>(tokenizer.vocabulary);
  const int64_t count = std::min<int64_t>(shown, static_cast<int64_t>(clean.size()) / d);
  for (int64_t n = 0; n < count; ++n) {
    const auto x0 = clean.subspan(static_cast<size_t>(n * d), static_cast<size_t>(d));
    text += fmt::format("\n== sequence {} ==\nx0        {}\n", n, decode(tokenizer, x0));
    for (size_t j = 0; j < noise.size() && j < result.masked.size(); ++j) {
      const auto masked = std::span(result.masked[j]).subspan(static_cast<size_t>(n * d), static_cast<size_t>(d));
      const auto out = std::span(result.denoised[j]).subspan(static_cast<size_t>(n * d), static_cast<size_t>(d));
      text += fmt::format("t={:<6.3g}  {}\nx0^       {}\n", noise[j], decode(tokenizer, masked, v),
                          decode(tokenizer, out));
      if (tokenizer.unit == TokenUnit::characters) {
        std::string marks;
        for (int64_t i = 0; i < d; ++i) marks.push_back(out[static_cast<size_t>(i)] != x0[static_cast<size_t>(i)] ? '^' : ' ');
        while (!marks.empty() && marks.back() == ' ') marks.pop_back();
        text += "          " + marks + "\n";
      }
    }
  }
  return text;
}

void write_changes_figures(const std::vector<TextChangesRow>& rows, const std::string& unit, OutputDir& out) {
  std::string chi;
  for (const auto& r : rows) {
    const auto& w = r.changes.susceptibility_window;
    const auto& s = r.changes.susceptibility;
    if (!w || !s) continue;
    chi += fmt::format("{} {} {} {} {}\n", number(r.noise), number(w->mean), number(w->standard_error),
                       number(s->mean), number(s->standard_error));
  }
  FigureScript script{"# hdiff net changes figures: run `gnuplot figures.gp` in this folder to redraw them\n" +
                          figure_style() + "$chi << EOD\n" + (chi.empty() ? "nan nan nan nan nan\n" : chi) + "EOD\n",
                      {}};
  add_figure(script, "susceptibility",
             "set xlabel 'masked fraction t'\nset ylabel 'susceptibility χ'\nset xrange [0:1]\n"
             "set title 'Correlated changes of forward-backward on text (" + unit + "s)'\n"
             "plot $chi using 1:2:3 with yerrorlines " + series_style(0) + " title 'χ windowed, Σ_{|r|≤R} C^σ(r)', "
             "$chi using 1:4:5 with yerrorlines " + series_style(1) + " title 'χ = Σ C_{ij} / Σ C_{ii}'\n");
  // C(r)/C(0) at up to five levels spread over the run.
  std::string plots;
  const size_t shown = std::min<size_t>(5, rows.size());
  for (size_t k = 0; k < shown; ++k) {
    const size_t j = shown == 1 ? 0 : k * (rows.size() - 1) / (shown - 1);
    const auto& r = rows[j];
    std::string lines;
    if (!r.correlation.empty() && r.correlation[0] && r.correlation[0]->mean > 0)
      for (size_t d = 0; d < r.correlation.size(); ++d)
        if (r.correlation[d])
          lines += fmt::format("{} {} {}\n", d, number(r.correlation[d]->mean / r.correlation[0]->mean),
                               number(r.correlation[d]->standard_error / r.correlation[0]->mean));
    script.text += fmt::format("$corr_{} << EOD\n{}EOD\n", k, lines.empty() ? "nan nan nan\n" : lines);
    plots += fmt::format("{}$corr_{} using 1:2:3 with yerrorlines {} title 't = {}'", plots.empty() ? "" : ", ", k,
                         series_style(k), number(r.noise));
  }
  add_figure(script, "correlation",
             "set xlabel 'distance r (" + unit + "s)'\nset ylabel 'C^σ(r) / C^σ(0)'\nset xrange [0:*]\n"
             "set title 'Connected correlation of token changes'\nplot " + (plots.empty() ? "NaN notitle" : plots) +
                 ", exp(-1) with lines dt 2 lc rgb 'gray' title '1/e'\n");
  run_gnuplot(script, out.staged(""), "figures.gp");
}

}  // namespace hdiff::text
