#include "image/checkpoint/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <set>

#include "common/error.h"

namespace hdiff::ckpt {
namespace {

// The safetensors name of a dtype (the reader's safetensors_dtype, reversed).
const char* safetensors_name(TensorDType dtype) {
  switch (dtype) {
    case TensorDType::f32: return "F32";
    case TensorDType::f16: return "F16";
    case TensorDType::bf16: return "BF16";
    case TensorDType::f64: return "F64";
    case TensorDType::i64: return "I64";
    case TensorDType::i32: return "I32";
    case TensorDType::u8: return "U8";
    case TensorDType::boolean: return "BOOL";
  }
  return "?";
}

}  // namespace

std::string safetensors_bytes(const TensorList& tensors, const Metadata& metadata) {
  // nlohmann::json's objects keep their keys sorted, so the header is canonical.
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") fail("a safetensors tensor cannot be named __metadata__");
    if (!names.insert(name).second) fail("two tensors named '{}' in one safetensors file", name);
    const uint64_t size = tensor.bytes.size();
    if (size != static_cast<uint64_t>(tensor.numel()) * dtype_bytes(tensor.dtype))
      fail("tensor '{}' of shape {} and dtype {} holds {} bytes", name, shape_string(tensor.shape),
           dtype_name(tensor.dtype), size);
    header[name] = {{"dtype", safetensors_name(tensor.dtype)},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_size = text.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((header_size >> (8 * i)) & 0xff);
  bytes.reserve(8 + header_size + offset);
  bytes += text;
  for (const auto& entry : tensors)
    bytes.append(reinterpret_cast<const char*>(entry.second.bytes.data()), entry.second.bytes.size());
  return bytes;
}

void write_safetensors(const std::filesystem::path& path, const TensorList& tensors, const Metadata& metadata,
                       Existing existing) {
  write_file_atomic(path, safetensors_bytes(tensors, metadata), existing);
}

}  // namespace hdiff::ckpt
