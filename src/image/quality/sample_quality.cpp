#include "image/quality/sample_quality.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include "common/error.h"
#include "common/output.h"
#include "common/progress.h"
#include "common/random.h"
#include "common/version.h"
#include "image/diffusion/sampler.h"
#include "image/io/idx.h"
#include "image/io/image_io.h"
#include "image/models/adm_config.h"
#include "image/models/adm_unet.h"
#include "image/models/classifier_input.h"
#include "image/models/convnext.h"
#include "image/probe/probe_pairs.h"
#include "image/quality/frechet.h"
#include "libtorch/torch_bridge.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

Image grey_image(const LabelledImages& set, size_t i) {
  const auto pixels = static_cast<size_t>(set.height * set.width);
  Image picture{static_cast<int>(set.width), static_cast<int>(set.height), {}};
  picture.rgb.reserve(pixels * 3);
  for (size_t p = 0; p < pixels; ++p) picture.rgb.insert(picture.rgb.end(), 3, set.pixels[i * pixels + p]);
  return picture;
}

// Pooled features (N, D) in float64 and top-1 classes of images, through the classifier's pipeline.
struct Classified {
  at::Tensor features;
  std::vector<int64_t> top1;
};

Classified classify(const ConvNeXt& net, const std::vector<Image>& images, int64_t batch) {
  c10::InferenceMode guard;
  std::vector<at::Tensor> features;
  Classified out;
  std::vector<at::Tensor> probes;
  for (size_t begin = 0; begin < images.size(); begin += static_cast<size_t>(batch)) {
    const size_t end = std::min(images.size(), begin + static_cast<size_t>(batch));
    std::vector<at::Tensor> inputs;
    for (size_t i = begin; i < end; ++i) inputs.push_back(classifier_input(image_tensor(images[i]), net.preprocess()));
    const auto logits = net.forward(at::cat(inputs, 0), &probes);
    // The last stage's output: what the head pools, normalises and reads.
    features.push_back(probes[probes.size() - 2].to(at::kCPU, at::kDouble).mean({2, 3}));
    const auto classes = logits.argmax(1).to(at::kCPU, at::kLong).contiguous();
    out.top1.insert(out.top1.end(), classes.data_ptr<int64_t>(), classes.data_ptr<int64_t>() + classes.numel());
  }
  out.features = at::cat(features, 0);
  return out;
}

Image tile(const std::vector<Image>& images, size_t count, int per_row) {
  const int W = images.front().width, H = images.front().height, gap = 2;
  const int rows = static_cast<int>((count + static_cast<size_t>(per_row) - 1) / static_cast<size_t>(per_row));
  Image canvas{per_row * (W + gap) + gap, rows * (H + gap) + gap, {}};
  canvas.rgb.assign(static_cast<size_t>(canvas.width) * static_cast<size_t>(canvas.height) * 3, 255);
  for (size_t n = 0; n < count; ++n) {
    const int x0 = gap + static_cast<int>(n % static_cast<size_t>(per_row)) * (W + gap);
    const int y0 = gap + static_cast<int>(n / static_cast<size_t>(per_row)) * (H + gap);
    for (int y = 0; y < H; ++y)
      std::copy_n(images[n].rgb.begin() + static_cast<std::ptrdiff_t>(y) * W * 3, W * 3,
                  canvas.rgb.begin() + (static_cast<std::ptrdiff_t>(y0 + y) * canvas.width + x0) * 3);
  }
  return canvas;
}

