#pragma once
// Named phase configs that reproduce the papers' experiments (`hdiff phase
// --preset NAME`, `--list-presets`). Each is an embedded TOML text read by the
// same parser as a config file, so a preset printed with `--print-preset` and
// run with `--config` gives the same run. README.md lists what each one shows.

#include <span>
#include <string>

namespace hdiff {

struct PhasePreset {
  const char* name;         // what --preset takes
  const char* description;  // one line: the paper and figure it reproduces
  const char* config;       // the TOML text
};

// Every preset, the default run's first.
std::span<const PhasePreset> phase_presets();

// The preset of that name; an Error listing the names when there is none.
const PhasePreset& find_phase_preset(const std::string& name);

// The `--list-presets` text: one line per preset, its name first, then its description.
std::string phase_preset_list();

}  // namespace hdiff
