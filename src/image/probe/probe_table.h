#pragma once
// The probe's results for every image, probe point and k, and their two CSV
// tables:
//   pairs.csv   image,k,k_over_K,probe,depth,similarity,start_class,generated_class,class_kept
//               one row per image, probe point and k;
//   summary.csv k,k_over_K,probe,depth,n,similarity_mean,similarity_se,class_kept,class_kept_se
//               one row per k and probe point, mean and standard error over images
//               (class_kept is the same for every probe point of one k);
//   conditional.csv k,k_over_K,probe,depth,class,n,similarity_mean,similarity_se
//               two rows (class kept, changed) per k and probe point: the similarity
//               over the pairs with that class outcome ("new class, old details");
//   similarity_split.csv k,k_over_K,probe,depth,distance,class,n,mean,se
//               six rows per k and probe point: the three distances of whitened
//               activations (cosine, l2, l2_normalised; probe.h) over the pairs whose
//               class was kept and over those whose class changed;
//   class_changed.csv k,k_over_K,n,class_changed,class_changed_se
//               one row per k: the probability that the top-1 class changed.
// An undefined mean or standard error (no pair, or one) is an empty field.
// depth is the probe point's index in forward order (0 = stem, last = head);
// k_over_K is empty when the number of respaced steps K is not known.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hdiff::image {

// What the probe measured for one pair of images.
struct PairProbe {
  int64_t start_class = -1;        // top-1 class of the start image
  int64_t generated_class = -1;    // top-1 class of the generated image
  std::vector<double> similarity;  // per probe point, cosine of whitened activations
  std::vector<double> l2;              // per probe point, RMS difference of whitened activations
  std::vector<double> l2_normalised;   // per probe point, ‖w_a − w_b‖ / √(‖w_a‖² + ‖w_b‖²)
};

// All results of one probe run.
struct ProbeTable {
  std::vector<std::string> images;                // image names (relative paths without extension)
  std::vector<std::string> probes;                // probe point names in forward order
  std::vector<int64_t> ks;                        // respaced steps the images were reversed at
  int64_t num_steps = 0;                          // K, or 0 when unknown
  std::vector<std::vector<PairProbe>> results;    // results[k index][image index]
};

// One row of the summary: mean and standard error over the images.
struct SummaryRow {
  int64_t k = 0;
  size_t depth = 0;  // probe index
  size_t n = 0;      // images
  double similarity_mean = 0, similarity_se = 0, class_kept = 0, class_kept_se = 0;
};

// The summary rows, ordered by k then depth.
std::vector<SummaryRow> summarize(const ProbeTable& table);

// One row of conditional.csv: the similarity over the pairs of one class outcome.
struct ClassOutcomeRow {
  int64_t k = 0;
  size_t depth = 0;
  bool class_kept = false;
  size_t n = 0;                                // pairs with this outcome
  std::optional<double> similarity_mean;       // empty when n = 0
  std::optional<double> similarity_se;         // empty when n < 2
};

// The rows of conditional.csv, ordered by k, depth, then kept before changed.
std::vector<ClassOutcomeRow> summarize_by_class(const ProbeTable& table);
// The distances of similarity_split.csv, in their order there.
inline constexpr const char* kDistanceNames[] = {"cosine", "l2", "l2_normalised"};

// One row of similarity_split.csv.
struct DistanceSplitRow {
  int64_t k = 0;
  size_t depth = 0;
  size_t distance = 0;                 // index into kDistanceNames
  bool class_kept = false;
  size_t n = 0;                        // pairs with this outcome
  std::optional<double> mean;          // empty when n = 0
  std::optional<double> se;            // empty when n < 2
};

// The rows of similarity_split.csv, ordered by k, depth, distance, then kept
// before changed. Every pair must carry all three distances.
std::vector<DistanceSplitRow> summarize_distances_by_class(const ProbeTable& table);
// similarity_split.csv text.
std::string similarity_split_csv(const ProbeTable& table);
// class_changed.csv text: 1 − class_kept of summary.csv, with the same standard error.
std::string class_changed_csv(const ProbeTable& table);
// pairs.csv text.
std::string pairs_csv(const ProbeTable& table);
// summary.csv text.
std::string summary_csv(const ProbeTable& table);
// conditional.csv text.
std::string conditional_csv(const ProbeTable& table);
// The header lines of the two tables (for tests and documentation).
extern const char* const kPairsHeader;
extern const char* const kSummaryHeader;
extern const char* const kConditionalHeader;
extern const char* const kSimilaritySplitHeader;
extern const char* const kClassChangedHeader;

}  // namespace hdiff::image
