// Checkpoint files: the PyTorch zip layout (ARCHIVE/data.pkl plus raw storages
// ARCHIVE/data/KEY) read with libzip, and .safetensors (a JSON header and one
// data block). Both end as a Value tree of tensors.

#include <fmt/format.h>
#include <zip.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/checked.h"
#include "common/crc32.h"
#include "common/error.h"
#include "common/input_file.h"
#include "common/json_input.h"
#include "image/checkpoint/checkpoint.h"
#include "image/checkpoint/pickle.h"

namespace hdiff::ckpt {
namespace {

namespace fs = std::filesystem;

std::string read_prefix(const fs::path& path, size_t n) {
  return InputFile::open(path, "checkpoint").read_at(0, n);
}

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;

// Largest data.pkl read: the pickle of a state dict is small (100 kB for the 2 GB ADM).
constexpr uint64_t kMaxPickleBytes = uint64_t{256} << 20;
// Deflate cannot inflate more than 1032-fold; an entry claiming more lies.
constexpr uint64_t kMaxInflation = 1032;

// Reads one whole archive entry of `expected` bytes (or at most `limit` bytes if
// `expected` is empty); the sizes are checked before anything is allocated, so
// a small archive cannot inflate into gigabytes. CRC and length errors become
// "corrupted".
std::vector<unsigned char> read_entry(zip_t* zip, zip_uint64_t index, const fs::path& path, const char* name,
                                      std::optional<uint64_t> expected, uint64_t limit, uint64_t file_size) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(zip, index, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
    fail("{}: cannot read entry '{}' of the archive (corrupted checkpoint)", path.string(), name);
  if (expected && st.size != *expected)
    fail("{}: entry '{}' holds {} bytes but its tensor record needs {} (corrupted checkpoint)", path.string(), name,
         st.size, *expected);
  if (!expected && st.size > limit)
    fail("{}: entry '{}' claims {} bytes, more than the {} a checkpoint's pickle may have (corrupted checkpoint)",
         path.string(), name, st.size, limit);
  const bool stored = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_STORE;
  if (st.comp_size > file_size || (stored && st.comp_size != st.size) ||
      st.size / kMaxInflation > st.comp_size + 1)
    fail("{}: entry '{}' claims {} bytes from {} compressed bytes (corrupted checkpoint or zip bomb)", path.string(),
         name, st.size, st.comp_size);
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
  if ((st.valid & ZIP_STAT_CRC) && hdiff::crc32(bytes) != st.crc)
    fail("{}: entry '{}' fails its CRC check; the checkpoint is corrupted (download or save it again)",
         path.string(), name);
  return bytes;
}

Value read_zip(const fs::path& path) {
  check_regular_input(path, "checkpoint");  // libzip opens the path itself
  std::error_code size_error;
  const uint64_t file_size = fs::file_size(path, size_error);
  if (size_error) fail("cannot read '{}': {}", path.string(), size_error.message());
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
  const auto pickle = read_entry(zip.get(), static_cast<zip_uint64_t>(pickle_index), path, pickle_name.c_str(),
                                 std::nullopt, kMaxPickleBytes, file_size);

  auto load_storage = [&](const detail::StorageRequest& request) -> detail::StorageBytes {
    const std::string name = prefix + "data/" + request.key;
    const zip_int64_t index = zip_name_locate(zip.get(), name.c_str(), 0);
    if (index < 0) fail("{}: storage '{}' is missing from the archive (corrupted checkpoint)", path.string(), name);
    // The unpickler has checked that numel · element size does not overflow.
    const uint64_t needed = static_cast<uint64_t>(request.numel) * dtype_bytes(request.dtype);
    return std::make_shared<std::vector<unsigned char>>(
        read_entry(zip.get(), static_cast<zip_uint64_t>(index), path, name.c_str(), needed, 0, file_size));
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
  const std::string content = read_input_file(path, "checkpoint", kMaxArrayFileBytes);
  if (content.size() < 8) fail("{}: truncated safetensors file", path.string());
  uint64_t header_size;
  std::memcpy(&header_size, content.data(), 8);
  if (header_size > content.size() - 8) fail("{}: truncated safetensors file (header runs past the end)", path.string());
  const nlohmann::json header =
      parse_json_input(std::string_view(content).substr(8, header_size), path.string() + " (safetensors header)",
                       "the file is corrupted");
  if (!header.is_object()) fail("{}: corrupted safetensors header (not a JSON object)", path.string());
  const size_t data_start = 8 + header_size;
  const uint64_t data_size = content.size() - data_start;
  // Every entry is validated in full before any tensor is made.
  struct Entry {
    uint64_t begin, end;
    std::string key;
    TensorDType dtype;
    std::vector<int64_t> shape;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string& key = it.key();
    const auto& entry = it.value();
    const auto bad = [&](const char* what) {
      fail("{}: corrupted safetensors header: entry '{}' {}", path.string(), key, what);
    };
    if (!entry.is_object()) bad("is not an object with dtype, shape and data_offsets");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) bad("has no dtype string");
    if (!entry.contains("shape") || !entry["shape"].is_array()) bad("has no shape list");
    if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2 ||
        !entry["data_offsets"][0].is_number_unsigned() || !entry["data_offsets"][1].is_number_unsigned())
      bad("has no data_offsets [begin, end] of non-negative integers");
    Entry e{entry["data_offsets"][0].get<uint64_t>(), entry["data_offsets"][1].get<uint64_t>(), key,
            safetensors_dtype(entry["dtype"].get<std::string>(), path, key), {}};
    if (entry["shape"].size() > 64) bad("has more than 64 dimensions");
    for (const auto& extent : entry["shape"]) {
      if (!extent.is_number_unsigned()) bad("has a shape entry that is not a non-negative integer");
      const uint64_t u = extent.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) bad("has a dimension too large");
      e.shape.push_back(static_cast<int64_t>(u));
    }
    if (e.end < e.begin || e.end > data_size)
      fail("{}: tensor '{}' lies at bytes {}..{} of a {}-byte data block (storage out of bounds; truncated or "
           "corrupted file)",
           path.string(), key, e.begin, e.end, data_size);
    const auto count = checked_element_count(e.shape);
    const auto expected = count ? checked_mul(static_cast<uint64_t>(*count), uint64_t{dtype_bytes(e.dtype)})
                                : std::nullopt;
    if (!expected || *expected != e.end - e.begin)
      fail("{}: tensor '{}' of shape {} does not fit its {} bytes (corrupted file)", path.string(), key,
           shape_string(e.shape), e.end - e.begin);
    entries.push_back(std::move(e));
  }
  // Entries in data-block order, the order they were written; the format
  // requires them to tile the data block exactly, without overlaps or gaps.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  for (const auto& e : entries) {
    if (e.begin < covered)
      fail("{}: tensor '{}' overlaps another tensor's bytes (corrupted file)", path.string(), e.key);
    if (e.begin > covered)
      fail("{}: a gap of unused bytes before tensor '{}' (corrupted file)", path.string(), e.key);
    covered = e.end;
  }
  if (covered != data_size)
    fail("{}: {} bytes after the last tensor belong to no tensor (corrupted file)", path.string(),
         data_size - covered);
  Value root;
  root.kind = Value::Kind::dict;
  for (auto& e : entries) {
    auto t = std::make_shared<Tensor>();
    t->dtype = e.dtype;
    t->shape = std::move(e.shape);
    t->bytes.assign(content.begin() + static_cast<std::ptrdiff_t>(data_start + e.begin),
                    content.begin() + static_cast<std::ptrdiff_t>(data_start + e.end));
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::tensor;
    v->tensor = std::move(t);
    root.dict.emplace_back(e.key, std::move(v));
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

// NaN or infinity in a weight or an input makes every result NaN, silently.
void require_finite(const Tensor& tensor, const fs::path& path, const std::string& name) {
  const int64_t bad = first_non_finite(tensor);
  if (bad >= 0)
    fail("{}: tensor '{}' holds NaN or infinity (element {}); the file is corrupted or was saved from a diverged run",
         path.string(), name, bad);
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

std::map<std::string, std::string> read_safetensors_metadata(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("checkpoint '{}' does not exist or is not a file", path.string());
  const std::string head = read_prefix(path, 16);
  if (head.size() < 9 || head[8] != '{') fail("{}: not a .safetensors file", path.string());
  read_safetensors(path);  // the whole file checked, as every reader of it would
  const std::string content = read_input_file(path, "checkpoint", kMaxArrayFileBytes);
  uint64_t header_size;
  std::memcpy(&header_size, content.data(), 8);
  const nlohmann::json header =
      parse_json_input(std::string_view(content).substr(8, header_size), path.string() + " (safetensors header)",
                       "the file is corrupted");
  std::map<std::string, std::string> metadata;
  const auto found = header.find("__metadata__");
  if (found == header.end()) return metadata;
  if (!found->is_object()) fail("{}: corrupted safetensors header: __metadata__ is not a map of strings", path.string());
  for (auto it = found->begin(); it != found->end(); ++it) {
    if (!it.value().is_string())
      fail("{}: corrupted safetensors header: __metadata__ entry '{}' is not a string", path.string(), it.key());
    metadata[it.key()] = it.value().get<std::string>();
  }
  return metadata;
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
  for (const auto& [name, tensor] : out) require_finite(tensor, path, name);
  return out;
}

Tensor read_tensor(const fs::path& path, const std::string& key) {
  const Value root = read_checkpoint(path);
  const Tensor& tensor = tensor_at(root, key, path.string());
  require_finite(tensor, path, key);
  return tensor;
}

}  // namespace hdiff::ckpt
