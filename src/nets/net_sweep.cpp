#include "nets/net_sweep.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "cluster/cluster.h"
#include "cluster/unit_job.h"
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

std::string encode_point(const TrainOutcome& outcome) {
  nlohmann::json record;
  record["step"] = outcome.step;
  record["validity"] = outcome.samples.validity;
  record["valid"] = outcome.samples.valid;
  record["copied"] = outcome.samples.copied;
  record["valid_new"] = outcome.samples.valid_new;
  for (const auto& r : outcome.loss)
    record["loss"].push_back({r.noise, r.loss_net.mean, r.loss_bayes.mean, r.kl.mean});
  for (const auto& r : outcome.phase)
    record["phase"].push_back({r.noise, r.level, r.agreement_net.mean, r.agreement_bp.mean});
  return record.dump();
}

TrainOutcome decode_point(const std::string& bytes, const NetConfig& config) {
  // A journal record is checked like any input: a forged or damaged one is an Error, never a wrong table.
  const auto bad = [&](const std::string& what) -> TrainOutcome {
    fail("a sweep point's record in the journal is damaged ({}); delete the sweep's unfinished folder to start over",
         what);
  };
  const nlohmann::json record = nlohmann::json::parse(bytes, nullptr, false);
  if (!record.is_object()) return bad("not a JSON object");
  const auto fraction = [&](const nlohmann::json& x) {
    if (!x.is_number() || !(x.get<double>() >= 0 && x.get<double>() <= 1)) bad("a fraction outside [0, 1]");
    return x.get<double>();
  };
  const auto finite = [&](const nlohmann::json& x) {
    // Losses and KL may be +infinity (a network certain of a wrong token), which JSON writes as null.
    if (x.is_null()) return std::numeric_limits<double>::infinity();
    if (!x.is_number() || !std::isfinite(x.get<double>())) bad("a number that is not one");
    return x.get<double>();
  };
  TrainOutcome outcome;
  if (!record.contains("step") || !record["step"].is_number_integer() || record["step"].get<int64_t>() < 0 ||
      record["step"].get<int64_t>() > config.steps)
    return bad("the step");
  outcome.step = record["step"].get<int64_t>();
  if (!record.contains("validity") || !record["validity"].is_array() ||
      record["validity"].size() != static_cast<size_t>(config.grammar.L))
    return bad("the validity per level");
  for (const auto& x : record["validity"]) outcome.samples.validity.push_back(fraction(x));
  for (const char* key : {"valid", "copied", "valid_new"})
    if (!record.contains(key)) return bad(key);
  outcome.samples.valid = fraction(record["valid"]);
  outcome.samples.copied = fraction(record["copied"]);
  outcome.samples.valid_new = fraction(record["valid_new"]);
  const auto rows = [&](const char* key, size_t count) -> const nlohmann::json& {
    if (!record.contains(key) || !record[key].is_array() || record[key].size() != count) bad(key);
    for (const auto& row : record[key])
      if (!row.is_array() || row.size() != 4) bad(key);
    return record[key];
  };
  for (const auto& row : rows("loss", config.noise.size()))
    outcome.loss.push_back({fraction(row[0]), {finite(row[1]), 0}, {finite(row[2]), 0}, {finite(row[3]), 0}, {}, 0});
  for (const auto& row : rows("phase", config.noise.size() * static_cast<size_t>(config.grammar.L + 1))) {
    DenoiserPhaseRow r;
    r.noise = fraction(row[0]);
    if (!row[1].is_number_integer() || row[1].get<int>() < 0 || row[1].get<int>() > config.grammar.L) bad("a level");
    r.level = row[1].get<int>();
    r.agreement_net.mean = fraction(row[2]);
    r.agreement_bp.mean = fraction(row[3]);
    outcome.phase.push_back(r);
  }
  return outcome;
}

