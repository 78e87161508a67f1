// The sweep's journal records: what encode_point writes reads back, and a
// damaged or forged record is refused instead of becoming a wrong table.

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "nets/net_config.h"
#include "nets/net_sweep.h"

namespace hdiff::nets {
namespace {

NetConfig tiny() {
  return parse_net_config("[grammar]\nv = 4\nclasses = 4\nm = 2\ns = 2\nL = 2\n[train]\nsteps = 10\n"
                          "[measure]\nnoise = [0.3, 0.7]\n", "test");
}

TrainOutcome outcome_of(const NetConfig& config) {
  TrainOutcome outcome;
  outcome.step = 10;
  outcome.samples.validity = {0.5, 0.75};
  outcome.samples.valid = 0.5;
  outcome.samples.copied = 0.25;
  outcome.samples.valid_new = 0.25;
  for (double noise : config.noise) {
    outcome.loss.push_back({noise, {0.9, 0.1}, {0.8, 0.1}, {0.1, 0.01}, {1, 0}, 5});
    for (int level = 0; level <= config.grammar.L; ++level) {
      DenoiserPhaseRow row;
      row.noise = noise;
      row.level = level;
      row.agreement_net.mean = 0.5;
      row.agreement_bp.mean = 0.625;
      outcome.phase.push_back(row);
    }
  }
  return outcome;
}

TEST(NetSweepJournal, ARecordReadsBack) {
  const NetConfig config = tiny();
  TrainOutcome outcome = outcome_of(config);
  outcome.loss[1].kl.mean = std::numeric_limits<double>::infinity();  // a network certain of a wrong token
  const TrainOutcome back = decode_point(encode_point(outcome), config);
  EXPECT_EQ(back.step, 10);
  EXPECT_EQ(back.samples.validity, outcome.samples.validity);
  EXPECT_EQ(back.samples.copied, 0.25);
  ASSERT_EQ(back.loss.size(), 2u);
  EXPECT_EQ(back.loss[0].loss_net.mean, 0.9);
  EXPECT_EQ(back.loss[1].kl.mean, std::numeric_limits<double>::infinity());
  ASSERT_EQ(back.phase.size(), 6u);
  EXPECT_EQ(back.phase[5].level, 2);
  EXPECT_EQ(back.phase[5].agreement_bp.mean, 0.625);
}

TEST(NetSweepJournal, DamagedAndForgedRecordsAreRefused) {
  const NetConfig config = tiny();
  const std::string good = encode_point(outcome_of(config));
  const auto forged = [&](const std::string& from, const std::string& to) {
    std::string bytes = good;
    const size_t at = bytes.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return bytes.replace(at, from.size(), to);
  };
  for (const std::string& bytes :
       {std::string(), std::string("[1, 2]"), good.substr(0, good.size() / 2), forged("\"step\":10", "\"step\":11"),
        forged("\"step\":10", "\"step\":-1"), forged("\"copied\":0.25", "\"copied\":1.5"),
        forged("\"validity\":[0.5,0.75]", "\"validity\":[0.5]"), forged("\"valid\":0.5", "\"valid\":\"x\""),
        forged("[0.3,0,0.5,0.625]", "[0.3,9,0.5,0.625]")}) {
    try {
      decode_point(bytes, config);
      ADD_FAILURE() << "accepted: " << bytes;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace hdiff::nets
