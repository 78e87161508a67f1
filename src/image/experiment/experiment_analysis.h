#pragma once
// The image experiment's analyses beyond the probe tables, from the images a
// run left in its folder (start/<name>.png, k<k>/<name>.png) and its probe table:
//   susceptibility.csv   k,k_over_K,n,mean_change,chi,chi_se,chi_raw,chi_raw_se,class_changed,class_changed_se
//   patch_correlations.csv k,k_over_K,r,pairs,covariance,correlation
//                        (definitions: patch_changes.h and docs/images.md)
//   trajectories.png     the picture grid: one row per shown image, columns x₀,
//                        then x_k and x̂₀ for each shown k (trajectories.csv says
//                        which image and k every cell holds, and its classes)
//   trajectories.csv     row,column,image,content,k,k_over_K,start_class,generated_class
//   trajectories_labelled.{png,svg,pdf}  the grid drawn by gnuplot with column
//                        headers and the classes (class names when known; the
//                        class after: green when kept, red when changed)
// Empty fields are undefined values.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "image/diffusion/sampler.h"
#include "image/experiment/patch_changes.h"
#include "image/probe/probe_table.h"

namespace hdiff {
class OutputDir;
}

namespace hdiff::image {

extern const char* const kSusceptibilityHeader;
extern const char* const kPatchCorrelationsHeader;
extern const char* const kTrajectoriesHeader;

// The spatial changes of every k of a table, read from `folder`.
std::vector<PatchChanges> read_patch_changes(const ProbeTable& table, const std::filesystem::path& folder, int patch);

// susceptibility.csv and patch_correlations.csv texts (changes[s] belongs to table.ks[s]).
std::string susceptibility_csv(const ProbeTable& table, const std::vector<PatchChanges>& changes);
std::string patch_correlations_csv(const ProbeTable& table, const std::vector<PatchChanges>& changes);

// Where χ peaks and where the class is lost, in k/K (k when K is unknown).
struct TransitionPoints {
  std::optional<double> chi_peak;            // the k of the largest χ
  std::optional<double> class_half_changed;  // P(class changed) reaches 1/2 (linear between the ks)
};
TransitionPoints transition_points(const ProbeTable& table, const std::vector<PatchChanges>& changes);

// The picture grid. Rows: the first image (name order) of each class folder, at
// most `max_rows`; columns: x₀, then x_k (an illustrative draw of q(x_k | x₀)
// with noise keyed by (seed, row), not the noise of the run) and x̂₀ for up to
// `max_ks` values of k spread over the table's ks. Each cell is the image
// scaled `zoom` times, cells 2 pixels apart.
// A text on the grid, in its pixels (x right, y down from the top-left corner).
struct GridLabel {
  double x = 0, y = 0;
  std::string text;
  int outcome = 0;  // 0: neutral, 1: class kept, 2: class changed
};
struct TrajectoryGrid {
  std::string png;  // PNG bytes
  std::string csv;  // trajectories.csv
  int width = 0, height = 0;
  std::vector<GridLabel> labels;  // column headers (y < 0: above the grid) and classes
};
// `class_names[c]` names class c where given (else its number).
TrajectoryGrid trajectory_grid(const ProbeTable& table, const std::filesystem::path& folder,
                               const GaussianDiffusion& diffusion, uint64_t seed,
                               const std::vector<std::string>& class_names = {}, size_t max_rows = 10,
                               size_t max_ks = 5, int zoom = 2);

// Writes every file above, and the figures (class_changed, similarity_split_*,
// susceptibility, patch_correlations) drawn from them, into `results`.
// Returns whether the figures were drawn (gnuplot present).
bool write_experiment_analysis(const ProbeTable& table, const std::filesystem::path& folder, OutputDir& results,
                               const GaussianDiffusion& diffusion, uint64_t seed, int patch,
                               const std::vector<std::string>& class_names, TransitionPoints& points);

}  // namespace hdiff::image
