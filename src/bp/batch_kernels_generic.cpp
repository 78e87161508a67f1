// The batch kernels for any target (the compiler's baseline instruction set).
#define HDIFF_KERNEL_NAME "generic"
#define HDIFF_KERNEL_FUNCTION generic_kernels
#include "bp/batch_kernels_impl.h"
