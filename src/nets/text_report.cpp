#include "nets/text_report.h"

#include <fmt/format.h>

#include "common/gnuplot.h"

namespace hdiff::nets {

std::string bits_csv(const std::vector<TextCheckpointMeasures>& checkpoints) {
  std::string text = "step,split,bits_per_token,bits_per_token_se\n";
  for (const auto& c : checkpoints) {
    text += fmt::format("{},train,{:.6g},{:.6g}\n", c.step, c.train_bits.mean, c.train_bits.standard_error);
    text += fmt::format("{},validation,{:.6g},{:.6g}\n", c.step, c.validation_bits.mean,
                        c.validation_bits.standard_error);
  }
  return text;
}

void write_text_report(const std::vector<TextCheckpointMeasures>& checkpoints, const std::string& unit,
                       OutputDir& out) {
  out.write("bits.csv", bits_csv(checkpoints));
  std::string lines;
  for (const auto& c : checkpoints)
    lines += fmt::format("{} {:.6g} {:.6g} {:.6g} {:.6g}\n", c.step, c.train_bits.mean, c.train_bits.standard_error,
                         c.validation_bits.mean, c.validation_bits.standard_error);
  FigureScript script{"# hdiff net train (text) figures: run `gnuplot figures.gp` in this folder to redraw them\n" +
                          figure_style() + "$bits << EOD\n" + (lines.empty() ? "nan nan nan nan nan\n" : lines) +
                          "EOD\n",
                      {}};
  add_figure(script, "bits",
             "set logscale x\nset xlabel 'training step'\nset ylabel 'MDLM bound, bits per " + unit + "'\n" +
                 "set title 'Masked diffusion on the King James Bible'\n"
                 "plot $bits using 1:2:3 with yerrorlines " + series_style(0) + " title 'training books', "
                 "$bits using 1:4:5 with yerrorlines " + series_style(1) + " title 'validation books'\n");
  run_gnuplot(script, out.staged(""), "figures.gp");
}

std::string text_summary(const std::vector<TextCheckpointMeasures>& checkpoints, const std::string& unit) {
  std::string text = fmt::format("step     bits per {} (train)   (validation)\n", unit);
  for (const auto& c : checkpoints)
    text += fmt::format("{:<8} {:.4f} ± {:.4f}      {:.4f} ± {:.4f}\n", c.step, c.train_bits.mean,
                        c.train_bits.standard_error, c.validation_bits.mean, c.validation_bits.standard_error);
  return text;
}

}  // namespace hdiff::nets
