#include "image/experiment/image_experiment_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/toml_input.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

// Reads typed values from one section and names file:line in every error.
class Section {
 public:
  Section(const toml::table& root, const std::string& name, const std::string& source, bool required,
          std::set<std::string> known)
      : name_(name), source_(source) {
    const auto* node = root.get(name);
    if (!node) {
      if (required) fail("{}: missing section [{}]", source, name);
      return;
    }
    if (!node->is_table()) fail("{}: '{}' must be a section [{}]", where(*node), name, name);
    table_ = node->as_table();
    for (const auto& [key, value] : *table_)
      if (!known.count(std::string(key.str()))) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail("{}: unknown key '{}' in [{}]; known keys: {}", where(value), key.str(), name, list);
      }
  }

  const toml::node* get(const char* key) const { return table_ ? table_->get(key) : nullptr; }

  std::string where(const toml::node& node) const {
    const auto line = node.source().begin.line;
    return line > 0 ? fmt::format("{}:{}", source_, line) : source_;
  }

  std::string string(const char* key, bool required, const std::string& fallback = "") const {
    const auto* node = get(key);
    if (!node) {
      if (required) fail("{}: missing key {}.{}", source_, name_, key);
      return fallback;
    }
    if (!node->is_string()) fail("{}: {}.{} must be a string (in quotes)", where(*node), name_, key);
    return std::string(*node->value<std::string>());
  }

  int64_t integer(const char* key, int64_t fallback, int64_t low, int64_t high) const {
    const auto* node = get(key);
    if (!node) return fallback;
    if (!node->is_integer()) fail("{}: {}.{} must be an integer", where(*node), name_, key);
    const auto value = *node->value<int64_t>();
    if (value < low || value > high)
      fail("{}: {}.{} = {} is out of range; it must lie in [{}, {}]", where(*node), name_, key, value, low, high);
    return value;
  }

 private:
  const toml::table* table_ = nullptr;
  std::string name_;
  const std::string& source_;
};

fs::path resolve(const fs::path& base, const std::string& path) {
  if (path.empty()) return {};
  const fs::path p(path);
  return p.is_absolute() ? p : base / p;
}

}  // namespace

ImageExperimentConfig parse_image_experiment_config(const std::string& text, const std::string& source,
                                                    const fs::path& base) {
  const toml::table root = parse_toml_input(text, source);
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (name != "diffusion" && name != "classifier" && name != "images" && name != "run")
      fail("{}:{}: unknown section or key '{}'; the sections are [diffusion], [classifier], [images], [run]",
           source, node.source().begin.line, name);
  }
  ImageExperimentConfig c;
  const Section diffusion(root, "diffusion", source, true, {"checkpoint", "model", "steps", "precision", "batch_size"});
  c.diffusion_checkpoint = resolve(base, diffusion.string("checkpoint", true));
  c.model = diffusion.string("model", true);
  if (c.model.size() > 5 && c.model.substr(c.model.size() - 5) == ".json") c.model = resolve(base, c.model).string();
  c.steps = diffusion.integer("steps", 0, 0, 100000);
  c.precision = diffusion.string("precision", false, "auto");
  if (c.precision != "auto" && c.precision != "fp32" && c.precision != "fp16")
    fail("{}: diffusion.precision = \"{}\" is not known; use \"auto\", \"fp32\" or \"fp16\"",
         diffusion.where(*diffusion.get("precision")), c.precision);
  c.diffusion_batch = diffusion.integer("batch_size", 4, 1, 4096);

  const Section classifier(root, "classifier", source, true, {"checkpoint", "batch_size", "config"});
  c.classifier = resolve(base, classifier.string("checkpoint", true));
  c.classifier_config = resolve(base, classifier.string("config", false));
  c.classifier_batch = classifier.integer("batch_size", 16, 1, 4096);

  const Section images(root, "images", source, true,
                       {"start", "reference", "reference_limit", "fashion_mnist", "per_class"});
  c.start = resolve(base, images.string("start", false));
  c.fashion_mnist = resolve(base, images.string("fashion_mnist", false));
  if (c.start.empty() == c.fashion_mnist.empty())
    fail("{}: give exactly one of images.start (a folder of images) and images.fashion_mnist (the folder of "
         "Fashion-MNIST's IDX files, e.g. \"/usr/share/datasets/fashion-mnist\")", source);
  c.per_class = images.integer("per_class", 10, 1, 1000);
  if (images.get("per_class") && c.fashion_mnist.empty())
    fail("{}: images.per_class applies to images.fashion_mnist only", images.where(*images.get("per_class")));
  c.reference = resolve(base, images.string("reference", false));
  c.reference_limit = images.integer("reference_limit", 0, 0, int64_t{1} << 40);

  const Section run(root, "run", source, true, {"k", "seed", "device", "patch"});
  const auto* k_node = run.get("k");
  if (!k_node) fail("{}: missing key run.k (the respaced steps to reverse at, e.g. k = [0, 50, 100])", source);
  const auto* array = k_node->as_array();
  if (!array || array->empty())
    fail("{}: run.k must be a non-empty list of integers, e.g. k = [0, 50, 100]", run.where(*k_node));
  for (const auto& element : *array) {
    if (!element.is_integer() || *element.value<int64_t>() < 0)
      fail("{}: run.k must list non-negative integers", run.where(element));
    c.ks.push_back(*element.value<int64_t>());
  }
  std::sort(c.ks.begin(), c.ks.end());
  if (std::adjacent_find(c.ks.begin(), c.ks.end()) != c.ks.end())
    fail("{}: run.k lists a step twice", run.where(*k_node));
  c.seed = static_cast<uint64_t>(run.integer("seed", 0, 0, INT64_MAX));
  c.device = run.string("device", false, "auto");
  c.patch = static_cast<int>(run.integer("patch", 4, 1, 4096));
  return c;
}

ImageExperimentConfig read_image_experiment_config(const fs::path& file) {
  std::string text;
  try {
    text = read_toml_text(file, "experiment file");
  } catch (const FileError& e) {
    fail_file("{}; see docs/images.md for an example", e.what());
  }
  return parse_image_experiment_config(text, file.string(), file.parent_path());
}

}  // namespace hdiff::image
