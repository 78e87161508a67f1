// Compiled with -O3 -ffast-math (src/noise/CMakeLists.txt) so that GCC calls
// glibc's vector exp (libmvec, at most 4 ulp from the exact value), two or four
// values per call. Fast math is safe here: the arguments are finite (the
// channel's inputs are checked before), and nothing else lives in this file.
// It is a compile option only, so the floating-point environment of the
// process is not changed.

#include "noise/exponentials.h"

#include <cmath>

namespace hdiff::noise_detail {

void exponentials(const double* x, double scale, double shift, double* out, std::size_t n) {
  for (std::size_t a = 0; a < n; ++a) out[a] = std::exp(scale * (x[a] - shift));
}

}  // namespace hdiff::noise_detail
