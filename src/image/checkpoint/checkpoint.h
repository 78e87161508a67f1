#pragma once
// Reading PyTorch checkpoints (`torch.save` zip archives) and .safetensors files
// without LibTorch and without executing anything: a restricted unpickler that
// understands only what state dicts and plain dicts of tensors, numbers, strings
// and lists are made of, and rejects everything else by name.
// Guarantees: every size, offset and nesting depth is checked (overflow-checked
// arithmetic) before anything is allocated or read; hostile files end in an Error
// naming the file and the byte, never a crash (fuzzed in CI, docs/security.md).

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hdiff::ckpt {

// Element types a checkpoint tensor may have.
enum class TensorDType { f32, f16, bf16, f64, i64, i32, u8, boolean };

// The PyTorch name of a dtype, e.g. "float16".
const char* dtype_name(TensorDType dtype);
// Bytes per element.
size_t dtype_bytes(TensorDType dtype);

// A tensor read from a checkpoint: contiguous (C order), little-endian bytes.
struct Tensor {
  TensorDType dtype = TensorDType::f32;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;
  // Number of elements (product of shape; 1 for a scalar).
  int64_t numel() const;
  // The elements converted to float (any dtype).
  std::vector<float> to_f32() const;
  // The elements converted to double (any dtype).
  std::vector<double> to_f64() const;
  // The elements converted to int64 (integer and bool dtypes only).
  std::vector<int64_t> to_i64() const;
};

// Index of the first NaN or infinite element of a floating-point tensor, or -1
// (always -1 for integer and bool tensors).
int64_t first_non_finite(const Tensor& tensor);

// Shape as text, e.g. "[2, 3, 32, 32]".
std::string shape_string(const std::vector<int64_t>& shape);

// A value of the pickled object tree. Only the kinds a checkpoint of tensors
// uses exist; dicts keep their insertion order (as OrderedDict does).
struct Value {
  enum class Kind { none, boolean, integer, real, string, list, dict, tensor };
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string string;
  // Elements of a list or tuple.
  std::vector<std::shared_ptr<Value>> list;
  // Entries of a dict; keys are strings (integer keys are written in decimal).
  std::vector<std::pair<std::string, std::shared_ptr<Value>>> dict;
  std::shared_ptr<Tensor> tensor;

  // The dict entry `key`, or nullptr.
  const Value* find(const std::string& key) const;
  // A readable name of the kind ("dict", "tensor", ...).
  const char* kind_name() const;
};

// Reads the whole object stored in a checkpoint: a PyTorch zip archive
// (`torch.save`) or a .safetensors file (a dict of tensors). Errors (hdiff::Error)
// name the file and the problem: not a checkpoint, truncated archive,
// unsupported pickle opcode or global (with its byte offset), storage out of
// bounds, unsupported dtype.
Value read_checkpoint(const std::filesystem::path& path);

// The "__metadata__" map of a .safetensors file (empty when it has none): the
// header is read and checked as read_checkpoint checks it, tensors included, so
// a damaged file is refused here too. Errors name the file: not a safetensors
// file, metadata that is not a map of strings.
std::map<std::string, std::string> read_safetensors_metadata(const std::filesystem::path& path);

// Named tensors in file order.
using TensorList = std::vector<std::pair<std::string, Tensor>>;

// Reads a checkpoint whose root is a dict (e.g. a state dict) and returns its
// tensors in order. Nested dicts are flattened with "." (a checkpoint of the form
// {"state_dict": {...}} or {"model": {...}} is unwrapped); non-tensor entries are
// skipped. A tensor holding NaN or infinity is an error (a corrupted checkpoint).
TensorList read_tensors(const std::filesystem::path& path);

// The tensor at `key` of a dict checkpoint (nested keys joined by "/" or "."
// are tried as written first); errors name the file, the key and the keys present,
// or the first NaN or infinite element.
Tensor read_tensor(const std::filesystem::path& path, const std::string& key);

// Splits "FILE:KEY" (as in --input-tensor F.pt:x0) into file and key; the key is
// whatever follows the last ':'. Errors say the expected form.
std::pair<std::filesystem::path, std::string> split_tensor_spec(const std::string& spec);

// Tensor `key` of an already read dict value; `where` names the file in errors.
const Tensor& tensor_at(const Value& root, const std::string& key, const std::string& where);
// Integer `key` of an already read dict value (a Python int or a 0-d integer tensor).
int64_t integer_at(const Value& root, const std::string& key, const std::string& where);

}  // namespace hdiff::ckpt
