#pragma once
// The creation flags of a guided-diffusion (ADM) model and its diffusion, with
// guided-diffusion's names and defaults, read from a JSON file of those flags or
// taken from a named preset.

#include <filesystem>
#include <string>
#include <vector>

namespace hdiff::image {

// Most image channels a model config may declare.
inline constexpr int kMaxAdmInChannels = 16;

// Flags of guided-diffusion's create_model_and_diffusion that shape the network
// and the sampler.
struct AdmConfig {
  int image_size = 64;
  // Image channels the network reads (UNetModel's in_channels): 3 for RGB, 1 for
  // greyscale models such as the Fashion-MNIST one; at most kMaxAdmInChannels.
  int in_channels = 3;
  int num_channels = 128;
  int num_res_blocks = 2;
  // Per-level channel multipliers; empty means guided-diffusion's default for image_size.
  std::vector<double> channel_mult;
  // Resolutions (feature-map sizes) with attention, e.g. {32, 16, 8}.
  std::vector<int> attention_resolutions = {16, 8};
  int num_heads = 4;
  // Channels per head; when set (not -1) it overrides num_heads.
  int num_head_channels = -1;
  int num_heads_upsample = -1;
  bool learn_sigma = false;
  bool class_cond = false;
  int num_classes = 1000;
  bool use_scale_shift_norm = true;
  bool resblock_updown = false;
  bool use_new_attention_order = false;
  bool use_fp16 = false;
  int diffusion_steps = 1000;
  // "linear" or "cosine".
  std::string noise_schedule = "linear";
  // guided-diffusion's respacing string ("250", "10,20", "ddim50"); empty keeps all steps.
  std::string timestep_respacing;
  bool sigma_small = false;
  bool predict_xstart = false;
  bool rescale_timesteps = false;

  // The channel multipliers in use (explicit or the image-size default).
  std::vector<double> channel_multipliers() const;
  // Output channels of the network: in_channels, twice that with learned variance.
  int out_channels() const { return learn_sigma ? 2 * in_channels : in_channels; }
  // Checks the flags are consistent; errors name the flag and the fix.
  void validate() const;
};

// Reads a JSON object of guided-diffusion flags (as the fixtures' config.json):
// unknown keys are ignored, strings like "16,8" are parsed as guided-diffusion does.
AdmConfig read_adm_config(const std::filesystem::path& path);

// A named preset: "adm-256-uncond" (OpenAI's 256x256_diffusion_uncond.pt) or
// "adm-256-cond" (256x256_diffusion.pt). Errors list the presets.
AdmConfig adm_preset(const std::string& name);

// One-line summary of the architecture, for logs and run records.
std::string describe(const AdmConfig& config);

}  // namespace hdiff::image
