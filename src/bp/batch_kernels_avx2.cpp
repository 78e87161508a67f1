// The batch kernels for x86-64 with AVX2 (this file is compiled with -mavx2, without FMA contraction).
#define HDIFF_KERNEL_NAME "avx2"
#define HDIFF_KERNEL_FUNCTION avx2_kernels
#include "bp/batch_kernels_impl.h"