std::vector<Image> draw_samples(const SampleQualityJob& job, const AdmConfig& config, const AdmUnet& net,
                                const std::string& device) {
  const auto diffusion = GaussianDiffusion::from_config(config, std::to_string(job.steps));
  const int K = diffusion.num_steps();
  const int64_t C = config.in_channels, S = config.image_size;
  const ModelFn model = [&net](const at::Tensor& x, const at::Tensor& t, const at::Tensor& y) {
    return net.forward(x, t, y);
  };
  SamplerOptions options;
  options.ddim = job.ddim;
  options.eta = job.eta;
  std::vector<Image> out;
  ProgressBar progress(job.samples * K, "sampling");
  c10::InferenceMode guard;
  for (int64_t b0 = 0; b0 < job.samples; b0 += job.batch) {
    const int64_t b1 = std::min(job.samples, b0 + job.batch);
    std::vector<at::Generator> generators;
    for (int64_t i = b0; i < b1; ++i)
      generators.push_back(at::detail::createCPUGenerator(mix64(job.seed ^ mix64(0x73616d70 + static_cast<uint64_t>(i)))));
    NoiseFn noise = [&](int) {
      std::vector<at::Tensor> parts;
      for (auto& g : generators) parts.push_back(at::randn({C, S, S}, g));
      return at::stack(parts).to(at::Device(device));
    };
    const auto x0 = at::zeros({b1 - b0, C, S, S}, at::TensorOptions().device(at::Device(device)));
    const auto r = forward_backward(diffusion, model, x0, K, at::Tensor(), noise, options, false, [&] {
      progress.advance(b1 - b0);
      if (interrupted()) fail("interrupted; nothing was written");
    });
    const auto sample = r.sample.to(at::kCPU, at::kFloat).contiguous();
    if (!at::isfinite(sample).all().item<bool>())
      fail("the model produced NaN or infinity; its weights or the sampler settings are broken");
    for (int64_t i = 0; i < b1 - b0; ++i) {
      const auto planes = sample[i].contiguous();
      out.push_back(from_planar_pm1(planes.data_ptr<float>(), static_cast<int>(S), static_cast<int>(S), static_cast<int>(C)));
    }
  }
  progress.finish();
  return out;
}

nlohmann::json optional_ratio(double num, double den) { return den > 0 ? nlohmann::json(num / den) : nlohmann::json(); }

}  // namespace

