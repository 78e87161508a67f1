// The ADM U-Net (guided-diffusion's unet.py UNetModel) rebuilt in LibTorch.
// Submodules are registered under the same names and indices as the PyTorch
// module tree; modules without parameters (SiLU, Dropout) keep their index slot.

#include "image/models/adm_unet.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "common/error.h"
#include "libtorch/torch_state.h"

namespace hdiff::image {
namespace {

namespace nn = torch::nn;
using at::Tensor;

// GroupNorm32: normalised in float32 whatever the input precision, then cast back.
Tensor group_norm(nn::GroupNorm norm, const Tensor& x) {
  return norm->forward(x.to(at::kFloat)).to(x.scalar_type());
}

nn::GroupNorm normalization(int64_t channels) { return nn::GroupNorm(nn::GroupNormOptions(32, channels)); }

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

// A member of a TimestepEmbedSequential: takes the features and the step embedding.
struct LayerImpl : nn::Module {
  virtual Tensor forward(Tensor x, const Tensor& emb) = 0;
};

// The first convolution (input_blocks.0.0), whose weight and bias sit directly on the slot.
struct InputConvImpl : LayerImpl {
  InputConvImpl(int64_t in, int64_t out) {
    nn::Conv2d conv = conv3x3(in, out);
    weight = register_parameter("weight", conv->weight.detach().clone());
    bias = register_parameter("bias", conv->bias.detach().clone());
  }
  Tensor forward(Tensor x, const Tensor&) override { return at::conv2d(x, weight, bias, 1, 1); }
  Tensor weight, bias;
};

// ResBlock with optional up/down sampling inside (resblock_updown).
struct ResBlockImpl : LayerImpl {
  ResBlockImpl(int64_t channels, int64_t emb_channels, int64_t out_channels, bool scale_shift, bool up, bool down)
      : scale_shift_(scale_shift), up_(up), down_(down),
        in_norm_(normalization(channels)), in_conv_(conv3x3(channels, out_channels)),
        emb_linear_(nn::Linear(emb_channels, scale_shift ? 2 * out_channels : out_channels)),
        out_norm_(normalization(out_channels)), out_conv_(conv3x3(out_channels, out_channels)) {
    register_module("in_layers", nn::Sequential(in_norm_, nn::SiLU(), in_conv_));
    register_module("emb_layers", nn::Sequential(nn::SiLU(), emb_linear_));
    register_module("out_layers", nn::Sequential(out_norm_, nn::SiLU(), nn::Dropout(0.0), out_conv_));
    if (out_channels != channels)
      skip_ = register_module("skip_connection", nn::Conv2d(nn::Conv2dOptions(channels, out_channels, 1)));
  }

  Tensor resample(const Tensor& x) const {
    if (up_) return at::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2});
    if (down_) return at::avg_pool2d(x, {2, 2}, {2, 2});
    return x;
  }

  Tensor forward(Tensor x, const Tensor& emb) override {
    Tensor h = at::silu(group_norm(in_norm_, x));
    h = resample(h);
    x = resample(x);
    h = in_conv_(h);
    Tensor emb_out = emb_linear_(at::silu(emb)).to(h.scalar_type()).unsqueeze(-1).unsqueeze(-1);
    if (scale_shift_) {
      auto parts = emb_out.chunk(2, 1);
      h = group_norm(out_norm_, h) * (1 + parts[0]) + parts[1];
      h = out_conv_(at::silu(h));
    } else {
      h = h + emb_out;
      h = out_conv_(at::silu(group_norm(out_norm_, h)));
    }
    return (skip_ ? skip_(x) : x) + h;
  }

  bool scale_shift_, up_, down_;
  nn::GroupNorm in_norm_;
  nn::Conv2d in_conv_;
  nn::Linear emb_linear_;
  nn::GroupNorm out_norm_;
  nn::Conv2d out_conv_;
  nn::Conv2d skip_{nullptr};
};

