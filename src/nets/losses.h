#pragma once
// The training losses of the two processes (docs/networks.md, "Processes"),
// written on tensors. LibTorch: include only from LibTorch translation units.

#include <ATen/core/Tensor.h>

#include "denoiser/measure.h"
#include "nets/training_batch.h"

namespace hdiff::nets {

// Masked diffusion, MDLM's continuous-time ELBO with α_t = 1 − t: for logits
// [B, d, v], clean tokens x₀ [B, d] (int64), masks [B, d] (bool: the masked
// positions) and levels t [B], the batch mean of (1/t)·Σ_{masked i} −log
// softmax(logits_i)[x₀_i] / d. The logits hold no MASK entry (it can never be
// predicted) and unmasked positions do not count (they are copied through).
at::Tensor masked_loss(const at::Tensor& logits, const at::Tensor& clean, const at::Tensor& masked,
                       const at::Tensor& t);

// The uniform process's reverse step from a predicted x₀: for p₀ [B, d, v] (a
// distribution over x₀), observed x_k [B, d], β_k and ᾱ_{k−1} [B], the
// distribution [B, d, v] p(x_{k−1} = c) = Σ_a q(c | x_k, a)·p₀(a) with
// q(c | o, a) ∝ [(1−β_k)[o = c] + β_k/v]·[ᾱ_{k−1}[c = a] + (1−ᾱ_{k−1})/v],
// normalised over c for each a (measure.h's uniform_reverse_step on tensors).
// p₀ = one-hot(x₀) gives the true posterior q(x_{k−1} | x_k, x₀). Any float dtype.
at::Tensor uniform_reverse_distribution(const at::Tensor& p0, const at::Tensor& observed, const at::Tensor& beta,
                                        const at::Tensor& alpha_bar_before);

// D3PM with x₀-prediction: for logits [B, d, v], clean x₀ and observed x_k
// [B, d], steps k [B] (1..T), β_k and ᾱ_{k−1} [B]: per token KL(q(x_{k−1} | x_k,
// x₀) ‖ p_θ(x_{k−1} | x_k)) for k > 1 and −log p_θ(x₀ | x₁) for k = 1, plus
// ce_weight·(−log p_θ(x₀ | x_k)); the mean over tokens and rows.
at::Tensor uniform_loss(const at::Tensor& logits, const at::Tensor& clean, const at::Tensor& observed,
                        const at::Tensor& k, const at::Tensor& beta, const at::Tensor& alpha_bar_before,
                        double ce_weight);

struct TokenNetwork;

// The loss of one training batch of `config`'s process: masked_loss or
// uniform_loss of the network's logits (β_k and ᾱ_{k−1} from `schedule`).
at::Tensor batch_loss(TokenNetwork& network, const NetConfig& config, const TrainingBatch& batch,
                      const UniformSchedule& schedule);

}  // namespace hdiff::nets
