// CSV text of the denoiser measurements.

#include "denoiser/tables.h"

#include <optional>

#include <fmt/format.h>

namespace hdiff {
namespace {

std::string number(double value) { return fmt::format("{}", value); }

std::string fields(const Estimate& value) { return number(value.mean) + "," + number(value.standard_error); }

std::string fields(const std::optional<Estimate>& value) { return value ? fields(*value) : std::string(","); }

std::string outcome_fields(const OutcomeAgreement& outcome) {
  return number(outcome.fraction) + "," + fields(outcome.agreement);
}

std::string side_header(const std::string& side) {
  return fmt::format("kept_{0}_fraction,kept_{0}_agreement,kept_{0}_agreement_se,changed_{0}_fraction,"
                     "changed_{0}_agreement,changed_{0}_agreement_se,changed_fraction_{0},susceptibility_{0},"
                     "susceptibility_{0}_se",
                     side);
}

std::string side_fields(const OutcomeAgreement& kept, const OutcomeAgreement& changed, const ChangeSummary& changes) {
  return outcome_fields(kept) + "," + outcome_fields(changed) + "," + number(changes.changed_fraction) + "," +
         fields(changes.susceptibility);
}

}  // namespace

std::string denoiser_phase_csv(Channel channel, const std::vector<DenoiserPhaseRow>& rows) {
  std::string out = "channel,noise,level,agreement_net,agreement_net_se,agreement_bp,agreement_bp_se,agreement_gap,"
                    "validity_net," +
                    side_header("net") + "," + side_header("bp") + "\n";
  for (const auto& row : rows)
    out += fmt::format("{},{},{},{},{},{},{},{},{}\n", channel_name(channel), number(row.noise), row.level,
                       fields(row.agreement_net), fields(row.agreement_bp),
                       number(row.agreement_bp.mean - row.agreement_net.mean), number(row.validity_net),
                       side_fields(row.kept_net, row.changed_net, row.changes_net),
                       side_fields(row.kept_bp, row.changed_bp, row.changes_bp));
  return out;
}

std::string loss_csv(Channel channel, const std::vector<LossRow>& rows) {
  std::string out = "channel,noise,noised_tokens,loss_net,loss_net_se,loss_bayes,loss_bayes_se,excess_loss,kl,kl_se,"
                    "top_agreement,top_agreement_se\n";
  for (const auto& row : rows)
    out += fmt::format("{},{},{},{},{},{},{},{}\n", channel_name(channel), number(row.noise), row.noised_tokens,
                       fields(row.loss_net), fields(row.loss_bayes), number(row.loss_net.mean - row.loss_bayes.mean),
                       fields(row.kl), fields(row.top_agreement));
  return out;
}

}  // namespace hdiff