// Self-attention over spatial positions (AttentionBlock with QKVAttention[Legacy]).
struct AttentionBlockImpl : LayerImpl {
  AttentionBlockImpl(int64_t channels, int num_heads, int num_head_channels, bool new_order)
      : new_order_(new_order), norm_(normalization(channels)),
        qkv_(nn::Conv1d(nn::Conv1dOptions(channels, channels * 3, 1))),
        proj_out_(nn::Conv1d(nn::Conv1dOptions(channels, channels, 1))) {
    if (num_head_channels == -1) {
      heads_ = num_heads;
    } else {
      if (channels % num_head_channels != 0)
        fail("model config: {} channels cannot be split into heads of num_head_channels {}", channels,
             num_head_channels);
      heads_ = channels / num_head_channels;
    }
    register_module("norm", norm_);
    register_module("qkv", qkv_);
    register_module("proj_out", proj_out_);
  }

  Tensor attention(const Tensor& qkv) const {
    const int64_t bs = qkv.size(0), width = qkv.size(1), length = qkv.size(2);
    const int64_t ch = width / (3 * heads_);
    const double scale = 1.0 / std::sqrt(std::sqrt(static_cast<double>(ch)));
    Tensor q, k, v;
    if (new_order_) {
      auto parts = qkv.chunk(3, 1);
      q = (parts[0] * scale).reshape({bs * heads_, ch, length});
      k = (parts[1] * scale).reshape({bs * heads_, ch, length});
      v = parts[2].reshape({bs * heads_, ch, length});
    } else {
      auto parts = qkv.reshape({bs * heads_, ch * 3, length}).split(ch, 1);
      q = parts[0] * scale;
      k = parts[1] * scale;
      v = parts[2];
    }
    Tensor weight = at::bmm(q.transpose(1, 2), k);  // "bct,bcs->bts"
    weight = at::softmax(weight.to(at::kFloat), -1).to(weight.scalar_type());
    Tensor a = at::bmm(v, weight.transpose(1, 2));  // "bts,bcs->bct"
    return a.reshape({bs, -1, length});
  }

  Tensor forward(Tensor x, const Tensor&) override {
    const auto shape = x.sizes().vec();
    Tensor flat = x.reshape({shape[0], shape[1], -1});
    Tensor h = proj_out_(attention(qkv_(group_norm(norm_, flat))));
    return (flat + h).reshape(shape);
  }

  bool new_order_;
  int64_t heads_ = 1;
  nn::GroupNorm norm_;
  nn::Conv1d qkv_, proj_out_;
};

// Strided-convolution downsampling (when resblock_updown is off).
struct DownsampleImpl : LayerImpl {
  explicit DownsampleImpl(int64_t channels) : op_(conv3x3(channels, channels, 2)) { register_module("op", op_); }
  Tensor forward(Tensor x, const Tensor&) override { return op_(x); }
  nn::Conv2d op_;
};

// Nearest-neighbour upsampling and a convolution (when resblock_updown is off).
struct UpsampleImpl : LayerImpl {
  explicit UpsampleImpl(int64_t channels) : conv_(conv3x3(channels, channels)) { register_module("conv", conv_); }
  Tensor forward(Tensor x, const Tensor&) override {
    return conv_(at::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2}));
  }
  nn::Conv2d conv_;
};

// TimestepEmbedSequential: layers registered as "0", "1", ...
struct BlockImpl : nn::Module {
  void add(std::shared_ptr<LayerImpl> layer) {
    register_module(std::to_string(layers.size()), layer);
    layers.push_back(std::move(layer));
  }
  Tensor forward(Tensor x, const Tensor& emb) {
    for (auto& layer : layers) x = layer->forward(x, emb);
    return x;
  }
  std::vector<std::shared_ptr<LayerImpl>> layers;
};

// Sinusoidal step embedding, computed as guided-diffusion's timestep_embedding.
Tensor timestep_embedding(const Tensor& timesteps, int64_t dim) {
  const int64_t half = dim / 2;
  Tensor freqs = at::exp(-std::log(10000.0) * at::arange(0, half, timesteps.options().dtype(at::kFloat)) / half);
  Tensor args = timesteps.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
  Tensor emb = at::cat({at::cos(args), at::sin(args)}, -1);
  if (dim % 2) emb = at::cat({emb, at::zeros_like(emb.narrow(1, 0, 1))}, -1);
  return emb;
}

