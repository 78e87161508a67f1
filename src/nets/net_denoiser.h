#pragma once
// A trained network as a TokenDenoiser (denoiser/token_denoiser.h), so that
// every measurement against exact BP (denoiser/measure.h) runs on it unchanged.
// LibTorch: include only from LibTorch translation units.

#include <memory>

#include "denoiser/token_denoiser.h"
#include "nets/networks.h"

namespace hdiff::nets {

// The denoiser of `network` (trained for `process` on v tokens): each batch in
// chunks of at most `chunk` strings, in eval mode without gradients; rows are
// log_softmax of the logits computed in float and written as double. Under mask
// an unmasked position's row is 0 at the observed token and −∞ elsewhere
// (copied through). A batch of another channel or vocabulary is an Error.
TokenDenoiser network_denoiser(std::shared_ptr<TokenNetwork> network, Channel process, int v, int64_t chunk = 4096);

}  // namespace hdiff::nets
