#pragma once
// Tensor records of a checkpoint are strided views of raw storages (internal to
// the unpickler). Every extent is checked in overflow-checked arithmetic before
// anything is read or allocated, so a hostile record cannot read outside its
// storage or wrap an offset back into it.

#include <cstdint>
#include <string>
#include <vector>

#include "image/checkpoint/checkpoint.h"

namespace hdiff::ckpt::detail {

// A view (offset, size, stride) of a storage of `storage_elements` elements.
struct StorageView {
  int64_t offset = 0;
  std::vector<int64_t> size;
  std::vector<int64_t> stride;
};

// Elements of `view` after checking it: no negative offset, size or stride, a
// countable shape, every element inside the storage, and no more elements than
// the storage (broadcast views are refused); Error naming `where` and `byte`.
int64_t checked_view_elements(const StorageView& view, int64_t storage_elements, const std::string& where,
                              size_t byte);

// Copies a checked view of `elements` elements of `element_bytes` bytes each from
// `storage` in C order (one memcpy when the view is contiguous).
std::vector<unsigned char> copy_view(const StorageView& view, int64_t elements, size_t element_bytes,
                                     const std::vector<unsigned char>& storage);

}  // namespace hdiff::ckpt::detail
