#include "experiment/phase_presets.h"

#include <array>

#include <fmt/format.h>

#include "common/error.h"
#include "experiment/phase_config.h"

namespace hdiff {
namespace {

// The follow-up paper's masking diffusion (Sclocchi, Favero, Levi, Wyart, ICLR 2025,
// arXiv:2410.13770): tokens masked with probability ε, eight forward–backward
// trajectories per clean sample so that χ is their correlation for one x₀.
const char* const kMaskPreset = R"(# hdiff phase --preset iclr2025-rhm-mask: masking diffusion on the papers' grammar
# (Sclocchi, Favero, Levi, Wyart, ICLR 2025, arXiv:2410.13770). Each token is
# replaced by MASK with probability epsilon; 8 trajectories per clean sample, so the
# token susceptibility chi_L is taken over the trajectories of one x0 and peaks
# at the class transition (density evolution: epsilon* = 0.268).
[grammar]
v = 32
classes = 32
m = 8
s = 2
L = [4, 5, 6, 7, 8]
seeds = 4

[noise]
channel = "mask"
values = [0.0, 0.05, 0.1, 0.15, 0.2, 0.22, 0.24, 0.26, 0.28, 0.3, 0.32, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0]

[run]
samples = 250
trajectories = 8
seed = 0

[report]
theory = true
)";

// hdiff's resampling channel, the default run before issue 26 (then at L = 2..6, one trajectory).
const char* const kUniformPreset = R"(# hdiff phase --preset uniform: the papers' grammar under the uniform channel, which
# redraws each token uniformly with probability epsilon (BP does not know which
# tokens moved, so the class is lost far earlier than under the epsilon-process:
# density evolution puts epsilon* at 0.156).
[grammar]
v = 32
classes = 32
m = 8
s = 2
L = [3, 4, 5, 6, 7]
seeds = 4

[noise]
channel = "uniform"
values = [0.0, 0.05, 0.08, 0.1, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.18, 0.2, 0.22, 0.25, 0.3, 0.4, 0.6, 1.0]

[run]
samples = 1000
trajectories = 2
seed = 0

[report]
theory = true
)";

// Gaussian diffusion on one-hot tokens; the noise axis is alpha-bar, the class kept above the transition.
const char* const kGaussianPreset = R"(# hdiff phase --preset gaussian: the papers' grammar under Gaussian diffusion of the
# one-hot tokens, sqrt(alpha-bar) e_a + sqrt(1 - alpha-bar) xi. The noise axis is
# alpha-bar: the class is kept above the transition (density evolution:
# alpha-bar* = 0.871) and lost below it.
[grammar]
v = 32
classes = 32
m = 8
s = 2
L = [3, 4, 5, 6]
seeds = 4

[noise]
channel = "gaussian"
values = [0.7, 0.8, 0.82, 0.84, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.92, 0.95]

[run]
samples = 500
trajectories = 2
seed = 0

[report]
theory = true
)";

const std::array<PhasePreset, 4> kPresets = {{
    {"pnas2025-rhm-soft",
     "the default run: class agreement against epsilon under the epsilon-process (Sclocchi, Favero, Wyart, PNAS 2025)",
     kDefaultPhaseConfig},
    {"iclr2025-rhm-mask",
     "masking diffusion, 8 trajectories per sample, token susceptibility chi_L (Sclocchi, Favero, Levi, Wyart, ICLR 2025)",
     kMaskPreset},
    {"uniform", "the uniform (resampling) channel on the same grammar", kUniformPreset},
    {"gaussian", "Gaussian diffusion of one-hot tokens on the same grammar, against alpha-bar", kGaussianPreset},
}};

}  // namespace

std::span<const PhasePreset> phase_presets() { return kPresets; }

const PhasePreset& find_phase_preset(const std::string& name) {
  for (const auto& preset : kPresets)
    if (name == preset.name) return preset;
  std::string names;
  for (const auto& preset : kPresets) names += (names.empty() ? "" : ", ") + std::string(preset.name);
  fail("unknown preset '{}'; the presets are {} (hdiff phase --list-presets)", name, names);
}

std::string phase_preset_list() {
  std::string out;
  for (const auto& preset : kPresets) out += fmt::format("{:<20} {}\n", preset.name, preset.description);
  return out;
}

}  // namespace hdiff
