#pragma once
// Writing .safetensors files (the format read_checkpoint reads): an 8-byte
// little-endian header length, a JSON header naming every tensor's dtype, shape
// and byte range plus an optional "__metadata__" map of strings, then the raw
// tensor bytes. Used for the checkpoints of trained networks (src/nets).
// Guarantees: the bytes are a pure function of the tensors (names, dtypes,
// shapes, bytes, order) and the metadata, so the same weights give the same
// file; the header keys are sorted, padded with spaces to a multiple of 8; the
// data lie in the order given. Writing goes through write_file_atomic: a
// killed run never leaves a half-written file. Plain C++: no LibTorch.

#include <filesystem>
#include <map>
#include <string>

#include "common/output.h"
#include "image/checkpoint/checkpoint.h"

namespace hdiff::ckpt {

// String metadata stored under "__metadata__" (safetensors allows only strings).
using Metadata = std::map<std::string, std::string>;

// The file's bytes. Errors: two tensors of one name, the name "__metadata__",
// a tensor whose bytes do not match its shape and dtype.
std::string safetensors_bytes(const TensorList& tensors, const Metadata& metadata);

// Writes safetensors_bytes to `path` atomically under the `existing` policy.
void write_safetensors(const std::filesystem::path& path, const TensorList& tensors, const Metadata& metadata,
                       Existing existing = Existing::replace);

}  // namespace hdiff::ckpt
