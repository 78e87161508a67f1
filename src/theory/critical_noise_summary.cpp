#include "theory/critical_noise_summary.h"

#include <fmt/format.h>

#include "common/error.h"
#include "theory/density_evolution.h"
#include "theory/mean_field.h"
#include "theory/threshold.h"

namespace hdiff {

std::string critical_noise_summary(int v, int n_classes, int m, int s, Channel channel,
                                   std::optional<Schedule> schedule) {
  const std::string model = fmt::format("--v {} --classes {} --m {} --s {}", v, n_classes, m, s);
  const char* symbol = channel == Channel::gaussian ? "alpha-bar*" : "epsilon*";
  const auto time_note = [&](double noise) {
    if (!schedule) return std::string();
    return fmt::format(" (time {:.1f} on the {} schedule)", critical_time(channel, schedule_name(*schedule), noise),
                       schedule_name(*schedule));
  };
  std::string out;
  if (channel == Channel::soft) {
    try {
      const MeanFieldModel mean_field{v, n_classes, m, s};
      const MeanFieldResult result = solve_mean_field(mean_field);
      out += fmt::format("theory: mean field, {} = {:.4f}{} (hdiff theory --mean-field {})\n", symbol,
                         result.critical_noise, time_note(result.critical_noise), model);
    } catch (const Error& e) {
      out += fmt::format("theory: mean field does not apply: {}\n", e.what());
    }
  }
  try {
    TheoryParams params{v, n_classes, m, s, channel};
    params.population = kSummaryPopulation;
    const ThresholdResult result = find_threshold(params, ThresholdOptions{});
    if (result.never_reconstructed) {
      out += "theory: density evolution, the class is lost even at the smallest noise\n";
    } else {
      out += fmt::format(
          "theory: density evolution, {} = {:.4f}{}, interval [{:.4f}, {:.4f}] (population {}; the full search: "
          "hdiff theory --threshold {} --channel {})\n",
          symbol, result.critical_noise, time_note(result.critical_noise), result.interval_low, result.interval_high,
          kSummaryPopulation, model, channel_name(channel));
    }
  } catch (const Error& e) {
    out += fmt::format("theory: density evolution does not apply: {}\n", e.what());
  }
  return out;
}

}  // namespace hdiff
