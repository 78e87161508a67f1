#pragma once
// The measurements of src/denoiser as CSV text (docs/networks.md names the
// columns): one writer for the Python module and for the trainer's files, so
// that both hold the same values. Numbers are the shortest text that reads back
// to the same double; undefined estimates are empty fields; +infinity is "inf".

#include <string>
#include <vector>

#include "denoiser/measure.h"

namespace hdiff {

// comparison table: channel,noise,level,agreement_net,agreement_net_se,agreement_bp,
// agreement_bp_se,agreement_gap (bp − net),validity_net, then per side (net, bp)
// kept_<side>_fraction,kept_<side>_agreement,kept_<side>_agreement_se, the same for
// changed_, then changed_fraction_<side>,susceptibility_<side>,susceptibility_<side>_se.
std::string denoiser_phase_csv(Channel channel, const std::vector<DenoiserPhaseRow>& rows);

// loss table: channel,noise,noised_tokens,loss_net,loss_net_se,loss_bayes,loss_bayes_se,
// excess_loss (net − bayes),kl,kl_se,top_agreement,top_agreement_se.
std::string loss_csv(Channel channel, const std::vector<LossRow>& rows);

}  // namespace hdiff
