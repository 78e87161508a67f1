#include "nets/net_denoiser.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "common/error.h"

namespace hdiff::nets {

TokenDenoiser network_denoiser(std::shared_ptr<TokenNetwork> network, Channel process, int v, int64_t chunk) {
  return [network, process, v, chunk](const NoisyTokens& batch, std::span<double> out) {
    if (batch.channel != process)
      fail("a network trained for the {} process was asked to denoise under {}", channel_name(process),
           channel_name(batch.channel));
    if (batch.v != v) fail("a network trained on v = {} tokens was asked to denoise v = {} tokens", v, batch.v);
    const int64_t d = batch.length;
    HDIFF_CHECK(static_cast<int64_t>(batch.tokens.size()) == batch.count * d);
    HDIFF_CHECK(static_cast<int64_t>(out.size()) == batch.count * d * v);
    torch::InferenceMode inference;
    network->eval();
    for (int64_t first = 0; first < batch.count; first += chunk) {
      const int64_t n = std::min(chunk, batch.count - first);
      at::Tensor tokens = torch::empty({n, d}, torch::kLong);
      at::Tensor noise = torch::empty({n}, torch::kFloat);
      auto* t = tokens.data_ptr<int64_t>();
      auto* e = noise.data_ptr<float>();
      const uint32_t symbols = process == Channel::mask ? static_cast<uint32_t>(v) + 1 : static_cast<uint32_t>(v);
      for (int64_t i = 0; i < n * d; ++i) {
        const uint32_t token = batch.tokens[static_cast<size_t>(first * d + i)];
        if (token >= symbols) fail("token {} is out of range for v = {} under {}", token, v, channel_name(process));
        t[i] = token;
      }
      for (int64_t i = 0; i < n; ++i) e[i] = static_cast<float>(batch.noise[static_cast<size_t>(first + i)]);
      const at::Tensor log_p = torch::log_softmax(network->forward(tokens, noise), -1).to(torch::kDouble).contiguous();
      const double* p = log_p.data_ptr<double>();
      double* row = out.data() + first * d * v;
      std::copy(p, p + n * d * v, row);
      if (process != Channel::mask) continue;
      for (int64_t i = 0; i < n * d; ++i) {
        if (t[i] >= v) continue;
        std::fill(row + i * v, row + (i + 1) * v, -std::numeric_limits<double>::infinity());
        row[i * v + t[i]] = 0.0;
      }
    }
  };
}

}  // namespace hdiff::nets
