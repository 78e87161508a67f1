#pragma once
// The restricted unpickler behind checkpoint.h (internal). It interprets pickle
// opcodes into a Value tree and calls back for the raw storages that PyTorch's
// persistent ids name; any global outside a fixed allow-list is an error.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "image/checkpoint/checkpoint.h"

namespace hdiff::ckpt::detail {

// A storage named by a persistent id: ('storage', torch.XStorage, key, location, numel).
struct StorageRequest {
  TensorDType dtype;
  std::string key;
  int64_t numel;
};

// Raw bytes of a storage.
using StorageBytes = std::shared_ptr<const std::vector<unsigned char>>;
// Fetches the bytes of a requested storage (from the archive's data/ folder).
using StorageLoader = std::function<StorageBytes(const StorageRequest&)>;

// Interprets a pickle; `where` names it in errors (e.g. "model.pt (model/data.pkl)").
Value unpickle(std::string_view data, const std::string& where, const StorageLoader& load_storage);

}  // namespace hdiff::ckpt::detail
