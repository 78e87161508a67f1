#include "nets/net_report.h"

#include <fmt/format.h>

#include <optional>

#include "common/gnuplot.h"
#include "denoiser/tables.h"

namespace hdiff::nets {
namespace {

std::string number(double x) { return fmt::format("{:.6g}", x); }

// A gnuplot datablock $name of the given lines ("x y [err]").
std::string datablock(const std::string& name, const std::string& lines) {
  return fmt::format("${} << EOD\n{}EOD\n", name, lines.empty() ? "nan nan nan\n" : lines);
}

}  // namespace

std::string validity_csv(const std::vector<CheckpointMeasures>& checkpoints) {
  std::string text = "step,level,validity\n";
  for (const auto& c : checkpoints)
    for (size_t level = 0; level < c.samples.validity.size(); ++level)
      text += fmt::format("{},{},{}\n", c.step, level, number(c.samples.validity[level]));
  return text;
}

std::string samples_csv(const std::vector<CheckpointMeasures>& checkpoints) {
  std::string text = "step,valid,copied,valid_new\n";
  for (const auto& c : checkpoints)
    text += fmt::format("{},{},{},{}\n", c.step, number(c.samples.valid), number(c.samples.copied),
                        number(c.samples.valid_new));
  return text;
}

std::string train_loss_csv(Channel channel, const std::vector<CheckpointMeasures>& checkpoints) {
  // The columns of denoiser/tables.h's loss table, after the step and the split.
  std::string text;
  const auto append = [&](int64_t step, const char* split, const std::vector<LossRow>& rows) {
    const std::string table = hdiff::loss_csv(channel, rows);
    const size_t header_end = table.find('\n');
    if (text.empty()) text = "step,split," + table.substr(0, header_end + 1);
    size_t at = header_end + 1;
    while (at < table.size()) {
      const size_t end = table.find('\n', at);
      text += fmt::format("{},{},{}", step, split, table.substr(at, end - at + 1));
      at = end + 1;
    }
  };
  for (const auto& c : checkpoints) {
    append(c.step, "train", c.train);
    append(c.step, "test", c.test);
  }
  return text.empty() ? "step,split\n" : text;
}

void write_net_report(const NetConfig& config, const std::vector<CheckpointMeasures>& checkpoints,
                      const FinalMeasures& final_measures, OutputDir& out) {
  out.write("validity.csv", validity_csv(checkpoints));
  out.write("samples.csv", samples_csv(checkpoints));
  out.write("train_loss.csv", train_loss_csv(config.process, checkpoints));
  out.write("loss.csv", hdiff::loss_csv(config.process, final_measures.loss));
  out.write("comparison.csv", denoiser_phase_csv(config.process, final_measures.phase));

  const int L = config.grammar.L;
  FigureScript script{"# hdiff net train figures: run `gnuplot figures.gp` in this folder to redraw them\n" +
                          figure_style(),
                      {}};
  std::string plots;
  for (int level = 0; level < L; ++level) {
    std::string lines;
    for (const auto& c : checkpoints)
      if (static_cast<size_t>(level) < c.samples.validity.size())
        lines += fmt::format("{} {}\n", c.step, number(c.samples.validity[static_cast<size_t>(level)]));
    script.text += datablock(fmt::format("validity_{}", level), lines);
    plots += fmt::format("{}$validity_{} using 1:2 with linespoints {} title 'level {}{}'", plots.empty() ? "" : ", ",
                         level, series_style(static_cast<size_t>(level)), level, level == 0 ? " (root)" : "");
  }
  add_figure(script, "validity",
             "set logscale x\nset xlabel 'training step'\nset ylabel 'validity of generated samples'\n"
             "set yrange [0:1.02]\nset title 'Samples from pure noise: valid nodes per level'\nplot " +
                 plots + "\nunset logscale x\n");

  std::string loss_lines;
  for (const auto& r : final_measures.loss)
    loss_lines += fmt::format("{} {} {} {} {}\n", number(r.noise), number(r.loss_net.mean),
                              number(r.loss_net.standard_error), number(r.loss_bayes.mean),
                              number(r.loss_bayes.standard_error));
  script.text += datablock("loss", loss_lines);
  add_figure(script, "loss",
             "set xlabel 'noise level ε'\nset ylabel 'cross-entropy per noised token (nats)'\n"
             "set title 'Trained network against the Bayes-optimal floor (exact BP)'\n"
             "plot $loss using 1:2:3 with yerrorlines " + series_style(0) + " title 'network', "
             "$loss using 1:4:5 with yerrorlines " + series_style(1) + " title 'exact BP (floor)'\n");

  std::string agreement_plots;
  for (int level = 0; level <= L; ++level) {
    std::string lines;
    for (const auto& r : final_measures.phase)
      if (r.level == level)
        lines += fmt::format("{} {} {} {} {}\n", number(r.noise), number(r.agreement_net.mean),
                             number(r.agreement_net.standard_error), number(r.agreement_bp.mean),
                             number(r.agreement_bp.standard_error));
    script.text += datablock(fmt::format("agreement_{}", level), lines);
    const std::string name = fmt::format("level {}{}", level, level == 0 ? " (class)" : level == L ? " (tokens)" : "");
    agreement_plots += fmt::format(
        "{}$agreement_{} using 1:2:3 with yerrorlines {} title '{}, network', "
        "$agreement_{} using 1:4:5 with yerrorlines {} title '{}, BP'",
        agreement_plots.empty() ? "" : ", ", level, series_style(static_cast<size_t>(level)), name, level,
        series_style(static_cast<size_t>(level), true), name);
  }
  add_figure(script, "agreement",
             "set xlabel 'noise level ε'\nset ylabel 'agreement A_ℓ after forward-backward'\nset yrange [0:1.02]\n"
             "set title 'Forward-backward: network (solid) and exact BP (dashed)'\nplot " +
                 agreement_plots + "\n");
  run_gnuplot(script, out.staged(""), "figures.gp");
}

std::string net_summary(const std::vector<CheckpointMeasures>& checkpoints, const FinalMeasures& final_measures) {
  std::string text;
  if (!checkpoints.empty()) {
    const auto& last = checkpoints.back();
    text += fmt::format("validity of {} samples from pure noise at step {}, level 0 (root) .. L-1:", "generated",
                        last.step);
    for (double v : last.samples.validity) text += fmt::format(" {:.3f}", v);
    text += fmt::format("; valid {:.3f}, copied {:.3f}, valid and new {:.3f}\n", last.samples.valid,
                        last.samples.copied, last.samples.valid_new);
  }
  text += "noise  loss_net  loss_bayes  excess    KL(BP||net)  top agreement\n";
  for (const auto& r : final_measures.loss)
    text += fmt::format("{:<6.3g} {:<9.4f} {:<11.4f} {:<9.4f} {:<12.4f} {:.3f}\n", r.noise, r.loss_net.mean,
                        r.loss_bayes.mean, r.loss_net.mean - r.loss_bayes.mean, r.kl.mean, r.top_agreement.mean);
  return text;
}

}  // namespace hdiff::nets
