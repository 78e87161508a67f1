// Fuzz target: the values of journal records (issue 25). A journal's CRC guards
// against accidents only; a forged record passes it. This target hands payloads
// to the real decoders (decode_unit_measures for phase units, full and reduced,
// with and without change terms; decode_threshold for `theory --threshold`) and
// requires of every payload they accept that its tables (results.csv,
// conditional.csv, changes.csv, correlations.csv, information.csv;
// threshold.csv) hold only
// finite numbers, and that nothing but hdiff::Error (one line) is thrown.
//
// Input: byte 0 picks the decoder and config (kCases); byte 1 picks the form:
// odd, the rest of the input is the payload itself; even, the payload is a real
// unit's (computed here, deterministic) with edits applied, each edit 2 bytes of
// offset and 8 bytes written there (an 8-byte slot of a phase payload, any byte
// of a threshold one), so that the fuzzer works on values, not on framing.
// fuzz/make_seeds.py writes the seeds.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "experiment/phase_report.h"
#include "experiment/phase_units.h"
#include "fuzz_support.h"
#include "theory/threshold.h"
#include "theory/threshold_grid.h"

namespace {

using namespace hdiff;

struct PhaseCase {
  int trajectories;
  int64_t samples;
  int seeds;
};

// Full units (one grammar seed) and reduced ones (two), with and without
// trajectories, and one sample with one trajectory (no change terms at all).
const PhaseCase kCases[] = {{1, 3, 1}, {3, 3, 1}, {1, 3, 2}, {2, 3, 2}, {1, 1, 2}, {1, 1, 1}};
constexpr int kPhaseCases = sizeof kCases / sizeof kCases[0];
constexpr int kDepth = 2;

PhaseConfig phase_config(const PhaseCase& c) {
  PhaseConfig config;
  config.v = 4;
  config.n_classes = 2;
  config.m = 2;
  config.s = 2;
  config.depths = {kDepth};
  config.grammar_seeds.clear();
  for (int seed = 0; seed < c.seeds; ++seed) config.grammar_seeds.push_back(static_cast<uint64_t>(seed));
  config.channel = Channel::uniform;
  config.noise = {{0.3, std::nullopt}};
  config.samples = c.samples;
  config.trajectories = c.trajectories;
  config.seed = 1;
  return config;
}

TheoryParams theory_params() {
  TheoryParams params;
  params.v = 4;
  params.n_classes = 4;
  params.m = 2;
  params.s = 2;
  params.channel = Channel::uniform;
  params.population = 200;
  params.replicas = 2;
  params.seed = 1;
  return params;
}

const ThresholdOptions kOptions{6, 0.05};

// Aborts when a table holds a number that is not finite.
void require_finite(const std::string& table, const char* name) {
  size_t start = 0;
  while (start < table.size()) {
    size_t end = table.find_first_of(",\n", start);
    if (end == std::string::npos) end = table.size();
    const std::string field = table.substr(start, end - start);
    if (!field.empty()) {
      char* after = nullptr;
      const double value = std::strtod(field.c_str(), &after);
      // Only a field that is a number as a whole: a column name such as
      // information_fraction starts with "inf", which strtod reads as infinity.
      if (after == field.c_str() + field.size() && !std::isfinite(value)) {
        std::fprintf(stderr, "%s holds the number '%s' from an accepted payload\n", name, field.c_str());
        std::abort();
      }
    }
    start = end + 1;
  }
}

// The real payload of a case, computed once.
const std::string& real_payload(int which) {
  static std::map<int, std::string> payloads;
  auto found = payloads.find(which);
  if (found != payloads.end()) return found->second;
  std::string payload;
  if (which < kPhaseCases) {
    const PhaseConfig config = phase_config(kCases[which]);
    payload = run_phase_unit_result(config, {0, kDepth, 0, 0});
  } else {
    payload = encode_threshold(find_threshold(theory_params(), kOptions), 1.5);
  }
  return payloads.emplace(which, payload).first->second;
}

void check_phase(int which, const std::string& payload) {
  const PhaseConfig config = phase_config(kCases[which]);
  const UnitMeasures measures = decode_unit_measures(payload, config, kDepth);
  std::vector<PhaseRow> rows;
  if (travels_reduced(config)) {
    // The forged unit beside a real one, as the collector would summarise them.
    const UnitMeasures real = decode_unit_measures(real_payload(which), config, kDepth);
    rows = summarise_reduced(kDepth, 0, {measures, real}, config.samples, config.trajectories,
                             information_sample_count(config));
  } else {
    rows = summarise(kDepth, 0, {measures}, config.samples, config.trajectories, information_sample_count(config));
  }
  const PhaseResults results{rows, false};
  require_finite(phase_csv(config, results), "results.csv");
  require_finite(conditional_csv(config, results), "conditional.csv");
  require_finite(changes_csv(config, results), "changes.csv");
  require_finite(correlations_csv(config, results), "correlations.csv");
  require_finite(information_csv(config, results), "information.csv");
}

void check_threshold(const std::string& payload) {
  double wall = 0;
  const ThresholdResult result = decode_threshold(payload, kOptions, wall);
  require_finite(threshold_csv({theory_params()}, kOptions, {result}), "threshold.csv");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int which = data[0] % (kPhaseCases + 1);
  std::string payload;
  if (data[1] % 2 == 1) {
    payload.assign(reinterpret_cast<const char*>(data + 2), size - 2);
  } else {
    payload = real_payload(which);
    const bool phase = which < kPhaseCases;
    const size_t slots = phase ? payload.size() / 8 : payload.size() - 7;
    for (size_t at = 2; at + 10 <= size; at += 10) {
      const size_t slot = (data[at] | (size_t{data[at + 1]} << 8)) % slots;
      std::memcpy(payload.data() + (phase ? slot * 8 : slot), data + at + 2, 8);
    }
  }
  try {
    if (which < kPhaseCases) check_phase(which, payload);
    else check_threshold(payload);
  } catch (const Error& e) {
    fuzz::report(e);
    if (std::strchr(e.what(), '\n') != nullptr) {
      std::fprintf(stderr, "an error of more than one line: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
