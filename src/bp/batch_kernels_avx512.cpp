// The batch kernels for x86-64 with AVX-512 (F, DQ, BW, VL; this file is compiled
// with those, without FMA contraction): one lane block per 512-bit register, and
// the vector sampler of batch_sampling_avx512.cpp.
#define HDIFF_KERNEL_NAME "avx512"
#define HDIFF_KERNEL_FUNCTION avx512_kernels
#define HDIFF_KERNEL_SAMPLER &avx512_sample_range
#include "bp/batch_kernels_impl.h"
