// Forward–backward over image folders or tensor files, and the step benchmark.
// Noises are drawn per image from a generator keyed by (seed, image name, k), so
// an image's result does not depend on the batch it fell into or on reruns.

#include "image/diffusion/forward_backward_job.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include "cluster/cluster.h"
#include "common/error.h"
#include "common/npy.h"
#include "common/output.h"
#include "common/progress.h"
#include "common/random.h"
#include "common/version.h"
#include "image/checkpoint/checkpoint.h"
#include "image/diffusion/sampler.h"
#include "image/io/image_io.h"
#include "image/models/adm_unet.h"
#include "libtorch/torch_bridge.h"

namespace hdiff::image {
namespace {

namespace fs = std::filesystem;

// Creates a folder (and its parents); failures are user errors naming the folder.
void make_folder(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) fail("cannot create output folder {}: {}", dir.string(), error.message());
}

// Thrown from inside a run when Ctrl-C was pressed; caught by the job.
struct Interrupted {};

AdmConfig job_config(const fs::path& model_config, const std::string& preset) {
  if (!model_config.empty() && !preset.empty()) fail("give either --model-config or --preset, not both");
  if (model_config.empty() && preset.empty()) fail("give --model-config F.json or --preset adm-256-uncond");
  return preset.empty() ? read_adm_config(model_config) : adm_preset(preset);
}

uint64_t name_hash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// Per-image noise streams of one batch: noise(j) stacks the j-th draw of each.
class BatchNoise {
 public:
  BatchNoise(uint64_t seed, const std::vector<uint64_t>& image_ids, int k, std::vector<int64_t> shape)
      : shape_(std::move(shape)) {
    for (uint64_t id : image_ids)
      generators_.push_back(at::detail::createCPUGenerator(mix64(seed ^ mix64(id ^ mix64(0x6b00 + static_cast<uint64_t>(k))))));
  }
  at::Tensor operator()(int j) {
    HDIFF_CHECK(j == next_);
    ++next_;
    std::vector<at::Tensor> parts;
    for (auto& g : generators_) parts.push_back(at::randn(shape_, g));
    return at::stack(parts);
  }

