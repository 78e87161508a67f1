#pragma once
// The denoising networks of `hdiff net train` (docs/networks.md, "Architectures"):
// a tree-shaped U-Net whose patch layers are reshapes plus linear layers (no
// transposed convolutions), and a small bidirectional transformer as the
// control. Both map noisy tokens and their noise level to v logits per token.
// LibTorch: include only from LibTorch translation units.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <memory>

#include "nets/net_config.h"

namespace hdiff::nets {

// A network of noisy tokens.
struct TokenNetwork : torch::nn::Module {
  // Logits [B, d, v] of x₀ for tokens [B, d] (int64; under mask MASK = v) at
  // noise levels [B] (float: t under mask, ε_k = 1 − ᾱ_k under uniform).
  virtual at::Tensor forward(const at::Tensor& tokens, const at::Tensor& noise) = 0;
};

// The network input [B, d, n_in] (float): under mask the one-hot over v + 1
// symbols (MASK included); under uniform the observed token's one-hot softened
// as BP's leaf likelihood, (1 − ε)[o = a] + ε/v, a distribution over the v tokens.
at::Tensor encode_tokens(const at::Tensor& tokens, const at::Tensor& noise, Channel process, int v);

// The network `config` describes (config.architecture), freshly initialised by
// LibTorch's default initialisation from its global generator (seed it first).
//
// unet: embedding Linear(n_in → w); down path, for each of the L levels from
// the tokens up: `blocks` residual MLP blocks x + W₂·GELU(W₁·LayerNorm(x)),
// then s neighbours merged by reshape [B, n, w] → [B, n/s, s·w], Linear(s·w → w),
// LayerNorm, GELU; `blocks` blocks at the root; up path, level by level down:
// Linear(w → s·w) and the reshape back, the skip of that level added, LayerNorm,
// GELU, `blocks` blocks; output Linear(w → v). With time_embedding, an MLP
// Linear(1 → w), GELU, Linear(w → w) of the noise level is added to the
// features after the embedding and after every merge and split.
//
// transformer: embedding Linear(n_in → w) (weights N(0, 1), bias 0) plus
// positions [d, w] (learned, N(0, 1) at first, or fixed sinusoidal) (plus the
// noise MLP), `layers` pre-norm encoder layers x + Attention(LayerNorm(x)),
// then h + W₂·GELU(W₁·LayerNorm(h)) (heads, feed-forward 2w, no dropout),
// LayerNorm, Linear(w → v).
std::shared_ptr<TokenNetwork> make_network(const NetConfig& config);

// Number of parameters of a network.
int64_t parameter_count(torch::nn::Module& network);

}  // namespace hdiff::nets
