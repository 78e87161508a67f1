// Checkpoint files: the PyTorch zip layout (ARCHIVE/data.pkl plus raw storages
// ARCHIVE/data/KEY) read with libzip, and .safetensors (a JSON header and one
// data block). Both end as a Value tree of tensors.

#include <fmt/format.h>
#include <zip.h>

#include <array>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "image/checkpoint.h"
#include "image/pickle.h"

namespace hdiff::ckpt {
namespace {

namespace fs = std::filesystem;

std::string read_prefix(const fs::path& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}': {}", path.string(), std::strerror(errno));
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;

// The zip CRC-32 (polynomial 0xEDB88320).
uint32_t crc32(const std::vector<unsigned char>& bytes) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

// Reads one whole archive entry; CRC and length errors become "corrupted".
std::vector<unsigned char> read_entry(zip_t* zip, zip_uint64_t index, const fs::path& path, const char* name) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(zip, index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
    fail("{}: cannot read entry '{}' of the archive (corrupted checkpoint)", path.string(), name);
  std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(zip_fopen_index(zip, index, 0), &zip_fclose);
  if (!file)
    fail("{}: cannot open entry '{}' ({}); the checkpoint is corrupted", path.string(), name,
         zip_error_strerror(zip_get_error(zip)));
  std::vector<unsigned char> bytes(st.size);
  zip_uint64_t done = 0;
  while (done < st.size) {
    const zip_int64_t got = zip_fread(file.get(), bytes.data() + done, st.size - done);
    if (got < 0)
      fail("{}: entry '{}' is unreadable ({}); the checkpoint is truncated or corrupted", path.string(), name,
           zip_error_strerror(zip_file_get_error(file.get())));
    if (got == 0) break;
    done += static_cast<zip_uint64_t>(got);
  }
  if (done != st.size)
    fail("{}: entry '{}' ends early; the checkpoint is truncated or corrupted", path.string(), name);
  // libzip does not verify stored (uncompressed) entries, which is how PyTorch
  // writes storages, so the CRC is checked here.
  if ((st.valid & ZIP_STAT_CRC) && crc32(bytes) != st.crc)
    fail("{}: entry '{}' fails its CRC check; the checkpoint is corrupted (download or save it again)",
         path.string(), name);
  return bytes;
}

Value read_zip(const fs::path& path) {
  int code = 0;
  ZipPtr zip(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
  if (!zip) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail("{}: truncated or corrupted checkpoint archive ({}); download or save it again", path.string(), why);
  }
  // The pickle is ARCHIVE/data.pkl; the archive folder name varies (it is the
  // file's stem at saving time).
  const zip_int64_t entries = zip_get_num_entries(zip.get(), 0);
  std::string prefix;
  zip_int64_t pickle_index = -1;
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* name = zip_get_name(zip.get(), static_cast<zip_uint64_t>(i), 0);
    if (!name) continue;
    const std::string n = name;
    const size_t slash = n.find('/');
    if (slash != std::string::npos && n.substr(slash + 1) == "data.pkl") {
      prefix = n.substr(0, slash + 1);
      pickle_index = i;
      break;
    }
  }
  if (pickle_index < 0)
    fail("{}: a zip archive but not a PyTorch checkpoint (no ARCHIVE/data.pkl inside)", path.string());
  const std::string pickle_name = prefix + "data.pkl";
  const auto pickle = read_entry(zip.get(), static_cast<zip_uint64_t>(pickle_index), path, pickle_name.c_str());