SweepOutcome run_net_sweep(const SweepJob& job) {
  std::optional<OutputDir> out;
  cluster::agree([&] { open_unit_output(out, job.out, job.resume, job.force, "hdiff net sweep"); });
  std::vector<PointResult> points;
  for (const int64_t samples : job.config.samples)
    for (const uint64_t seed : job.config.seeds) points.push_back({samples, seed, {}});
  // Every point trains in its own folder inside the sweep's unfinished folder
  // (beside the journal), so an interrupted point resumes from its checkpoints
  // on whichever rank gets it; a finished point's folder moves into DIR at the
  // commit. Ranks on several machines need DIR on a file system they all see.
  const fs::path points_dir = staging_folder(job.out) / "points";
  UnitJob unit_job;
  unit_job.plan.command = "hdiff net sweep";
  unit_job.plan.out = job.out;
  unit_job.plan.identity = fmt::format("hdiff net sweep {}\n{}", version(), job.config_text);
  unit_job.plan.resume = job.resume;
  for (const auto& point : points) unit_job.plan.costs.push_back(static_cast<double>(point.samples));
  unit_job.progress.assign(points.size(), 1);
  unit_job.progress_label = "hdiff net sweep";
  unit_job.commit_finished_on_ctrl_c = true;
  std::vector<uint8_t> done(points.size(), 0);
  unit_job.run_unit = [&](int64_t index) {
    const PointResult& point = points[static_cast<size_t>(index)];
    TrainJob train;
    train.config = sweep_point(job.config, point.samples, point.seed);
    train.config_text = fmt::format("# hdiff net sweep point P = {}, seed = {}\n{}", point.samples, point.seed,
                                    job.config_text);
    fs::create_directories(points_dir);
    train.out = points_dir / sweep_point_name(point.samples, point.seed);
    const bool started = !list_checkpoints(train.out / "checkpoints").empty();
    train.resume = started;
    // A point folder without checkpoints holds nothing worth keeping.
    train.force = !started;
    train.threads = job.threads;
    const TrainOutcome outcome = run_net_train(train);
    return outcome.interrupted ? std::string() : encode_point(outcome);  // an interrupted unit is discarded
  };
  unit_job.take_result = [&](int64_t index, const std::string& bytes) {
    PointResult& point = points[static_cast<size_t>(index)];
    point.outcome = decode_point(bytes, sweep_point(job.config, point.samples, point.seed));
    done[static_cast<size_t>(index)] = 1;
  };
  SweepOutcome outcome;
  unit_job.write = [&](OutputDir& dir, const UnitRunOutcome& run) {
    std::vector<PointResult> finished;
    for (size_t k = 0; k < points.size(); ++k)
      if (done[k]) finished.push_back(points[k]);
    outcome.points_done = static_cast<int64_t>(finished.size());
    outcome.interrupted = run.interrupted;
    for (const auto& point : finished) {
      // Journalled points of an earlier run moved into DIR at its commit already.
      const fs::path from = points_dir / sweep_point_name(point.samples, point.seed);
      if (fs::exists(from)) fs::rename(from, dir.staged(sweep_point_name(point.samples, point.seed)));
    }
    dir.write("sweep_validity.csv", validity_table(finished));
    dir.write("sweep_loss.csv", loss_table(finished));
    dir.write("sweep_agreement.csv", agreement_table(finished));
    if (!finished.empty()) write_figures(job.config, finished, dir);
    nlohmann::json record;
    record["command"] = "hdiff net sweep";
    record["hdiff_version"] = version();
    record["git_commit"] = git_commit();
    record["points"] = outcome.points_done;
    record["points_planned"] = points.size();
    record["ranks"] = cluster::size();
    record["config"] = job.config_text;
    dir.write("run.json", record.dump(2) + "\n");
    outcome.summary = summary(job.config, finished);
  };
  unit_job.report = [&](const OutputDir&, const UnitRunOutcome& run) {
    if (run.interrupted)
      fmt::print(stderr, "hdiff: interrupted: {} of {} points of the sweep are finished in {}; the same command with "
                         "--resume continues\n", outcome.points_done, points.size(), job.out.string());
  };
  run_unit_job(unit_job, out);
  return outcome;
}

}  // namespace hdiff::nets
