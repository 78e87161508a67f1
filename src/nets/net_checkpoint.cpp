#include "nets/net_checkpoint.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>

#include "common/error.h"
#include "common/version.h"
#include "libtorch/torch_bridge.h"
#include "libtorch/torch_state.h"

namespace hdiff::nets {
namespace {

namespace fs = std::filesystem;

std::string training_identity(const NetConfig& c) {
  return fmt::format("samples={} data_seed={} batch={} learning_rate={} seed={} ce_weight={}", c.samples, c.data_seed,
                     c.batch, c.learning_rate, c.train_seed, c.ce_weight);
}

// The key under which Adam keeps a parameter's state (as LibTorch's own optimizers do).
std::string state_key(const at::Tensor& parameter) { return c10::guts::to_string(parameter.unsafeGetTensorImpl()); }

void require_same(const fs::path& path, const ckpt::Metadata& metadata, const char* key, const std::string& expected,
                  const char* what) {
  const auto found = metadata.find(key);
  if (found == metadata.end())
    fail("{}: not a checkpoint of hdiff net train (its metadata has no '{}')", path.string(), key);
  if (found->second != expected)
    fail("{}: a checkpoint of another {} ({}) than the config's ({}); give another --out, or the config it was "
         "trained with",
         path.string(), what, found->second, expected);
}

}  // namespace

ckpt::Metadata checkpoint_metadata(const NetConfig& config, int64_t step, const std::string& config_text) {
  return {{"format", kFormat},
          {"grammar", grammar_identity(config)},
          {"architecture", architecture_identity(config)},
          {"process", process_identity(config)},
          {"training", training_identity(config)},
          {"step", std::to_string(step)},
          {"hdiff_version", fmt::format("{} ({})", version(), git_commit())},
          {"config", config_text}};
}

std::string checkpoint_bytes(TokenNetwork& network, const torch::optim::Adam* adam, const ckpt::Metadata& metadata) {
  ckpt::TensorList tensors;
  for (const auto& [name, tensor] : module_tensors(network)) tensors.emplace_back(name, from_torch(tensor.detach()));
  if (adam) {
    for (const auto& item : network.named_parameters()) {
      const auto found = adam->state().find(state_key(item.value()));
      if (found == adam->state().end()) continue;  // no step taken yet
      const auto& state = static_cast<const torch::optim::AdamParamState&>(*found->second);
      const std::string prefix = "adam." + item.key() + ".";
      tensors.emplace_back(prefix + "exp_avg", from_torch(state.exp_avg()));
      tensors.emplace_back(prefix + "exp_avg_sq", from_torch(state.exp_avg_sq()));
      tensors.emplace_back(prefix + "step", from_torch(torch::tensor(state.step(), torch::kLong)));
    }
  }
  return ckpt::safetensors_bytes(tensors, metadata);
}

int64_t load_checkpoint(const fs::path& path, const NetConfig& config, TokenNetwork& network,
                        torch::optim::Adam* adam) {
  const ckpt::Metadata metadata = ckpt::read_safetensors_metadata(path);  // a damaged file is refused here
  require_same(path, metadata, "format", kFormat, "format");
  require_same(path, metadata, "grammar", grammar_identity(config), "grammar");
  require_same(path, metadata, "architecture", architecture_identity(config), "architecture");
  require_same(path, metadata, "process", process_identity(config), "process");
  if (adam) require_same(path, metadata, "training", training_identity(config), "training setup");
  int64_t step = 0;
  try {
    step = std::stoll(metadata.at("step"));
  } catch (const std::exception&) {
    fail("{}: not a checkpoint of hdiff net train (its metadata has no step number)", path.string());
  }
  ckpt::TensorList model, optimizer;
  for (auto& entry : ckpt::read_tensors(path))
    (entry.first.rfind("adam.", 0) == 0 ? optimizer : model).push_back(std::move(entry));
  torch::NoGradGuard no_grad;
  load_state(module_tensors(network), model, path.string(), "a network of " + architecture_identity(config));
  if (!adam) return step;
  // The optimizer's state is checked the same way: targets of the right shapes, then copied.
  NamedTensors targets;
  std::vector<std::pair<at::Tensor, std::string>> parameters;
  for (const auto& item : network.named_parameters()) {
    const std::string prefix = "adam." + item.key() + ".";
    targets[prefix + "exp_avg"] = torch::zeros_like(item.value());
    targets[prefix + "exp_avg_sq"] = torch::zeros_like(item.value());
    targets[prefix + "step"] = torch::zeros({}, torch::kLong);
    parameters.emplace_back(item.value(), prefix);
  }
  if (optimizer.empty()) return step;  // written before the first step
  load_state(targets, optimizer, path.string(), "the Adam state of " + architecture_identity(config));
  for (const auto& [parameter, prefix] : parameters) {
    auto state = std::make_unique<torch::optim::AdamParamState>();
    state->step(targets[prefix + "step"].item<int64_t>());
    state->exp_avg(targets[prefix + "exp_avg"]);
    state->exp_avg_sq(targets[prefix + "exp_avg_sq"]);
    adam->state()[state_key(parameter)] = std::move(state);
  }
  return step;
}

}  // namespace hdiff::nets
