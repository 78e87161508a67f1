#include "image/experiment/experiment_analysis.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.h"
#include "common/output.h"
#include "common/random.h"
#include "image/experiment/experiment_figures.h"
#include "image/io/image_io.h"

namespace hdiff::image {
namespace fs = std::filesystem;

const char* const kSusceptibilityHeader =
    "k,k_over_K,n,mean_change,chi,chi_se,chi_raw,chi_raw_se,class_changed,class_changed_se";
const char* const kPatchCorrelationsHeader = "k,k_over_K,r,pairs,covariance,correlation";
const char* const kTrajectoriesHeader = "row,column,image,content,k,k_over_K,start_class,generated_class";

namespace {

std::string field(const std::optional<double>& x) { return x ? fmt::format("{:.9g}", *x) : std::string(); }

std::string k_fraction(const ProbeTable& t, int64_t k) {
  if (t.num_steps <= 0) return "";
  return fmt::format("{:.6g}", static_cast<double>(k) / static_cast<double>(t.num_steps));
}

double x_of(const ProbeTable& t, int64_t k) {
  return t.num_steps > 0 ? static_cast<double>(k) / static_cast<double>(t.num_steps) : static_cast<double>(k);
}

fs::path image_path(const fs::path& folder, const std::string& sub, const std::string& name) {
  return folder / sub / (name + ".png");
}

// Probability that the class changed at table.ks[s], and its standard error.
std::pair<double, double> class_changed(const ProbeTable& t, size_t s) {
  const double n = static_cast<double>(t.results[s].size());
  double changed = 0;
  for (const auto& p : t.results[s]) changed += p.start_class != p.generated_class ? 1 : 0;
  const double mean = changed / n;
  if (t.results[s].size() < 2) return {mean, std::nan("")};
  const double ss = changed * (1 - mean) * (1 - mean) + (n - changed) * mean * mean;
  return {mean, std::sqrt(ss / (n - 1) / n)};
}

// Pixels of an image as a (c, H, W) tensor in [-1, 1]: c = 1 for grey images.
at::Tensor planar(const Image& image, bool grey) {
  const int channels = grey ? 1 : 3;
  return at::tensor(to_planar_pm1(image, channels)).reshape({channels, image.height, image.width});
}

bool is_grey(const Image& image) {
  for (size_t i = 0; i + 2 < image.rgb.size(); i += 3)
    if (image.rgb[i] != image.rgb[i + 1] || image.rgb[i] != image.rgb[i + 2]) return false;
  return true;
}

Image from_planar(const at::Tensor& x, int width, int height) {
  const auto planes = x.contiguous().to(at::kFloat);
  return from_planar_pm1(planes.data_ptr<float>(), width, height, static_cast<int>(x.size(0)));
}

// Copies `cell` scaled `zoom` times into `canvas` at (x, y).
void paste(Image& canvas, const Image& cell, int x, int y, int zoom) {
  for (int cy = 0; cy < cell.height * zoom; ++cy)
    for (int cx = 0; cx < cell.width * zoom; ++cx)
      for (int ch = 0; ch < 3; ++ch)
        canvas.rgb[(static_cast<size_t>(y + cy) * static_cast<size_t>(canvas.width) + static_cast<size_t>(x + cx)) * 3 +
                   static_cast<size_t>(ch)] =
            cell.rgb[(static_cast<size_t>(cy / zoom) * static_cast<size_t>(cell.width) + static_cast<size_t>(cx / zoom)) * 3 +
                     static_cast<size_t>(ch)];
}

}  // namespace

std::vector<PatchChanges> read_patch_changes(const ProbeTable& table, const fs::path& folder, int patch) {
  std::vector<Image> starts;
  for (const auto& name : table.images) starts.push_back(read_image(image_path(folder, "start", name)));
  std::vector<PatchChanges> out;
  for (auto k : table.ks) {
    PatchChanges changes;
    for (size_t i = 0; i < table.images.size(); ++i) {
      const auto generated = read_image(image_path(folder, fmt::format("k{}", k), table.images[i]));
      if (generated.width != starts[i].width || generated.height != starts[i].height)
        fail("{}: the image is {}x{} but its start image is {}x{}; the folder was changed by hand, make it again",
             image_path(folder, fmt::format("k{}", k), table.images[i]).string(), generated.width, generated.height,
             starts[i].width, starts[i].height);
      if (starts[i].width < patch || starts[i].height < patch)
        fail("image {} ({}x{}) is smaller than one {}x{} patch", table.images[i], starts[i].width, starts[i].height,
             patch, patch);
      changes.rows = starts[i].height / patch;
      changes.cols = starts[i].width / patch;
      changes.m.push_back(patch_change(starts[i], generated, patch));
    }
    for (const auto& row : changes.m)
      if (row.size() != changes.m.front().size()) fail("the start images differ in size; patch changes need one size");
    out.push_back(std::move(changes));
  }
  return out;
}

std::string susceptibility_csv(const ProbeTable& table, const std::vector<PatchChanges>& changes) {
  HDIFF_CHECK(changes.size() == table.ks.size());
  std::string out = std::string(kSusceptibilityHeader) + "\n";
  for (size_t s = 0; s < table.ks.size(); ++s) {
    if (changes[s].m.empty()) continue;
    const auto row = susceptibility(changes[s]);
    const auto [changed, changed_se] = class_changed(table, s);
    out += fmt::format("{},{},{},{:.9g},{},{},{},{},{:.9g},{}\n", table.ks[s], k_fraction(table, table.ks[s]), row.n,
                       row.mean_change, field(row.chi), field(row.chi_se), field(row.chi_raw), field(row.chi_raw_se),
                       changed, std::isnan(changed_se) ? std::string() : fmt::format("{:.9g}", changed_se));
  }
  return out;
}

std::string patch_correlations_csv(const ProbeTable& table, const std::vector<PatchChanges>& changes) {
  HDIFF_CHECK(changes.size() == table.ks.size());
  std::string out = std::string(kPatchCorrelationsHeader) + "\n";
  for (size_t s = 0; s < table.ks.size(); ++s) {
    if (changes[s].m.empty()) continue;
    for (const auto& row : patch_correlations(changes[s]))
      out += fmt::format("{},{},{},{},{},{}\n", table.ks[s], k_fraction(table, table.ks[s]), row.r, row.pairs,
                         field(row.covariance), field(row.correlation));
  }
  return out;
}

TransitionPoints transition_points(const ProbeTable& table, const std::vector<PatchChanges>& changes) {
  HDIFF_CHECK(changes.size() == table.ks.size());
  TransitionPoints points;
  double best = -1;
  for (size_t s = 0; s < table.ks.size(); ++s) {
    if (changes[s].m.empty()) continue;
    const auto chi = susceptibility(changes[s]).chi;
    if (chi && *chi > best) {
      best = *chi;
      points.chi_peak = x_of(table, table.ks[s]);
    }
  }
  for (size_t s = 0; s < table.ks.size(); ++s) {
    if (table.results[s].empty()) continue;
    const double p = class_changed(table, s).first;
    if (p < 0.5) continue;
    if (s == 0) {
      points.class_half_changed = x_of(table, table.ks[0]);
    } else {
      const double q = class_changed(table, s - 1).first;
      const double x0 = x_of(table, table.ks[s - 1]), x1 = x_of(table, table.ks[s]);
      points.class_half_changed = x0 + (0.5 - q) / (p - q) * (x1 - x0);
    }
    break;
  }
  return points;
}

TrajectoryGrid trajectory_grid(const ProbeTable& table, const fs::path& folder, const GaussianDiffusion& diffusion,
                               uint64_t seed, const std::vector<std::string>& class_names, size_t max_rows,
                               size_t max_ks, int zoom) {
  auto name_of = [&](int64_t c) {
    return c >= 0 && static_cast<size_t>(c) < class_names.size() ? class_names[static_cast<size_t>(c)]
                                                                  : std::to_string(c);
  };
  HDIFF_CHECK(max_rows >= 1 && max_ks >= 1 && zoom >= 1);
  TrajectoryGrid grid;
  grid.csv = std::string(kTrajectoriesHeader) + "\n";
  if (table.images.empty() || table.ks.empty()) return grid;
  // Rows: the first image of each class folder (the first path component), in name order.
  std::vector<size_t> rows;
  std::set<std::string> seen;
  for (size_t i = 0; i < table.images.size() && rows.size() < max_rows; ++i) {
    const auto slash = table.images[i].find('/');
    const std::string group = slash == std::string::npos ? table.images[i] : table.images[i].substr(0, slash);
    if (seen.insert(group).second) rows.push_back(i);
  }
  // Columns: up to max_ks of the ks, spread evenly from the first to the last.
  std::vector<size_t> shown;
  const size_t n_ks = std::min(max_ks, table.ks.size());
  for (size_t j = 0; j < n_ks; ++j) {
    const size_t s = n_ks == 1 ? table.ks.size() - 1 : j * (table.ks.size() - 1) / (n_ks - 1);
    if (shown.empty() || shown.back() != s) shown.push_back(s);
  }
  const Image first = read_image(image_path(folder, "start", table.images[rows[0]]));
  const int W = first.width, H = first.height, gap = 2;
  const int columns = 1 + 2 * static_cast<int>(shown.size());
  Image canvas{columns * (W * zoom + gap) + gap, static_cast<int>(rows.size()) * (H * zoom + gap) + gap, {}};
  canvas.rgb.assign(static_cast<size_t>(canvas.width) * static_cast<size_t>(canvas.height) * 3, 255);
  grid.width = canvas.width;
  grid.height = canvas.height;
  const double cell = W * zoom, label_dy = 0.12 * H * zoom;
  auto header_x = [&](int column) { return gap + column * (W * zoom + gap) + cell / 2; };
  grid.labels.push_back({header_x(0), -10, "x_0", 0});
  for (size_t c = 0; c < shown.size(); ++c) {
    const int column = 1 + 2 * static_cast<int>(c);
    const auto k = table.ks[shown[c]];
    grid.labels.push_back({(header_x(column) + header_x(column + 1)) / 2, -22,
                           table.num_steps > 0 ? fmt::format("k/K = {:.3g}", x_of(table, k)) : fmt::format("k = {}", k),
                           0});
    grid.labels.push_back({header_x(column), -10, "x_k", 0});
    grid.labels.push_back({header_x(column + 1), -10, "x̂_0", 0});
  }
  c10::InferenceMode guard;
  for (size_t r = 0; r < rows.size(); ++r) {
    const size_t i = rows[r];
    const std::string& name = table.images[i];
    const Image start = read_image(image_path(folder, "start", name));
    if (start.width != W || start.height != H) fail("the start images differ in size; the picture grid needs one size");
    const int y = gap + static_cast<int>(r) * (H * zoom + gap);
    auto cell_x = [&](int column) { return gap + column * (W * zoom + gap); };
    paste(canvas, start, cell_x(0), y, zoom);
    grid.labels.push_back({header_x(0), y + cell - label_dy, name_of(table.results[0][i].start_class), 0});
    grid.csv += fmt::format("{},0,{},x0,,,{},\n", r, name, table.results[0][i].start_class);
    const bool grey = is_grey(start);
    const auto x0 = planar(start, grey);
    auto generator = at::detail::createCPUGenerator(mix64(seed ^ mix64(0x67726964 + r)));
    for (size_t c = 0; c < shown.size(); ++c) {
      const size_t s = shown[c];
      const auto k = table.ks[s];
      const auto noise = at::randn(x0.sizes(), generator);
      const auto x_k = k >= diffusion.num_steps() ? noise : diffusion.q_sample(x0, static_cast<int>(k), noise);
      paste(canvas, from_planar(x_k, W, H), cell_x(1 + 2 * static_cast<int>(c)), y, zoom);
      const Image generated = read_image(image_path(folder, fmt::format("k{}", k), name));
      if (generated.width != W || generated.height != H) fail("the images of k = {} differ in size from the start images", k);
      paste(canvas, generated, cell_x(2 + 2 * static_cast<int>(c)), y, zoom);
      const auto& p = table.results[s][i];
      grid.labels.push_back({header_x(2 + 2 * static_cast<int>(c)), y + cell - label_dy, name_of(p.generated_class),
                             p.generated_class == p.start_class ? 1 : 2});
      grid.csv += fmt::format("{},{},{},x_k,{},{},{},\n", r, 1 + 2 * c, name, k, k_fraction(table, k), p.start_class);
      grid.csv += fmt::format("{},{},{},x0_hat,{},{},{},{}\n", r, 2 + 2 * c, name, k, k_fraction(table, k),
                              p.start_class, p.generated_class);
    }
  }
  grid.png = png_bytes(canvas);
  return grid;
}

bool write_experiment_analysis(const ProbeTable& table, const fs::path& folder, OutputDir& results,
                               const GaussianDiffusion& diffusion, uint64_t seed, int patch,
                               const std::vector<std::string>& class_names, TransitionPoints& points) {
  const auto changes = read_patch_changes(table, folder, patch);
  results.write("similarity_split.csv", similarity_split_csv(table));
  results.write("class_changed.csv", class_changed_csv(table));
  results.write("susceptibility.csv", susceptibility_csv(table, changes));
  results.write("patch_correlations.csv", patch_correlations_csv(table, changes));
  const auto grid = trajectory_grid(table, folder, diffusion, seed, class_names);
  results.write("trajectories.png", grid.png);
  results.write("trajectories.csv", grid.csv);
  points = transition_points(table, changes);
  return draw_analysis_figures(table, changes, grid, results.staged("trajectories.csv").parent_path());
}

}  // namespace hdiff::image
