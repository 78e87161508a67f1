#pragma once
// The figures of the image experiment's analyses (experiment_analysis.h), drawn
// by gnuplot in the shared figure style, each as .png, .svg and .pdf:
//   class_changed            P(top-1 class changed) ± standard error against k/K;
//   similarity_split_cosine, similarity_split_l2, similarity_split_l2_normalised
//                            each distance against probe depth, one colour per k,
//                            class changed solid, class kept dashed (similarity_split.csv);
//   susceptibility           χ ± standard error (left axis) and P(class changed)
//                            (right axis) against k/K: where χ peaks beside where
//                            the class is lost;
//   patch_correlations       C(r) / C(0) against the patch distance r, one curve per k;
//   trajectories_labelled    trajectories.png with its column headers and classes.
// Their data stays beside them (class_changed.dat, susceptibility.dat,
// patch_correlations.dat; the split figures carry theirs inline).

#include <filesystem>
#include <vector>

#include "image/experiment/experiment_analysis.h"
#include "image/experiment/patch_changes.h"
#include "image/probe/probe_table.h"

namespace hdiff::image {

// Writes the data files into `folder` and runs gnuplot there; false (after one
// line on stderr) when gnuplot is missing, as draw_probe_figures.
// `grid` is the picture grid already written as `folder`/trajectories.png.
bool draw_analysis_figures(const ProbeTable& table, const std::vector<PatchChanges>& changes,
                           const TrajectoryGrid& grid, const std::filesystem::path& folder);

}  // namespace hdiff::image
