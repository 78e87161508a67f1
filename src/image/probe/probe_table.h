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
//               over the pairs with that class outcome ("new class, old details").
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

}  // namespace hdiff::image
