#pragma once
// Internal to src/noise: the exponentials of the gaussian channel's leaf
// likelihoods, the dominant cost of that channel, in a translation unit of their
// own that the compiler may vectorise with glibc's vector math library.

#include <cstddef>

namespace hdiff::noise_detail {

// out[a] = exp(scale · (x[a] − shift)) for a < n; x, scale and shift finite.
void exponentials(const double* x, double scale, double shift, double* out, std::size_t n);

}  // namespace hdiff::noise_detail
