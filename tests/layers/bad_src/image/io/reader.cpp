#include <torch/torch.h>  // io builds without LibTorch
#include "image/io/reader.h"