  auto load_storage = [&](const detail::StorageRequest& request) -> detail::StorageBytes {
    const std::string name = prefix + "data/" + request.key;
    const zip_int64_t index = zip_name_locate(zip.get(), name.c_str(), 0);
    if (index < 0) fail("{}: storage '{}' is missing from the archive (corrupted checkpoint)", path.string(), name);
    auto bytes = std::make_shared<std::vector<unsigned char>>(
        read_entry(zip.get(), static_cast<zip_uint64_t>(index), path, name.c_str()));
    const int64_t needed = request.numel * static_cast<int64_t>(dtype_bytes(request.dtype));
    if (static_cast<int64_t>(bytes->size()) < needed)
      fail("{}: storage '{}' holds {} bytes but its record says {} elements of {} (storage out of bounds; "
           "corrupted checkpoint)",
           path.string(), name, bytes->size(), request.numel, dtype_name(request.dtype));
    return bytes;
  };
  const std::string where = fmt::format("{} ({})", path.string(), pickle_name);
  return detail::unpickle(std::string_view(reinterpret_cast<const char*>(pickle.data()), pickle.size()), where,
                          load_storage);
}

TensorDType safetensors_dtype(const std::string& name, const fs::path& path, const std::string& key) {
  if (name == "F32") return TensorDType::f32;
  if (name == "F16") return TensorDType::f16;
  if (name == "BF16") return TensorDType::bf16;
  if (name == "F64") return TensorDType::f64;
  if (name == "I64") return TensorDType::i64;
  if (name == "I32") return TensorDType::i32;
  if (name == "U8") return TensorDType::u8;
  if (name == "BOOL") return TensorDType::boolean;
  fail("{}: tensor '{}' has dtype {}, which is not supported (F32, F16, BF16, F64, I64, I32, U8, BOOL)",
       path.string(), key, name);
}

Value read_safetensors(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}': {}", path.string(), std::strerror(errno));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content.size() < 8) fail("{}: truncated safetensors file", path.string());
  uint64_t header_size;
  std::memcpy(&header_size, content.data(), 8);
  if (header_size > content.size() - 8) fail("{}: truncated safetensors file (header runs past the end)", path.string());
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(content.substr(8, header_size));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: corrupted safetensors header ({})", path.string(), e.what());
  }
  if (!header.is_object()) fail("{}: corrupted safetensors header (not a JSON object)", path.string());
  const size_t data_start = 8 + header_size;
  const size_t data_size = content.size() - data_start;
  // Entries ordered by their position in the data block, the order they were written.
  std::vector<std::pair<uint64_t, std::string>> order;
  for (auto it = header.begin(); it != header.end(); ++it)
    if (it.key() != "__metadata__") order.emplace_back(it.value().at("data_offsets").at(0).get<uint64_t>(), it.key());
  std::sort(order.begin(), order.end());
  Value root;
  root.kind = Value::Kind::dict;
  for (const auto& [offset, key] : order) {
    const auto& entry = header[key];
    auto t = std::make_shared<Tensor>();
    try {
      t->dtype = safetensors_dtype(entry.at("dtype").get<std::string>(), path, key);
      t->shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto begin = entry.at("data_offsets").at(0).get<uint64_t>();
      const auto end = entry.at("data_offsets").at(1).get<uint64_t>();
      const uint64_t expected = static_cast<uint64_t>(t->numel()) * dtype_bytes(t->dtype);
      if (end < begin || end > data_size)
        fail("{}: tensor '{}' lies at bytes {}..{} of a {}-byte data block (storage out of bounds; truncated or "
             "corrupted file)",
             path.string(), key, begin, end, data_size);
      if (end - begin != expected)
        fail("{}: tensor '{}' of shape {} needs {} bytes but has {}", path.string(), key, shape_string(t->shape),
             expected, end - begin);
      t->bytes.assign(content.begin() + static_cast<std::ptrdiff_t>(data_start + begin),
                      content.begin() + static_cast<std::ptrdiff_t>(data_start + end));
    } catch (const nlohmann::json::exception& e) {
      fail("{}: corrupted safetensors header entry '{}' ({})", path.string(), key, e.what());
    }
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::tensor;
    v->tensor = std::move(t);
    root.dict.emplace_back(key, std::move(v));
  }
  return root;
}

// Moves the tensors out of the tree (a 2 GB checkpoint is then held once), except
// tensors referenced twice (tied weights), which are copied.
void flatten(Value& v, const std::string& prefix, TensorList& out) {
  for (auto& [name, child] : v.dict) {
    const std::string full = prefix.empty() ? name : prefix + "." + name;
    if (child->kind == Value::Kind::tensor) {
      if (child.use_count() == 1 && child->tensor.use_count() == 1) out.emplace_back(full, std::move(*child->tensor));
      else out.emplace_back(full, *child->tensor);
    } else if (child->kind == Value::Kind::dict) {
      flatten(*child, full, out);
    }
  }
}

}  // namespace

Value read_checkpoint(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("checkpoint '{}' does not exist or is not a file", path.string());
  const std::string head = read_prefix(path, 16);
  if (head.size() >= 4 && head.compare(0, 2, "PK") == 0) return read_zip(path);
  if (head.size() >= 9 && head[8] == '{') return read_safetensors(path);
  if (!head.empty() && static_cast<unsigned char>(head[0]) == 0x80)
    fail("{}: a legacy (pre-1.6, non-zip) torch.save file, which is not read; re-save it with "
         "torch.save(obj, path) in PyTorch 1.6 or later",
         path.string());
  fail("{}: not a checkpoint (neither a PyTorch zip archive nor a .safetensors file)", path.string());
}

TensorList read_tensors(const fs::path& path) {
  Value root = read_checkpoint(path);
  if (root.kind != Value::Kind::dict)
    fail("{}: holds a {}, not a state dict (a dict of tensors)", path.string(), root.kind_name());
  // Training scripts often wrap the state dict; unwrap the usual single wrappers.
  for (const char* wrapper : {"state_dict", "model", "ema"}) {
    const Value* inner = root.find(wrapper);
    if (inner && inner->kind == Value::Kind::dict) {
      Value unwrapped = *inner;  // shares the tensors; the wrapper is dropped next
      root = std::move(unwrapped);
      break;
    }
  }
  TensorList out;
  flatten(root, "", out);
  return out;
}

Tensor read_tensor(const fs::path& path, const std::string& key) {
  const Value root = read_checkpoint(path);
  return tensor_at(root, key, path.string());
}

}  // namespace hdiff::ckpt
