#pragma once
// The tables, figures and sample grid of `hdiff net changes` (docs/text.md).
// Plain C++: no LibTorch. An undefined value is an empty field, never NaN.
//
// changes.csv, one row per noise level:
//   noise,changed_fraction,susceptibility,susceptibility_se,sequences,trajectories,
//   susceptibility_raw,susceptibility_raw_se,susceptibility_window,susceptibility_window_se,window,
//   correlation_length
// (the columns of docs/phase.md's changes.csv for one level of d positions, then
// the correlation length in tokens); correlations.csv, one row per (noise, r):
//   noise,distance,correlation,correlation_se,normalised   (C^σ(r) and C^σ(r)/C^σ(0)).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/output.h"
#include "text/text_changes.h"
#include "text/tokenizer.h"

namespace hdiff::text {

std::string changes_csv(const std::vector<TextChangesRow>& rows, int64_t sequences, int trajectories, int window);
std::string correlations_csv(const std::vector<TextChangesRow>& rows);
// For the first `shown` sequences: x₀, then per level the masked input and x̂₀
// of its first trajectory ('_' marks a masked character), with the positions
// that changed marked '^' beneath.
std::string sample_grid(const Tokenizer& tokenizer, std::span<const uint32_t> clean, int64_t d,
                        const TextChangesResult& result, const std::vector<double>& noise, int64_t shown);
// susceptibility.png (χ windowed, and χ = ΣC/ΣC_ii, against t) and
// correlation.png (C(r)/C(0) against r at up to five levels), with figures.gp.
void write_changes_figures(const std::vector<TextChangesRow>& rows, const std::string& unit, OutputDir& out);

}  // namespace hdiff::text
