// The two networks. Every layer is a reshape or a Linear, LayerNorm, GELU or
// attention: these are the fast paths of Debian's CPU LibTorch.

#include "nets/networks.h"

#include <torch/torch.h>

#include <cmath>

#include "common/error.h"

namespace hdiff::nets {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;
using at::Tensor;

int input_width(const NetConfig& config) {
  return config.process == Channel::mask ? token_vocabulary(config) + 1 : token_vocabulary(config);
}

// x + W₂·GELU(W₁·LayerNorm(x)).
struct ResidualMlpImpl : nn::Module {
  explicit ResidualMlpImpl(int64_t width)
      : norm(register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width})))),
        fc1(register_module("fc1", nn::Linear(width, width))),
        fc2(register_module("fc2", nn::Linear(width, width))) {}
  Tensor forward(const Tensor& x) { return x + fc2(F::gelu(fc1(norm(x)))); }
  nn::LayerNorm norm;
  nn::Linear fc1, fc2;
};
TORCH_MODULE(ResidualMlp);

nn::Sequential residual_blocks(int64_t width, int count) {
  nn::Sequential blocks;
  for (int i = 0; i < count; ++i) blocks->push_back(ResidualMlp(width));
  return blocks;
}

Tensor run_blocks(nn::Sequential& blocks, const Tensor& x) { return blocks->is_empty() ? x : blocks->forward(x); }

// The noise level's embedding, Linear(1 → w), GELU, Linear(w → w); [B, 1, w].
struct NoiseEmbeddingImpl : nn::Module {
  explicit NoiseEmbeddingImpl(int64_t width)
      : fc1(register_module("fc1", nn::Linear(1, width))), fc2(register_module("fc2", nn::Linear(width, width))) {}
  Tensor forward(const Tensor& noise) { return fc2(F::gelu(fc1(noise.reshape({-1, 1})))).unsqueeze(1); }
  nn::Linear fc1, fc2;
};
TORCH_MODULE(NoiseEmbedding);

// One level of the down path: blocks, then the merge of s neighbours.
struct DownLevelImpl : nn::Module {
  DownLevelImpl(int64_t width, int64_t s, int count)
      : blocks(register_module("blocks", residual_blocks(width, count))),
        merge(register_module("merge", nn::Linear(s * width, width))),
        norm(register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width})))) {}
  nn::Sequential blocks;
  nn::Linear merge;
  nn::LayerNorm norm;
};
TORCH_MODULE(DownLevel);

// One level of the up path: the split into s children, then blocks.
struct UpLevelImpl : nn::Module {
  UpLevelImpl(int64_t width, int64_t s, int count)
      : split(register_module("split", nn::Linear(width, s * width))),
        norm(register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width})))),
        blocks(register_module("blocks", residual_blocks(width, count))) {}
  nn::Linear split;
  nn::LayerNorm norm;
  nn::Sequential blocks;
};
TORCH_MODULE(UpLevel);

struct TreeUnet : TokenNetwork {
  explicit TreeUnet(const NetConfig& config)
      : process_(config.process), v_(token_vocabulary(config)), s_(tree_arity(config)), L_(tree_depth(config)),
        width_(config.width) {
    embed_ = register_module("embed", nn::Linear(input_width(config), width_));
    if (config.time_embedding) noise_ = register_module("noise", NoiseEmbedding(width_));
    nn::ModuleList down, up;
    for (int l = 0; l < L_; ++l) {
      down_.push_back(DownLevel(width_, s_, config.blocks));
      down->push_back(down_.back());
      up_.push_back(UpLevel(width_, s_, config.blocks));
      up->push_back(up_.back());
    }
    register_module("down", down);
    register_module("up", up);
    middle_ = register_module("middle", residual_blocks(width_, config.blocks));
    out_ = register_module("out", nn::Linear(width_, v_));
  }

  Tensor forward(const Tensor& tokens, const Tensor& noise) override {
    const int64_t batch = tokens.size(0);
    int64_t n = tokens.size(1);
    const Tensor e = noise_ ? noise_->forward(noise) : Tensor();
    const auto with_noise = [&](const Tensor& x) { return e.defined() ? x + e : x; };
    Tensor h = with_noise(embed_(encode_tokens(tokens, noise, process_, v_)));
    std::vector<Tensor> skips;
    // down.l works on level L − l (its n = s^(L−l) nodes) and merges them into level L − l − 1.
    for (int l = 0; l < L_; ++l) {
      DownLevelImpl& level = *down_[static_cast<size_t>(l)];
      h = run_blocks(level.blocks, h);
      skips.push_back(h);
      n /= s_;
      h = with_noise(F::gelu(level.norm(level.merge(h.reshape({batch, n, s_ * width_})))));
    }
    h = run_blocks(middle_, h);
    for (int l = L_ - 1; l >= 0; --l) {
      UpLevelImpl& level = *up_[static_cast<size_t>(l)];
      n *= s_;
      h = level.split(h).reshape({batch, n, width_});
      h = with_noise(F::gelu(level.norm(h + skips[static_cast<size_t>(l)])));
      h = run_blocks(level.blocks, h);
    }
    return out_(h);
  }

  Channel process_;
  int v_, s_, L_;
  int64_t width_;
  nn::Linear embed_{nullptr}, out_{nullptr};
  NoiseEmbedding noise_{nullptr};
  std::vector<DownLevel> down_;
  std::vector<UpLevel> up_;
  nn::Sequential middle_{nullptr};
};

