#include "nets/losses.h"

#include <torch/torch.h>

#include "nets/networks.h"

namespace hdiff::nets {
namespace {

namespace F = torch::nn::functional;
using at::Tensor;

// −log p(x₀) per token [B, d] from log-probabilities [B, d, v].
Tensor cross_entropy(const Tensor& log_p, const Tensor& clean) {
  return -log_p.gather(-1, clean.unsqueeze(-1)).squeeze(-1);
}

at::Tensor long_tensor(const std::vector<int64_t>& values, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<int64_t*>(values.data()), shape, torch::kLong).clone();
}

at::Tensor float_tensor(const std::vector<float>& values) {
  return torch::from_blob(const_cast<float*>(values.data()), {static_cast<int64_t>(values.size())}, torch::kFloat)
      .clone();
}

}  // namespace

Tensor masked_loss(const Tensor& logits, const Tensor& clean, const Tensor& masked, const Tensor& t) {
  const double d = static_cast<double>(clean.size(1));
  const Tensor ce = cross_entropy(torch::log_softmax(logits, -1), clean);
  const Tensor per_row = (ce * masked.to(ce.scalar_type())).sum(1) / t.to(ce.scalar_type()) / d;
  return per_row.mean();
}

Tensor uniform_reverse_distribution(const Tensor& p0, const Tensor& observed, const Tensor& beta,
                                    const Tensor& alpha_bar_before) {
  const int64_t v = p0.size(-1);
  const Tensor b = beta.to(p0.scalar_type()).reshape({-1, 1, 1});
  const Tensor a = alpha_bar_before.to(p0.scalar_type()).reshape({-1, 1, 1});
  // forward[c] = q(x_k = o | x_{k−1} = c); its sum over c is 1, so the
  // normaliser of q(c | o, a) is ᾱ_{k−1}·forward[a] + (1 − ᾱ_{k−1})/v.
  const Tensor forward = F::one_hot(observed, v).to(p0.scalar_type()) * (1 - b) + b / static_cast<double>(v);
  const Tensor ratio = p0 / (a * forward + (1 - a) / static_cast<double>(v));
  return forward * (a * ratio + (1 - a) / static_cast<double>(v) * ratio.sum(-1, true));
}

Tensor uniform_loss(const Tensor& logits, const Tensor& clean, const Tensor& observed, const Tensor& k,
                    const Tensor& beta, const Tensor& alpha_bar_before, double ce_weight) {
  const int64_t v = logits.size(-1);
  const Tensor log_p0 = torch::log_softmax(logits, -1);
  const Tensor ce = cross_entropy(log_p0, clean);
  const Tensor predicted = uniform_reverse_distribution(log_p0.exp(), observed, beta, alpha_bar_before);
  const Tensor truth =
      uniform_reverse_distribution(F::one_hot(clean, v).to(logits.scalar_type()), observed, beta, alpha_bar_before);
  // Clamped logarithms: at k = 1 both have zeros, and that branch is not taken
  // below; the clamp keeps its gradient finite (where() passes 0·∞ = NaN otherwise).
  constexpr double kTiny = 1e-30;
  const Tensor kl = (truth * (truth.clamp_min(kTiny).log() - predicted.clamp_min(kTiny).log())).sum(-1);
  const Tensor first = (k == 1).reshape({-1, 1}).expand_as(kl);
  const Tensor term = torch::where(first, ce, kl);
  return term.mean() + ce_weight * ce.mean();
}

at::Tensor batch_loss(TokenNetwork& net, const NetConfig& config, const TrainingBatch& batch,
                      const UniformSchedule& schedule) {
  const at::Tensor clean = long_tensor(batch.clean, {batch.rows, batch.length});
  const at::Tensor noisy = long_tensor(batch.noisy, {batch.rows, batch.length});
  const at::Tensor noise = float_tensor(batch.noise);
  const at::Tensor logits = net.forward(noisy, noise);
  if (config.process == Channel::mask) return masked_loss(logits, clean, noisy == token_vocabulary(config), noise);
  std::vector<float> beta, alpha_bar_before;
  for (const int64_t k : batch.step) {
    beta.push_back(static_cast<float>(schedule.betas[static_cast<size_t>(k - 1)]));
    alpha_bar_before.push_back(static_cast<float>(schedule.alpha_bars[static_cast<size_t>(k - 1)]));
  }
  return uniform_loss(logits, clean, noisy, long_tensor(batch.step, {batch.rows}), float_tensor(beta),
                      float_tensor(alpha_bar_before), config.ce_weight);
}

}  // namespace hdiff::nets
