// `hdiff images fashion-mnist`: Fashion-MNIST's images from the IDX files of
// Debian's dataset-fashion-mnist package (or any folder holding them) as PNG
// files, one subfolder per class: the layout every `hdiff images` command reads
// with --input, so the real images run through the pipeline offline (issue 30).

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>
#include <sys/stat.h>

#include "cli/commands.h"
#include "common/error.h"
#include "common/output.h"
#include "image/io/idx.h"
#include "image/io/image_io.h"

namespace hdiff::cli {
namespace {

struct FashionMnistExport {
  std::filesystem::path data = image::kFashionMnistDir;
  std::string split = "t10k";
  int64_t count = 100;
  std::filesystem::path out;
  bool force = false;
};

// Writes the first `count` images of the split as OUT/<label>/<index>.png
// (grey replicated to RGB, as PIL's convert("RGB") does) and OUT/labels.csv.
void export_fashion_mnist(const FashionMnistExport& job) {
  if (job.count < 1) fail("--count must be at least 1, not {}", job.count);
  OutputDir out(job.out, existing_policy(job.force), "hdiff images fashion-mnist");
  const auto set = image::read_fashion_mnist(job.data, job.split);
  const int64_t n = std::min(job.count, set.count);
  const auto& names = image::fashion_mnist_class_names();
  std::string csv = "index,file,label,class\n";
  const int64_t pixels = set.height * set.width;
  for (int64_t i = 0; i < n; ++i) {
    const int label = set.labels[static_cast<size_t>(i)];
    const std::string file = fmt::format("{}/{}_{:05d}.png", label, job.split, i);
    const auto folder = out.staged(std::to_string(label));
    if (::mkdir(folder.c_str(), 0777) != 0 && errno != EEXIST)
      fail_file("cannot write to {}: cannot create {}", job.out.string(), folder.string());
    image::Image picture{static_cast<int>(set.width), static_cast<int>(set.height), {}};
    picture.rgb.reserve(static_cast<size_t>(pixels) * 3);
    for (int64_t p = 0; p < pixels; ++p)
      picture.rgb.insert(picture.rgb.end(), 3, set.pixels[static_cast<size_t>(i * pixels + p)]);
    out.write(file, image::png_bytes(picture));
    csv += fmt::format("{},{},{},{}\n", i, file, label, names[static_cast<size_t>(label)]);
  }
  out.write("labels.csv", csv);
  out.commit();
  fmt::print("wrote {} {} images of Fashion-MNIST to {}\n", n, job.split, job.out.string());
}

}  // namespace

void add_images_data_commands(CLI::App& images) {
  auto job = std::make_shared<FashionMnistExport>();
  auto* cmd = images.add_subcommand(
      "fashion-mnist",
      "Write Fashion-MNIST images (Debian's dataset-fashion-mnist) as PNG files, one subfolder per class:\n"
      "OUT/<label>/<split>_<index>.png and OUT/labels.csv (index,file,label,class), the --input layout of the\n"
      "other image commands. The IDX files are read with bounded sizes; a damaged one is refused.");
  cmd->add_option("--data", job->data, "folder of the IDX files (<split>-images-idx3-ubyte.gz, ...)")
      ->capture_default_str();
  cmd->add_option("--split", job->split, "t10k (10 000 test images) or train (60 000)")->capture_default_str();
  cmd->add_option("--count", job->count, "the first N images of the split")->capture_default_str();
  cmd->add_option("--out", job->out, "output folder")->required();
  add_force_flag(*cmd, job->force);
  cmd->callback([job] { export_fashion_mnist(*job); });
}

}  // namespace hdiff::cli