struct UnetModule : nn::Module {
  explicit UnetModule(const AdmConfig& c) : config(c) {
    c.validate();
    const int64_t mc = c.num_channels, ted = 4 * mc;
    const auto mult = c.channel_multipliers();
    auto attn_at = [&](int ds) {
      for (int r : c.attention_resolutions)
        if (r > 0 && c.image_size / r == ds) return true;
      return false;
    };
    const int heads_up = c.num_heads_upsample == -1 ? c.num_heads : c.num_heads_upsample;
    time_embed_1 = nn::Linear(mc, ted);
    time_embed_2 = nn::Linear(ted, ted);
    register_module("time_embed", nn::Sequential(time_embed_1, nn::SiLU(), time_embed_2));
    if (c.class_cond) label_emb = register_module("label_emb", nn::Embedding(c.num_classes, ted));

    auto input_list = register_module("input_blocks", nn::ModuleList());
    int64_t ch = static_cast<int64_t>(mult[0] * static_cast<double>(mc));
    const int64_t input_ch = ch;
    auto first = std::make_shared<BlockImpl>();
    first->add(std::make_shared<InputConvImpl>(c.in_channels, ch));
    input_blocks.push_back(first);
    std::vector<int64_t> chans = {ch};
    int ds = 1;
    for (size_t level = 0; level < mult.size(); ++level) {
      for (int r = 0; r < c.num_res_blocks; ++r) {
        auto block = std::make_shared<BlockImpl>();
        const int64_t out = static_cast<int64_t>(mult[level] * static_cast<double>(mc));
        block->add(std::make_shared<ResBlockImpl>(ch, ted, out, c.use_scale_shift_norm, false, false));
        ch = out;
        if (attn_at(ds))
          block->add(std::make_shared<AttentionBlockImpl>(ch, c.num_heads, c.num_head_channels,
                                                          c.use_new_attention_order));
        input_blocks.push_back(block);
        chans.push_back(ch);
      }
      if (level + 1 != mult.size()) {
        auto block = std::make_shared<BlockImpl>();
        if (c.resblock_updown)
          block->add(std::make_shared<ResBlockImpl>(ch, ted, ch, c.use_scale_shift_norm, false, true));
        else
          block->add(std::make_shared<DownsampleImpl>(ch));
        input_blocks.push_back(block);
        chans.push_back(ch);
        ds *= 2;
      }
    }
    for (auto& b : input_blocks) input_list->push_back(b);

    middle_block = std::make_shared<BlockImpl>();
    middle_block->add(std::make_shared<ResBlockImpl>(ch, ted, ch, c.use_scale_shift_norm, false, false));
    middle_block->add(
        std::make_shared<AttentionBlockImpl>(ch, c.num_heads, c.num_head_channels, c.use_new_attention_order));
    middle_block->add(std::make_shared<ResBlockImpl>(ch, ted, ch, c.use_scale_shift_norm, false, false));
    register_module("middle_block", middle_block);

    auto output_list = register_module("output_blocks", nn::ModuleList());
    for (size_t level = mult.size(); level-- > 0;) {
      for (int i = 0; i <= c.num_res_blocks; ++i) {
        const int64_t skip_ch = chans.back();
        chans.pop_back();
        const int64_t out = static_cast<int64_t>(mult[level] * static_cast<double>(mc));
        auto block = std::make_shared<BlockImpl>();
        block->add(std::make_shared<ResBlockImpl>(ch + skip_ch, ted, out, c.use_scale_shift_norm, false, false));
        ch = out;
        if (attn_at(ds))
          block->add(std::make_shared<AttentionBlockImpl>(ch, heads_up, c.num_head_channels, c.use_new_attention_order));
        if (level > 0 && i == c.num_res_blocks) {
          if (c.resblock_updown)
            block->add(std::make_shared<ResBlockImpl>(ch, ted, ch, c.use_scale_shift_norm, true, false));
          else
            block->add(std::make_shared<UpsampleImpl>(ch));
          ds /= 2;
        }
        output_blocks.push_back(block);
        output_list->push_back(block);
      }
    }
    out_norm = normalization(ch);
    out_conv = conv3x3(input_ch, c.out_channels());
    register_module("out", nn::Sequential(out_norm, nn::SiLU(), out_conv));
  }