 private:
  std::vector<int64_t> shape_;
  std::vector<at::Generator> generators_;
  int next_ = 0;
};

struct LoadedModel {
  AdmConfig config;
  std::unique_ptr<AdmUnet> net;
  std::unique_ptr<GaussianDiffusion> diffusion;
  c10::Device device = c10::Device(c10::kCPU);
  bool fp16 = false;
};

LoadedModel load_model(const ForwardBackwardJob& job) {
  LoadedModel m;
  m.config = job_config(job.model_config, job.preset);
  if (job.steps < 0) fail("--steps must be positive, got {}", job.steps);
  if (job.steps > m.config.diffusion_steps)
    fail("--steps {} exceeds the model's {} diffusion steps", job.steps, m.config.diffusion_steps);
  m.diffusion = std::make_unique<GaussianDiffusion>(
      GaussianDiffusion::from_config(m.config, job.steps > 0 ? std::to_string(job.steps) : ""));
  const std::string device = choose_device(job.device);
  m.device = c10::Device(device);
  const bool fp16 = m.fp16 = use_fp16(job.precision, m.config.use_fp16, device);
  m.net = std::make_unique<AdmUnet>(m.config);
  m.net->load(job.checkpoint);
  m.net->to(m.device, fp16);
  // Every call has the same shapes, so cuDNN's algorithm search pays off at once.
  if (m.device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  // fp32 runs are for comparison with PyTorch's fp32: no TF32 shortcuts on GPUs.
  if (!fp16) {
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  return m;
}

void check_ks(const std::vector<int>& ks, int K) {
  if (ks.empty()) fail("give at least one step with --t k1[,k2,...]");
  for (int k : ks)
    if (k < 0 || k > K) fail("--t {} is outside 0..{} (K = --steps; k = K starts from pure noise)", k, K);
}

at::Tensor labels_from_tensor(const std::string& spec, int64_t n, const AdmConfig& config) {
  const auto [file, key] = ckpt::split_tensor_spec(spec);
  const ckpt::Tensor t = ckpt::read_tensor(file, key);
  if (t.shape.size() != 1 || t.shape[0] != n)
    fail("--labels-tensor {} has shape {}; expected [{}] (one class per image)", spec, ckpt::shape_string(t.shape), n);
  const auto values = t.to_i64();
  for (int64_t v : values)
    if (v < 0 || v >= config.num_classes) fail("--labels-tensor {}: label {} is outside 0..{}", spec, v, config.num_classes - 1);
  return torch::tensor(values, torch::kLong);
}

// Labels of a class-conditional model from ImageNet-style class subfolders.
at::Tensor labels_from_folders(const std::vector<fs::path>& names, const AdmConfig& config) {
  std::set<std::string> folders;
  for (const auto& n : names) {
    if (!n.has_parent_path()) fail("the model is class-conditional: put images in class subfolders or give --labels-tensor");
    folders.insert(n.parent_path().string());
  }
  bool numeric = true;
  // At most 9 digits, so that stoll cannot overflow; larger numbers fail the class range check anyway.
  for (const auto& f : folders)
    numeric = numeric && !f.empty() && f.size() <= 9 && f.find_first_not_of("0123456789") == std::string::npos;
  if (!numeric && static_cast<int>(folders.size()) != config.num_classes)
    fail("the model has {} classes but the input has {} class subfolders; name the folders by class number "
         "or give --labels-tensor",
         config.num_classes, folders.size());
  std::map<std::string, int64_t> index;
  for (const auto& f : folders) index.emplace(f, numeric ? std::stoll(f) : static_cast<int64_t>(index.size()));
  std::vector<int64_t> labels;
  for (const auto& n : names) {
    const int64_t l = index[n.parent_path().string()];
    if (l >= config.num_classes) fail("class folder '{}' is outside 0..{}", n.parent_path().string(), config.num_classes - 1);
    labels.push_back(l);
  }
  return torch::tensor(labels, torch::kLong);
}

// NaN or infinity in a result is an error, never an output.
void require_finite(const at::Tensor& sample, int k) {
  if (!at::isfinite(sample).all().item<bool>())
    fail("the model produced NaN or infinity at k = {}; its weights or the sampler settings are broken (check the "
         "checkpoint and --eta)", k);
}

// An output of an earlier run counts as done only if it decodes to the right size;
// a truncated or empty file (a run killed while writing it) is made again.
bool finished_png(const fs::path& png, int size) {
  std::error_code ec;
  if (!fs::is_regular_file(png, ec)) return false;
  try {
    const Image image = read_image(png);
    return image.width == size && image.height == size;
  } catch (const Error&) {
    return false;
  }
}

ModelFn model_fn(const LoadedModel& m) {
  return [&m](const at::Tensor& x, const at::Tensor& t, const at::Tensor& y) {
    return m.net->forward(x, t, y.defined() ? y.to(x.device()) : y);
  };
}

ForwardBackwardSummary run_tensor_job(const ForwardBackwardJob& job, const LoadedModel& m) {
  ForwardBackwardSummary summary;
  const int K = m.diffusion->num_steps();
  const int64_t S = m.config.image_size, C = m.config.in_channels;
  const auto [x_file, x_key] = ckpt::split_tensor_spec(job.input_tensor);
  const at::Tensor x0 = to_torch(ckpt::read_tensor(x_file, x_key)).to(at::kFloat);
  if (x0.dim() != 4 || x0.size(1) != C || x0.size(2) != S || x0.size(3) != S)
    fail("--input-tensor {} has shape {}; the model needs N x {} x {} x {}", job.input_tensor,
         shape_string(x0.sizes()), C, S, S);
  const int64_t n = x0.size(0);
  at::Tensor noises;
  if (!job.noise_tensor.empty()) {
    const auto [file, key] = ckpt::split_tensor_spec(job.noise_tensor);
    noises = to_torch(ckpt::read_tensor(file, key)).to(at::kFloat);
    if (noises.dim() != 5 || noises.size(1) != n || noises.size(2) != C || noises.size(3) != S || noises.size(4) != S)
      fail("--noise-tensor {} has shape {}; expected M x {} x {} x {} x {}", job.noise_tensor,
           shape_string(noises.sizes()), n, C, S, S);
  }
  at::Tensor labels;
  if (!job.labels_tensor.empty()) labels = labels_from_tensor(job.labels_tensor, n, m.config);
  if (m.config.class_cond && !labels.defined()) fail("the model is class-conditional; give --labels-tensor F.pt:key");

  if (job.before_writing) job.before_writing();
  OutputDir out(job.out, Existing::replace, "hdiff images forward-backward");
  SamplerOptions options;
  options.ddim = job.ddim;
  options.eta = job.eta;
  const ModelFn model = model_fn(m);
  int64_t total = 0;
  for (int k : job.ks) total += n * reverse_steps(k, K);
  ProgressBar progress(total, "forward-backward");
  try {
  for (int k : job.ks) {
    const int needed = k == K ? K : k + 1;
    if (noises.defined() && noises.size(0) < needed)
      fail("--noise-tensor {} holds {} noises; k = {} needs {} (one for x_k, one per noisy reverse step)",
           job.noise_tensor, noises.size(0), k, needed);
    std::vector<at::Tensor> samples;
    for (int64_t b0 = 0; b0 < n; b0 += job.batch) {
      const int64_t b1 = std::min(n, b0 + job.batch);
      std::vector<uint64_t> ids;
      for (int64_t i = b0; i < b1; ++i) ids.push_back(static_cast<uint64_t>(i));
      BatchNoise random_noise(job.seed, ids, k, {C, S, S});
      NoiseFn noise = [&](int j) {
        return (noises.defined() ? noises[j].slice(0, b0, b1) : random_noise(j)).to(m.device);
      };
      const at::Tensor y = labels.defined() ? labels.slice(0, b0, b1) : at::Tensor();
      const auto r = forward_backward(*m.diffusion, model, x0.slice(0, b0, b1).to(m.device), k, y, noise, options,
                                      false, [&] {
                                        progress.advance(b1 - b0);
                                        if (interrupted()) throw Interrupted{};
                                      });
      samples.push_back(r.sample.to(at::kCPU).to(at::kFloat));
    }
    const at::Tensor sample = at::cat(samples).contiguous();
    require_finite(sample, k);
    const std::string name = job.ks.size() == 1 ? "sample.npy" : fmt::format("sample_k{}.npy", k);
    out.write(name, npy_bytes(DType::f32, sample.sizes().vec(), sample.data_ptr<float>()));
    ++summary.written;
  }
  } catch (const Interrupted&) {
    // Tensor outputs are all-or-nothing: nothing is written.
    progress.finish();
    summary.interrupted = true;
    summary.written = 0;
    return summary;
  }
  progress.finish();
  out.commit();
  return summary;
}

// One network batch of the folder job: images `items[begin, end)` of the pending list of step k.
struct FolderBatch {
  int k = 0;
  size_t begin = 0, end = 0;
};

// The counts of a batch as rank 0 receives them.
std::string encode_count(int64_t written) { return std::string(reinterpret_cast<const char*>(&written), sizeof written); }

int64_t decode_count(const std::string& bytes) {
  HDIFF_CHECK(bytes.size() == sizeof(int64_t));
  int64_t written;
  std::memcpy(&written, bytes.data(), sizeof written);
  return written;
}

// The folder job shares the assignment of units to ranks (cluster::assign_units)
// with phase and theory --threshold, but not their engine (cluster/unit_job.h),
// on purpose: that engine sends every result to rank 0, which journals it in
// `.NAME.unfinished`, writes the outputs into a staging folder and commits them
// in one step. Here a unit's result is a batch of PNGs, megabytes each, that
// every rank writes itself into the shared output folder (sending them through
// rank 0 would serialise the whole job's output on one rank); the images
// already there are the resume record (a journal would repeat them, and could
// disagree with them after a user deleted an image to redo it); the folder is
// merged into, never staged (docs/security.md, "Output folders"); and each rank
// draws its own progress at every sampler step inside a batch, where a single
// process also stops on Ctrl-C, while the engine counts finished units on rank 0
// and stops between them.
ForwardBackwardSummary run_folder_job(const ForwardBackwardJob& job, const LoadedModel& m) {
  ForwardBackwardSummary summary;
  const int K = m.diffusion->num_steps();
  const int S = m.config.image_size, C = m.config.in_channels;
  // A greyscale model reads and writes grey images.
  const PngColour colour = C == 1 ? PngColour::grey : PngColour::rgb;
  const std::vector<fs::path> names = list_images(job.input_dir);
  at::Tensor labels;
  if (!job.labels_tensor.empty()) labels = labels_from_tensor(job.labels_tensor, static_cast<int64_t>(names.size()), m.config);
  else if (m.config.class_cond) labels = labels_from_folders(names, m.config);
  // One run per output folder (rank 0 writes the plan; every rank writes images).
  std::optional<RunLock> lock;
  if (cluster::is_root()) lock.emplace(job.out, "hdiff images forward-backward");
  if (job.before_writing && cluster::is_root()) job.before_writing();
  make_folder(job.out);
  check_file_writable(job.out / ".hdiff-write-test");

  auto output_of = [&](const std::string& sub, const fs::path& name) {
    return job.out / sub / fs::path(name).replace_extension(".png");
  };
  // Rank 0 decides what is left to do and tells the others, so that all ranks
  // share one list even while some of them already write (or a network file
  // system shows them different states).
  std::vector<int64_t> plan;  // k, count, the count pending image indices; and so on
  if (cluster::is_root())
    for (int k : job.ks) {
      std::vector<int64_t> items;
      for (size_t i = 0; i < names.size(); ++i) {
        if (finished_png(output_of(fmt::format("k{}", k), names[i]), S))
          ++summary.skipped;
        else
          items.push_back(static_cast<int64_t>(i));
      }
      if (items.empty()) continue;
      plan.push_back(k);
      plan.push_back(static_cast<int64_t>(items.size()));
      plan.insert(plan.end(), items.begin(), items.end());
    }
  std::string plan_bytes(reinterpret_cast<const char*>(plan.data()), plan.size() * sizeof(int64_t));
  cluster::broadcast(plan_bytes);
  plan.resize(plan_bytes.size() / sizeof(int64_t));
  if (!plan.empty()) std::memcpy(plan.data(), plan_bytes.data(), plan_bytes.size());
  std::map<int, std::vector<size_t>> pending;
  for (size_t at = 0; at < plan.size(); at += 2 + static_cast<size_t>(plan[at + 1]))
    for (int64_t j = 0; j < plan[at + 1]; ++j)
      pending[static_cast<int>(plan[at])].push_back(static_cast<size_t>(plan[at + 2 + static_cast<size_t>(j)]));
  // Batches are formed from the pending lists alone, so every image is computed in
  // the same batch whatever the number of ranks; each rank runs the batches it owns.
  std::vector<FolderBatch> batches;
  std::vector<double> costs;
  for (const auto& [k, items] : pending)
    for (size_t b0 = 0; b0 < items.size(); b0 += static_cast<size_t>(job.batch)) {
      batches.push_back({k, b0, std::min(items.size(), b0 + static_cast<size_t>(job.batch))});
      costs.push_back(static_cast<double>(reverse_steps(k, K)) * static_cast<double>(batches.back().end - b0));
    }
  const std::vector<int> owner = cluster::assign_units(costs, cluster::size());
  int64_t total = 0;
  for (size_t i = 0; i < batches.size(); ++i)
    if (owner[i] == cluster::rank()) total += static_cast<int64_t>(costs[i]);
  SamplerOptions options;
  options.ddim = job.ddim;
  options.eta = job.eta;
  const ModelFn model = model_fn(m);
  ProgressBar progress(total, "forward-backward");
  try {
    for (size_t batch = 0; batch < batches.size(); ++batch) {
      if (owner[batch] != cluster::rank()) continue;
      const int k = batches[batch].k;
      const std::vector<size_t>& items = pending[k];
      const size_t b0 = batches[batch].begin, b1 = batches[batch].end;
      std::vector<at::Tensor> x0s;
      std::vector<uint64_t> ids;
      std::vector<int64_t> label_index;
      for (size_t b = b0; b < b1; ++b) {
        const fs::path& name = names[items[b]];
        const Image start = center_crop_adm(read_image(job.input_dir / name), S);
        const fs::path start_png = output_of("start", name);
        if (!finished_png(start_png, S)) {
          make_folder(start_png.parent_path());
          write_png(start_png, start, colour);
        }
        x0s.push_back(torch::tensor(to_planar_pm1(start, C)).reshape({C, S, S}));
        ids.push_back(name_hash(name.generic_string()));
        label_index.push_back(static_cast<int64_t>(items[b]));
      }
      BatchNoise noise_streams(job.seed, ids, k, {C, S, S});
      NoiseFn noise = [&](int j) { return noise_streams(j).to(m.device); };
      const at::Tensor y = labels.defined() ? labels.index_select(0, torch::tensor(label_index)) : at::Tensor();
      const auto r = forward_backward(*m.diffusion, model, at::stack(x0s).to(m.device), k, y, noise, options,
                                      false, [&] {
                                        progress.advance(static_cast<int64_t>(b1 - b0));
                                        // Ctrl-C stops one process; under a launcher the launcher ends the job.
                                        if (cluster::size() == 1 && interrupted()) throw Interrupted{};
                                      });
      const at::Tensor sample = r.sample.to(at::kCPU).to(at::kFloat).contiguous();
      require_finite(sample, k);
      for (size_t b = b0; b < b1; ++b) {
        const fs::path png = output_of(fmt::format("k{}", k), names[items[b]]);
        make_folder(png.parent_path());
        write_png(png, from_planar_pm1(sample[static_cast<int64_t>(b - b0)].data_ptr<float>(), S, S, C), colour);
      }
      if (cluster::is_root())
        summary.written += static_cast<int64_t>(b1 - b0);
      else
        cluster::send_to_root(static_cast<int64_t>(batch), encode_count(static_cast<int64_t>(b1 - b0)));
    }
  } catch (const Interrupted&) {
    summary.interrupted = true;
  }
  progress.finish();
  // Rank 0 returns once every rank's images are written; the others once rank 0 has their counts.
  if (cluster::is_root()) {
    int64_t others = 0;
    for (int rank : owner) others += rank != 0;
    for (; others > 0; --others) summary.written += decode_count(cluster::receive_at_root(true)->bytes);
  } else {
    cluster::flush_sends();
  }
  return summary;
}

// What made the outputs: code version, model, schedule, noise seed, device.
nlohmann::json run_record(const ForwardBackwardJob& job, const LoadedModel& m, const ForwardBackwardSummary& summary) {
  nlohmann::json j;
  j["command"] = "hdiff images forward-backward";
  j["hdiff_version"] = version();
  j["git_commit"] = git_commit();
  j["checkpoint"] = fs::absolute(job.checkpoint).string();
  j["model"] = describe(m.config);
  j["model_config"] = job.preset.empty() ? fs::absolute(job.model_config).string() : "preset " + job.preset;
  j["num_steps"] = m.diffusion->num_steps();
  j["timestep_map"] = m.diffusion->schedule().timestep_map;
  j["k"] = job.ks;
  j["sampler"] = job.ddim ? fmt::format("ddim eta={}", job.eta) : "ancestral";
  j["noise"] = job.noise_tensor.empty() ? fmt::format("seed {}", job.seed) : job.noise_tensor;
  j["input"] = job.input_tensor.empty() ? fs::absolute(job.input_dir).string() : job.input_tensor;
  j["device"] = m.device.str();
  j["fp16"] = m.fp16;
  j["batch"] = job.batch;
  j["written"] = summary.written;
  j["skipped"] = summary.skipped;
  j["interrupted"] = summary.interrupted;
  j["seconds"] = summary.seconds;
  return j;
}

}  // namespace

ForwardBackwardSummary run_forward_backward_job(const ForwardBackwardJob& job) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<LoadedModel> loaded;
  // Every rank checks the job and loads the model; an error on any rank stops all of them, reported once.
  cluster::agree([&] {
    if (job.input_dir.empty() == job.input_tensor.empty()) fail("give exactly one of --input DIR and --input-tensor F.pt:key");
    if (job.batch < 1) fail("--batch must be at least 1, got {}", job.batch);
    if (job.checkpoint.empty()) fail("give the model's state dict with --checkpoint F.pt");
    // Check the cheap things before loading the model.
    const AdmConfig config = job_config(job.model_config, job.preset);
    const int K = job.steps > 0 ? job.steps
                                : static_cast<int>(space_timesteps(config.diffusion_steps, config.timestep_respacing).size());
    check_ks(job.ks, K);
    if (!(job.eta >= 0.0 && job.eta <= 1.0)) fail("--eta must lie in [0, 1], got {}", job.eta);
    if (!job.input_dir.empty()) {
      if (!job.noise_tensor.empty()) fail("--noise-tensor goes with --input-tensor, not with --input DIR");
      // Every image is decoded once before the model loads: a bad one fails the run
      // before anything is written, not after half the outputs.
      for (const auto& name : list_images(job.input_dir)) (void)read_image(job.input_dir / name);
    }
    // Tensor inputs are one all-or-nothing file: rank 0 makes it, the other ranks have nothing to do.
    if (!job.input_tensor.empty() && !cluster::is_root()) return;
    loaded.emplace(load_model(job));
  });
  if (!loaded) return {};
  const LoadedModel& m = *loaded;
  if (cluster::size() == 1) install_interrupt_handler();  // under a launcher a signal ends the job instead
  torch::InferenceMode inference;
  ForwardBackwardSummary summary = job.input_tensor.empty() ? run_folder_job(job, m) : run_tensor_job(job, m);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (cluster::is_root() && fs::is_directory(job.out))
    write_file_atomic(job.out / "run.json", run_record(job, m, summary).dump(2) + "\n");
  return summary;
}

BenchResult run_bench(const BenchJob& job) {
  if (job.batch < 1 || job.calls < 1) fail("--batch and --calls must be at least 1");
  if (job.threads > 0) torch::set_num_threads(job.threads);
  const AdmConfig config = job_config(job.model_config, job.model_config.empty() ? job.preset : "");
  BenchResult result;
  result.device = choose_device(job.device);
  result.fp16 = use_fp16(job.precision, config.use_fp16, result.device);
  const c10::Device device(result.device);
  torch::manual_seed(0);
  AdmUnet net(config);
  net.to(device, result.fp16);
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  result.parameters = net.parameter_count();
  const GaussianDiffusion diffusion = GaussianDiffusion::from_config(config);
  torch::InferenceMode inference;
  const int64_t S = config.image_size;
  at::Tensor x = torch::randn({job.batch, config.in_channels, S, S}).to(device);
  at::Tensor y = config.class_cond ? torch::zeros({job.batch}, torch::kLong).to(device) : at::Tensor();
  const ModelFn model = [&](const at::Tensor& xx, const at::Tensor& t, const at::Tensor& yy) {
    return net.forward(xx, t, yy);
  };
  const int K = diffusion.num_steps();
  auto step = [&](int i) {
    x = diffusion.p_sample(model, x, i % K, y, torch::randn_like(x), SamplerOptions{}).sample;
  };
  step(K - 1);  // warm-up (allocations, cuDNN algorithm choice)
  (void)x.sum().item<float>();
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < job.calls; ++c) step(K - 2 - c + 10 * K);
  (void)x.sum().item<float>();  // waits for the device
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.seconds_per_step = seconds / job.calls;
  result.images_per_second_250 = job.batch / (250.0 * result.seconds_per_step);
  return result;
}

}  // namespace hdiff::image
