// ADM flags from JSON and presets; the parsing follows guided-diffusion's
// script_util (comma-separated strings, defaults by image size).

#include "image/models/adm_config.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.h"
#include "common/input_file.h"
#include "common/json_input.h"

namespace hdiff::image {
namespace {

using json = nlohmann::json;

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty()) out.push_back(part);
  return out;
}

// A list flag given as "1,2,2", [1, 2, 2] or a single number.
std::vector<double> number_list(const json& v, const std::string& key, const std::string& where) {
  std::vector<double> out;
  try {
    if (v.is_string()) {
      for (const auto& part : split_commas(v.get<std::string>())) out.push_back(std::stod(part));
    } else if (v.is_array()) {
      for (const auto& e : v) out.push_back(e.get<double>());
    } else if (v.is_number()) {
      out.push_back(v.get<double>());
    } else {
      throw std::invalid_argument("type");
    }
  } catch (const std::exception&) {
    fail("{}: '{}' must be a comma-separated list of numbers such as \"1,2,2\"", where, key);
  }
  return out;
}

template <typename T>
void read_flag(const json& j, const char* key, T& out, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return;
  try {
    if constexpr (std::is_same_v<T, std::string>) {
      out = j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
    } else {
      out = j[key].get<T>();
    }
  } catch (const json::exception&) {
    fail("{}: flag '{}' has the wrong type ({})", where, key, j[key].dump());
  }
}

}  // namespace

std::vector<double> AdmConfig::channel_multipliers() const {
  if (!channel_mult.empty()) return channel_mult;
  switch (image_size) {
    case 512: return {0.5, 1, 1, 2, 2, 4, 4};
    case 256: return {1, 1, 2, 2, 4, 4};
    case 128: return {1, 1, 2, 3, 4};
    case 64: return {1, 2, 3, 4};
    default: fail("no default channel_mult for image_size {}; set channel_mult in the model config", image_size);
  }
}

void AdmConfig::validate() const {
  if (image_size <= 0 || num_channels <= 0 || num_res_blocks <= 0)
    fail("model config: image_size, num_channels and num_res_blocks must be positive");
  if (in_channels < 1 || in_channels > kMaxAdmInChannels)
    fail("model config: in_channels {} is outside 1..{} (1: greyscale, 3: RGB)", in_channels, kMaxAdmInChannels);
  const auto mult = channel_multipliers();
  const int downsample = 1 << (mult.size() - 1);
  if (image_size % downsample != 0)
    fail("model config: image_size {} is not divisible by 2^{} (one halving per channel_mult level)", image_size,
         mult.size() - 1);
  for (double m : mult) {
    const double ch = m * num_channels;
    if (ch != static_cast<int>(ch) || static_cast<int>(ch) % 32 != 0)
      fail("model config: channel count {} (num_channels x channel_mult) must be a multiple of 32 (GroupNorm "
           "with 32 groups)",
           ch);
  }
  if (num_head_channels == -1 && num_heads <= 0) fail("model config: set num_heads or num_head_channels");
  if (noise_schedule != "linear" && noise_schedule != "cosine")
    fail("model config: noise_schedule '{}' is unknown; use \"linear\" or \"cosine\"", noise_schedule);
  if (diffusion_steps <= 1) fail("model config: diffusion_steps must be at least 2");
}

AdmConfig read_adm_config(const std::filesystem::path& path) {
  const std::string text = read_input_file(path, "model config", kMaxConfigBytes);
  const json j = parse_json_input(text, "model config '" + path.string() + "'",
                                  "write the guided-diffusion flags as a JSON object");
  if (!j.is_object()) fail("model config '{}' must be a JSON object of guided-diffusion flags", path.string());
  const std::string where = "model config '" + path.string() + "'";
  AdmConfig c;
  read_flag(j, "image_size", c.image_size, where);
  read_flag(j, "in_channels", c.in_channels, where);
  read_flag(j, "num_channels", c.num_channels, where);
  read_flag(j, "num_res_blocks", c.num_res_blocks, where);
  read_flag(j, "num_heads", c.num_heads, where);
  read_flag(j, "num_head_channels", c.num_head_channels, where);
  read_flag(j, "num_heads_upsample", c.num_heads_upsample, where);
  read_flag(j, "learn_sigma", c.learn_sigma, where);
  read_flag(j, "class_cond", c.class_cond, where);
  read_flag(j, "num_classes", c.num_classes, where);
  read_flag(j, "use_scale_shift_norm", c.use_scale_shift_norm, where);
  read_flag(j, "resblock_updown", c.resblock_updown, where);
  read_flag(j, "use_new_attention_order", c.use_new_attention_order, where);
  read_flag(j, "use_fp16", c.use_fp16, where);
  read_flag(j, "diffusion_steps", c.diffusion_steps, where);
  read_flag(j, "noise_schedule", c.noise_schedule, where);
  read_flag(j, "timestep_respacing", c.timestep_respacing, where);
  read_flag(j, "sigma_small", c.sigma_small, where);
  read_flag(j, "predict_xstart", c.predict_xstart, where);
  read_flag(j, "rescale_timesteps", c.rescale_timesteps, where);
  if (j.contains("channel_mult") && !(j["channel_mult"].is_string() && j["channel_mult"].get<std::string>().empty()))
    c.channel_mult = number_list(j["channel_mult"], "channel_mult", where);
  if (j.contains("attention_resolutions")) {
    c.attention_resolutions.clear();
    for (double r : number_list(j["attention_resolutions"], "attention_resolutions", where))
      c.attention_resolutions.push_back(static_cast<int>(r));
  }
  c.validate();
  return c;
}

AdmConfig adm_preset(const std::string& name) {
  if (name == "adm-256-uncond" || name == "adm-256-cond") {
    AdmConfig c;
    c.image_size = 256;
    c.num_channels = 256;
    c.num_res_blocks = 2;
    c.attention_resolutions = {32, 16, 8};
    c.num_head_channels = 64;
    c.learn_sigma = true;
    c.class_cond = name == "adm-256-cond";
    c.use_scale_shift_norm = true;
    c.resblock_updown = true;
    c.use_fp16 = true;
    c.diffusion_steps = 1000;
    c.noise_schedule = "linear";
    c.timestep_respacing = "250";
    return c;
  }
  fail("unknown preset '{}'; presets: adm-256-uncond (256x256_diffusion_uncond.pt), adm-256-cond "
       "(256x256_diffusion.pt)",
       name);
}

std::string describe(const AdmConfig& c) {
  return fmt::format("ADM U-Net {}x{}{}, {} channels x ({}), {} res blocks, attention at {}, {}, {}{}{}",
                     c.image_size, c.image_size,
                     c.in_channels == 3 ? std::string() : fmt::format(" ({} image channel{})", c.in_channels,
                                                                      c.in_channels == 1 ? "" : "s"),
                     c.num_channels, fmt::join(c.channel_multipliers(), ","), c.num_res_blocks,
                     fmt::join(c.attention_resolutions, ","),
                     c.num_head_channels > 0 ? fmt::format("{} ch/head", c.num_head_channels)
                                             : fmt::format("{} heads", c.num_heads),
                     c.learn_sigma ? "learned sigma" : "fixed sigma", c.class_cond ? ", class-conditional" : "",
                     c.use_fp16 ? ", fp16" : "");
}

}  // namespace hdiff::image
