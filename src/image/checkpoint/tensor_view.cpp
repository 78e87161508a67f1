// Strided storage views: checked first, then copied.

#include "image/checkpoint/tensor_view.h"

#include <cstring>
#include <optional>

#include "common/checked.h"
#include "common/error.h"

namespace hdiff::ckpt::detail {

int64_t checked_view_elements(const StorageView& view, int64_t storage_elements, const std::string& where,
                              size_t byte) {
  if (view.size.size() != view.stride.size())
    fail("{}: malformed tensor record at byte {}: size and stride differ in length", where, byte);
  if (view.offset < 0) fail("{}: malformed tensor record at byte {}: negative storage offset", where, byte);
  for (size_t d = 0; d < view.size.size(); ++d)
    if (view.size[d] < 0 || view.stride[d] < 0)
      fail("{}: malformed tensor record at byte {}: negative size or stride", where, byte);
  // Every extent in checked arithmetic: a huge stride must not wrap the last
  // element's offset back into the storage.
  const auto count = checked_element_count(view.size);
  if (!count)
    fail("{}: tensor of shape {} at byte {} has too many elements (the checkpoint is corrupted)", where,
         shape_string(view.size), byte);
  const int64_t elements = *count;
  if (elements > 0) {
    std::optional<int64_t> last = view.offset;
    for (size_t d = 0; d < view.size.size() && last; ++d) {
      const auto step = checked_mul(view.size[d] - 1, view.stride[d]);
      last = step ? checked_add(*last, *step) : std::nullopt;
    }
    if (!last || *last >= storage_elements)
      fail("{}: tensor of shape {} at byte {} reads past the end of its storage of {} elements "
           "(storage out of bounds; the checkpoint is corrupted)",
           where, shape_string(view.size), byte, storage_elements);
  }
  // A view may not be larger than its storage: broadcast records cannot inflate memory.
  if (elements > storage_elements)
    fail("{}: tensor of shape {} at byte {} has more elements than its storage ({}); broadcast views are not read",
         where, shape_string(view.size), byte, storage_elements);
  return elements;
}

std::vector<unsigned char> copy_view(const StorageView& view, int64_t elements, size_t element_bytes,
                                     const std::vector<unsigned char>& storage) {
  std::vector<unsigned char> bytes(static_cast<size_t>(elements) * element_bytes);
  const unsigned char* source = storage.data();
  const auto esize = static_cast<int64_t>(element_bytes);
  bool contiguous = true;
  int64_t expect = 1;
  for (size_t d = view.size.size(); d-- > 0;) {
    if (view.size[d] != 1 && view.stride[d] != expect) contiguous = false;
    expect *= view.size[d];
  }
  if (contiguous) {
    if (elements > 0) std::memcpy(bytes.data(), source + view.offset * esize, bytes.size());
    return bytes;
  }
  std::vector<int64_t> index(view.size.size(), 0);
  for (int64_t n = 0; n < elements; ++n) {
    int64_t at = view.offset;
    for (size_t d = 0; d < view.size.size(); ++d) at += index[d] * view.stride[d];
    std::memcpy(bytes.data() + n * esize, source + at * esize, element_bytes);
    for (size_t d = view.size.size(); d-- > 0;) {
      if (++index[d] < view.size[d]) break;
      index[d] = 0;
    }
  }
  return bytes;
}

}  // namespace hdiff::ckpt::detail