std::string run_sample_quality(const SampleQualityJob& job) {
  const auto started = Clock::now();
  if (job.samples < 2) fail("--samples must be at least 2 (a covariance needs two), got {}", job.samples);
  if (job.batch < 1) fail("--batch must be at least 1, got {}", job.batch);
  if (job.steps < 1) fail("--steps must be at least 1, got {}", job.steps);
  const std::string device = choose_device(job.device);
  if (!fs::is_regular_file(job.classifier)) fail("classifier checkpoint {} does not exist", job.classifier.string());
  if (!job.classifier_config.empty() && !fs::is_regular_file(job.classifier_config))
    fail("classifier config {} does not exist", job.classifier_config.string());
  auto net = load_convnext(job.classifier, job.classifier_config);
  net.to_device(device);
  const auto test = read_fashion_mnist(job.data, "t10k");
  if (net.layout().num_classes != kFashionMnistClasses)
    fail("the classifier has {} classes; Fashion-MNIST has {}", net.layout().num_classes, kFashionMnistClasses);

  std::vector<fs::path> sample_files;
  AdmConfig config;
  std::unique_ptr<AdmUnet> unet;
  if (!job.samples_from.empty()) {
    if (!fs::is_directory(job.samples_from))
      fail("--samples-from {} does not exist or is not a folder", job.samples_from.string());
    sample_files = image_files(job.samples_from);
    if (sample_files.size() < 2) fail("--samples-from {} holds fewer than 2 images", job.samples_from.string());
  } else {
    if (job.checkpoint.empty() || job.model_config.empty())
      fail("give --checkpoint F.safetensors and --model-config F.json (or --samples-from DIR)");
    if (!fs::is_regular_file(job.checkpoint)) fail("diffusion checkpoint {} does not exist", job.checkpoint.string());
    config = read_adm_config(job.model_config);
    config.validate();
    if (config.class_cond)
      fail("{}: the model is class-conditional; sample-quality draws unconditional samples", job.model_config.string());
    if (job.steps > config.diffusion_steps)
      fail("--steps {} exceeds the model's {} diffusion steps", job.steps, config.diffusion_steps);
    unet = std::make_unique<AdmUnet>(config);
    unet->load(job.checkpoint);
    unet->to(c10::Device(device), false);
  }
  install_interrupt_handler();
  OutputDir out(job.out, existing_policy(job.force), "hdiff images sample-quality");

  const auto sampling_started = Clock::now();
  std::vector<Image> samples;
  if (unet) {
    samples = draw_samples(job, config, *unet, device);
  } else {
    for (const auto& file : sample_files) samples.push_back(read_image(file));
  }
  const double sampling_seconds = std::chrono::duration<double>(Clock::now() - sampling_started).count();

  std::vector<Image> half_a, half_b;
  for (size_t i = 0; i < static_cast<size_t>(test.count); ++i) (i % 2 == 0 ? half_a : half_b).push_back(grey_image(test, i));
  const auto gen = classify(net, samples, job.batch);
  const auto a = classify(net, half_a, 100), b = classify(net, half_b, 100);
  const auto moments_b = feature_moments(b.features);
  const auto n = std::min<int64_t>(static_cast<int64_t>(samples.size()), a.features.size(0));
  const double fd = frechet_distance(feature_moments(gen.features), moments_b);
  const double floor = frechet_distance(feature_moments(a.features.slice(0, 0, n)), moments_b);
  const double halves = frechet_distance(feature_moments(a.features), moments_b);

  std::vector<int64_t> counts(kFashionMnistClasses, 0);
  for (auto c : gen.top1) ++counts[static_cast<size_t>(c)];
  const auto& names = fashion_mnist_class_names();
  std::string histogram = "label,class,count,fraction\n";
  for (size_t c = 0; c < counts.size(); ++c)
    histogram += fmt::format("{},{},{},{:.6g}\n", c, names[c], counts[c],
                             static_cast<double>(counts[c]) / static_cast<double>(samples.size()));
  const double most = static_cast<double>(*std::max_element(counts.begin(), counts.end()));
  const double least = static_cast<double>(*std::min_element(counts.begin(), counts.end()));
  const double uniform = static_cast<double>(samples.size()) / kFashionMnistClasses;

  const auto colour = unet && config.in_channels == 1 ? PngColour::grey : PngColour::rgb;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (i == 0) fs::create_directories(out.staged("samples"));
    out.write(fmt::format("samples/sample_{:05d}.png", i), png_bytes(samples[i], colour));
  }
  out.write("samples_grid.png", png_bytes(tile(samples, std::min<size_t>(samples.size(), 100), 10), colour));
  out.write("class_histogram.csv", histogram);
  const nlohmann::json report = {
      {"frechet_distance", fd},
      {"frechet_distance_test_floor", floor},
      {"frechet_distance_test_halves", halves},
      {"frechet_features", fmt::format("classifier probe point {} averaged over positions ({} dimensions)",
                                       net.probe_names()[net.probe_names().size() - 2], gen.features.size(1))},
      {"frechet_reference", "frechet_distance: the samples against the 5000 odd-indexed test images (half B); "
                            "test_floor: the first n even-indexed test images (n = samples) against B; "
                            "test_halves: all 5000 even-indexed against B"},
      {"samples", samples.size()},
      {"class_counts", counts},
      {"class_names", names},
      {"max_over_min", optional_ratio(most, least)},
      {"max_over_uniform", most / uniform},
      {"min_over_uniform", least / uniform},
      {"within_factor_2_of_uniform", most <= 2 * uniform && least >= uniform / 2},
      {"samples_from", job.samples_from.empty() ? nlohmann::json() : nlohmann::json(fs::absolute(job.samples_from).string())},
      {"diffusion",
       unet ? nlohmann::json{{"checkpoint", fs::absolute(job.checkpoint).string()},
                             {"model_config", fs::absolute(job.model_config).string()},
                             {"model", describe(config)},
                             {"steps", job.steps},
                             {"sampler", job.ddim ? "ddim" : "ancestral"},
                             {"eta", job.eta},
                             {"seed", job.seed}}
            : nlohmann::json()},
      {"classifier", fs::absolute(job.classifier).string()},
      {"device", device},
      {"sampling_seconds", sampling_seconds},
      {"total_seconds", std::chrono::duration<double>(Clock::now() - started).count()},
      {"hdiff_version", version()},
      {"git_commit", git_commit()}};
  const std::string text = report.dump(2) + "\n";
  out.write("sample_quality.json", text);
  out.commit();
  return text;
}

}  // namespace hdiff::image
