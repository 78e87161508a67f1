#include "nets/net_sweep.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>

#include "common/error.h"
#include "common/gnuplot.h"
#include "common/output.h"
#include "common/version.h"
#include "nets/checkpoint_files.h"
#include "nets/trainer.h"

namespace hdiff::nets {
namespace {

namespace fs = std::filesystem;

// Validity from which a level counts as learned in the summary.
constexpr double kLearned = 0.9;

struct PointResult {
  int64_t samples = 0;
  uint64_t seed = 0;
  TrainOutcome outcome;
};

std::string number(double x) { return fmt::format("{:.6g}", x); }

std::string validity_table(const std::vector<PointResult>& points) {
  std::string text = "samples,seed,step,level,validity,valid,copied,valid_new\n";
  for (const auto& p : points)
    for (size_t level = 0; level < p.outcome.samples.validity.size(); ++level)
      text += fmt::format("{},{},{},{},{},{},{},{}\n", p.samples, p.seed, p.outcome.step, level,
                          number(p.outcome.samples.validity[level]), number(p.outcome.samples.valid),
                          number(p.outcome.samples.copied), number(p.outcome.samples.valid_new));
  return text;
}

std::string loss_table(const std::vector<PointResult>& points) {
  std::string text = "samples,seed,noise,loss_net,loss_bayes,excess_loss,kl\n";
  for (const auto& p : points)
    for (const auto& r : p.outcome.loss)
      text += fmt::format("{},{},{},{},{},{},{}\n", p.samples, p.seed, number(r.noise), number(r.loss_net.mean),
                          number(r.loss_bayes.mean), number(r.loss_net.mean - r.loss_bayes.mean), number(r.kl.mean));
  return text;
}

std::string agreement_table(const std::vector<PointResult>& points) {
  std::string text = "samples,seed,noise,level,agreement_net,agreement_bp,agreement_gap\n";
  for (const auto& p : points)
    for (const auto& r : p.outcome.phase)
      text += fmt::format("{},{},{},{},{},{},{}\n", p.samples, p.seed, number(r.noise), r.level,
                          number(r.agreement_net.mean), number(r.agreement_bp.mean),
                          number(r.agreement_bp.mean - r.agreement_net.mean));
  return text;
}

// Mean over seeds of `value(point)` per P, in increasing P.
template <typename Value>
std::map<int64_t, double> mean_by_samples(const std::vector<PointResult>& points, Value value) {
  std::map<int64_t, std::pair<double, int>> sums;
  for (const auto& p : points) {
    const auto v = value(p);
    if (!v) continue;
    sums[p.samples].first += *v;
    ++sums[p.samples].second;
  }
  std::map<int64_t, double> means;
  for (const auto& [samples, sum] : sums) means[samples] = sum.first / sum.second;
  return means;
}

void write_figures(const NetSweepConfig& config, const std::vector<PointResult>& points, OutputDir& out) {
  const int L = config.base.grammar.L;
  FigureScript script{"# hdiff net sweep figures: run `gnuplot figures.gp` in this folder to redraw them\n" +
                          figure_style(),
                      {}};
  std::string validity_plots, gap_plots, loss_plots;
  // The middle noise level of the list, for the agreement gap.
  const double gap_noise = config.base.noise[config.base.noise.size() / 2];
  for (int level = 0; level <= L; ++level) {
    const auto validity = mean_by_samples(points, [&](const PointResult& p) {
      return static_cast<size_t>(level) < p.outcome.samples.validity.size()
                 ? std::optional(p.outcome.samples.validity[static_cast<size_t>(level)])
                 : std::nullopt;
    });
    const auto gap = mean_by_samples(points, [&](const PointResult& p) -> std::optional<double> {
      for (const auto& r : p.outcome.phase)
        if (r.level == level && std::abs(r.noise - gap_noise) < 1e-9) return r.agreement_bp.mean - r.agreement_net.mean;
      return std::nullopt;
    });
    std::string v_lines, g_lines;
    for (const auto& [samples, mean] : validity) v_lines += fmt::format("{} {}\n", samples, number(mean));
    for (const auto& [samples, mean] : gap) g_lines += fmt::format("{} {}\n", samples, number(mean));
    const std::string name = fmt::format("level {}{}", level, level == 0 ? " (root)" : level == L ? " (tokens)" : "");
    if (level < L) {
      script.text += fmt::format("$validity_{} << EOD\n{}EOD\n", level, v_lines.empty() ? "nan nan\n" : v_lines);
      validity_plots += fmt::format("{}$validity_{} using 1:2 with linespoints {} title '{}'",
                                    validity_plots.empty() ? "" : ", ", level, series_style(static_cast<size_t>(level)),
                                    name);
    }
    script.text += fmt::format("$gap_{} << EOD\n{}EOD\n", level, g_lines.empty() ? "nan nan\n" : g_lines);
    gap_plots += fmt::format("{}$gap_{} using 1:2 with linespoints {} title '{}'", gap_plots.empty() ? "" : ", ",
                             level, series_style(static_cast<size_t>(level)), name);
  }
  for (size_t j = 0; j < config.base.noise.size(); ++j) {
    const double noise = config.base.noise[j];
    const auto excess = mean_by_samples(points, [&](const PointResult& p) -> std::optional<double> {
      for (const auto& r : p.outcome.loss)
        if (std::abs(r.noise - noise) < 1e-9) return r.loss_net.mean - r.loss_bayes.mean;
      return std::nullopt;
    });
    std::string lines;
    for (const auto& [samples, mean] : excess) lines += fmt::format("{} {}\n", samples, number(mean));
    script.text += fmt::format("$excess_{} << EOD\n{}EOD\n", j, lines.empty() ? "nan nan\n" : lines);
    loss_plots += fmt::format("{}$excess_{} using 1:2 with linespoints {} title 'ε = {}'", loss_plots.empty() ? "" : ", ",
                              j, series_style(j), number(noise));
  }
  const std::string x = "set logscale x 2\nset xlabel 'training strings P'\n";
  add_figure(script, "sweep_validity",
             x + "set ylabel 'validity of generated samples'\nset yrange [0:1.02]\n"
                 "set title 'Samples from pure noise against P (mean over seeds)'\nplot " + validity_plots + "\n");
  add_figure(script, "sweep_excess_loss",
             x + "set ylabel 'excess loss over the Bayes floor (nats per noised token)'\n"
                 "set title 'Excess cross-entropy against P'\nplot " + loss_plots + "\n");
  add_figure(script, "sweep_agreement_gap",
             x + fmt::format("set ylabel 'agreement of BP minus network at ε = {}'\n", number(gap_noise)) +
                 "set title 'Forward-backward: the network''s shortfall per level against P'\nplot " + gap_plots + "\n");
  run_gnuplot(script, out.staged(""), "figures.gp");
}

std::string summary(const NetSweepConfig& config, const std::vector<PointResult>& points) {
  // Validity alone rewards memorising: copies of training strings are valid.
  std::string text = "P        seed  copied  valid_new  validity per level (root .. L-1)\n";
  for (const auto& p : points) {
    text += fmt::format("{:<8} {:<5} {:<7.3f} {:<10.3f}", p.samples, p.seed, p.outcome.samples.copied,
                        p.outcome.samples.valid_new);
    for (double v : p.outcome.samples.validity) text += fmt::format(" {:.3f}", v);
    text += "\n";
  }
  for (int level = 0; level < config.base.grammar.L; ++level) {
    const auto validity = mean_by_samples(points, [&](const PointResult& p) {
      return std::optional(p.outcome.samples.validity[static_cast<size_t>(level)]);
    });
    std::string learned = "not within the sweep";
    for (const auto& [samples, mean] : validity)
      if (mean >= kLearned) {
        learned = fmt::format("from P = {}", samples);
        break;
      }
    text += fmt::format("level {} valid at >= {} of its nodes (mean over seeds): {} (copies count as valid)\n", level,
                        kLearned, learned);
  }
  return text;
}

}  // namespace

std::string sweep_point_name(int64_t samples, uint64_t seed) { return fmt::format("P{}-seed{}", samples, seed); }

SweepOutcome run_net_sweep(const SweepJob& job) {
  if (!job.resume && !job.force)
    for (const int64_t samples : job.config.samples)
      for (const uint64_t seed : job.config.seeds)
        if (fs::exists(job.out / sweep_point_name(samples, seed)))
          fail("{} holds the points of an earlier sweep; add --resume to continue it, or --force to start again",
               job.out.string());
  OutputDir out(job.out, job.resume || job.force ? Existing::replace : Existing::refuse, "hdiff net sweep");
  fs::create_directories(job.out);
  std::vector<PointResult> points;
  SweepOutcome outcome;
  for (const int64_t samples : job.config.samples)
    for (const uint64_t seed : job.config.seeds) {
      TrainJob train;
      train.config = sweep_point(job.config, samples, seed);
      train.config_text = fmt::format("# hdiff net sweep point P = {}, seed = {}\n{}", samples, seed, job.config_text);
      train.out = job.out / sweep_point_name(samples, seed);
      const bool started = !list_checkpoints(train.out / "checkpoints").empty();
      train.resume = job.resume && started;
      // A point folder without checkpoints holds nothing worth keeping; --force restarts every point.
      train.force = job.force || (job.resume && !started);
      train.threads = job.threads;
      PointResult point{samples, seed, run_net_train(train)};
      if (point.outcome.interrupted) {
        outcome.interrupted = true;
        return outcome;
      }
      points.push_back(std::move(point));
      ++outcome.points_done;
    }
  out.write("sweep_validity.csv", validity_table(points));
  out.write("sweep_loss.csv", loss_table(points));
  out.write("sweep_agreement.csv", agreement_table(points));
  write_figures(job.config, points, out);
  nlohmann::json record;
  record["command"] = "hdiff net sweep";
  record["hdiff_version"] = version();
  record["git_commit"] = git_commit();
  record["points"] = outcome.points_done;
  record["config"] = job.config_text;
  out.write("run.json", record.dump(2) + "\n");
  out.commit();
  outcome.summary = summary(job.config, points);
  return outcome;
}

}  // namespace hdiff::nets
