// The batch kernels for x86-64 with AVX2 and FMA (this file is compiled with -mavx2 -mfma).
#define HDIFF_KERNEL_NAME "avx2+fma"
#define HDIFF_KERNEL_FUNCTION avx2_kernels
#include "bp/batch_kernels_impl.h"