// One pre-norm encoder layer on [sequence, batch, w]:
//   h = x + Attention(LayerNorm(x)),  out = h + W₂·GELU(W₁·LayerNorm(h)).
// Written here because LibTorch 1.13's C++ TransformerEncoderLayer is post-norm
// only (no norm_first). Pre-norm keeps an identity path from the input to the
// output and is the more forgiving under Adam without warm-up: with the old
// small token embeddings and sinusoidal positions it learned the copy task of
// tests/nets/transformer_test.cpp where post-norm stayed at the unigram level.
struct PreNormLayerImpl : nn::Module {
  PreNormLayerImpl(int64_t width, int64_t heads)
      : norm1(register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({width})))),
        attention(register_module("attention", nn::MultiheadAttention(nn::MultiheadAttentionOptions(width, heads)))),
        norm2(register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({width})))),
        fc1(register_module("fc1", nn::Linear(width, 2 * width))),
        fc2(register_module("fc2", nn::Linear(2 * width, width))) {}
  Tensor forward(const Tensor& x) {
    const Tensor y = norm1(x);
    const Tensor h = x + std::get<0>(attention->forward(y, y, y, /*key_padding_mask=*/Tensor(), /*need_weights=*/false));
    return h + fc2(F::gelu(fc1(norm2(h))));
  }
  nn::LayerNorm norm1;
  nn::MultiheadAttention attention;
  nn::LayerNorm norm2;
  nn::Linear fc1, fc2;
};
TORCH_MODULE(PreNormLayer);

struct Transformer : TokenNetwork {
  explicit Transformer(const NetConfig& config) : process_(config.process), v_(token_vocabulary(config)) {
    const int64_t w = config.width;
    embed_ = register_module("embed", nn::Linear(input_width(config), w));
    // Token embeddings N(0, 1), the scale of the positions below. LibTorch's
    // default (uniform ±1/√n_in: about 0.1 for 64 symbols) with positions
    // N(0, 0.02²) or sinusoidal (amplitude 1) kept the copy task of
    // tests/nets/transformer_test.cpp at the unigram level under post-norm;
    // both at N(0, 1) learn it, under post-norm and pre-norm alike.
    torch::NoGradGuard no_grad;
    embed_->weight.normal_(0.0, 1.0);
    embed_->bias.zero_();
    const int64_t d = token_length(config);
    if (config.positions == "sinusoidal") {
      // Fixed: position i, feature 2k is sin(i / 10000^(2k/w)), feature 2k + 1 the cosine.
      const at::Tensor i = torch::arange(d, torch::kFloat).unsqueeze(1);
      const at::Tensor k = torch::arange(0, w, 2, torch::kFloat);
      const at::Tensor angle = i * torch::exp(k * (-std::log(10000.0) / static_cast<double>(w)));
      at::Tensor table = torch::zeros({d, w});
      table.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, torch::indexing::None, 2)}, torch::sin(angle));
      table.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None, 2)},
                       torch::cos(angle).index({torch::indexing::Slice(), torch::indexing::Slice(0, w / 2)}));
      positions_ = register_buffer("positions", table);
    } else {
      // N(0, 1): the scale of the token embeddings (at 0.02 the copy task of
      // tests/nets/transformer_test.cpp stayed at the unigram level).
      positions_ = register_parameter("positions", torch::randn({d, w}));
    }
    if (config.time_embedding) noise_ = register_module("noise", NoiseEmbedding(w));
    nn::ModuleList layers;
    for (int l = 0; l < config.layers; ++l) {
      layers_.push_back(PreNormLayer(w, config.heads));
      layers->push_back(layers_.back());
    }
    register_module("layers", layers);
    norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({w})));
    out_ = register_module("out", nn::Linear(w, v_));
  }

  Tensor forward(const Tensor& tokens, const Tensor& noise) override {
    Tensor h = embed_(encode_tokens(tokens, noise, process_, v_)) + positions_.unsqueeze(0);
    if (noise_) h = h + noise_->forward(noise);
    h = h.transpose(0, 1);  // LibTorch 1.13's attention: [sequence, batch, features]
    for (PreNormLayer& layer : layers_) h = layer->forward(h);
    return out_(norm_(h.transpose(0, 1)));
  }

  Channel process_;
  int v_;
  nn::Linear embed_{nullptr}, out_{nullptr};
  Tensor positions_;
  NoiseEmbedding noise_{nullptr};
  std::vector<PreNormLayer> layers_;
  nn::LayerNorm norm_{nullptr};
};

}  // namespace

Tensor encode_tokens(const Tensor& tokens, const Tensor& noise, Channel process, int v) {
  if (process == Channel::mask) return F::one_hot(tokens, v + 1).to(torch::kFloat);
  const Tensor eps = noise.to(torch::kFloat).reshape({-1, 1, 1});
  return F::one_hot(tokens, v).to(torch::kFloat) * (1 - eps) + eps / v;
}

std::shared_ptr<TokenNetwork> make_network(const NetConfig& config) {
  if (config.architecture == "unet") return std::make_shared<TreeUnet>(config);
  if (config.architecture == "transformer") return std::make_shared<Transformer>(config);
  fail("unknown architecture '{}'; choose unet or transformer", config.architecture);
}

int64_t parameter_count(torch::nn::Module& network) {
  int64_t count = 0;
  for (const auto& p : network.parameters()) count += p.numel();
  return count;
}

}  // namespace hdiff::nets