  Tensor forward(const Tensor& x, const Tensor& timesteps, const Tensor& y) {
    Tensor emb = time_embed_2(at::silu(time_embed_1(timestep_embedding(timesteps, config.num_channels))));
    if (config.class_cond) {
      if (!y.defined()) fail("the model is class-conditional; give labels (--labels-tensor or class subfolders)");
      emb = emb + label_emb(y.to(at::kLong));
    }
    Tensor h = x.to(blocks_dtype);
    std::vector<Tensor> skips;
    for (auto& b : input_blocks) {
      h = b->forward(h, emb);
      skips.push_back(h);
    }
    h = middle_block->forward(h, emb);
    for (auto& b : output_blocks) {
      h = at::cat({h, skips.back()}, 1);
      skips.pop_back();
      h = b->forward(h, emb);
    }
    h = h.to(x.scalar_type());
    return out_conv(at::silu(group_norm(out_norm, h)));
  }

  AdmConfig config;
  nn::Linear time_embed_1{nullptr}, time_embed_2{nullptr};
  nn::Embedding label_emb{nullptr};
  std::vector<std::shared_ptr<BlockImpl>> input_blocks, output_blocks;
  std::shared_ptr<BlockImpl> middle_block;
  nn::GroupNorm out_norm{nullptr};
  nn::Conv2d out_conv{nullptr};
  at::ScalarType blocks_dtype = at::kFloat;
};

}  // namespace

struct AdmUnet::Impl {
  std::shared_ptr<UnetModule> net;
};

AdmUnet::AdmUnet(const AdmConfig& config) : impl_(std::make_unique<Impl>()) {
  impl_->net = std::make_shared<UnetModule>(config);
  impl_->net->eval();
}

AdmUnet::~AdmUnet() = default;

void AdmUnet::load(const std::filesystem::path& checkpoint) { load(ckpt::read_tensors(checkpoint), checkpoint.string()); }

void AdmUnet::load(const ckpt::TensorList& tensors, const std::string& source) {
  load_state(module_tensors(*impl_->net), tensors, source, "the model configuration (check --model-config/--preset)");
}

void AdmUnet::to(const c10::Device& device, bool fp16) {
  auto& net = *impl_->net;
  net.to(device);
  if (!fp16) return;
  // guided-diffusion's convert_to_fp16: only the convolutions inside the blocks.
  torch::NoGradGuard no_grad;
  for (const auto& item : net.named_modules()) {
    const std::string& name = item.key();
    const bool in_blocks = name.rfind("input_blocks", 0) == 0 || name.rfind("middle_block", 0) == 0 ||
                           name.rfind("output_blocks", 0) == 0;
    const bool is_conv = dynamic_cast<nn::Conv2dImpl*>(item.value().get()) ||
                         dynamic_cast<nn::Conv1dImpl*>(item.value().get()) ||
                         dynamic_cast<InputConvImpl*>(item.value().get());
    if (!in_blocks || !is_conv) continue;
    for (auto& p : item.value()->parameters(false)) p.set_data(p.to(at::kHalf));
  }
  net.blocks_dtype = at::kHalf;
}

at::Tensor AdmUnet::forward(const at::Tensor& x, const at::Tensor& timesteps, const at::Tensor& y) const {
  torch::NoGradGuard no_grad;
  return impl_->net->forward(x, timesteps, y);
}

at::Tensor AdmUnet::forward_for_training(const at::Tensor& x, const at::Tensor& timesteps, const at::Tensor& y) {
  return impl_->net->forward(x, timesteps, y);
}

const AdmConfig& AdmUnet::config() const { return impl_->net->config; }

torch::nn::Module& AdmUnet::module() { return *impl_->net; }

int64_t AdmUnet::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->net->parameters()) n += p.numel();
  return n;
}

}  // namespace hdiff::image
