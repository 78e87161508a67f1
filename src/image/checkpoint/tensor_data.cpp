// Checkpoint tensors and values: dtype facts, element conversion and lookups.

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "image/checkpoint/checkpoint.h"

namespace hdiff::ckpt {

const char* dtype_name(TensorDType dtype) {
  switch (dtype) {
    case TensorDType::f32: return "float32";
    case TensorDType::f16: return "float16";
    case TensorDType::bf16: return "bfloat16";
    case TensorDType::f64: return "float64";
    case TensorDType::i64: return "int64";
    case TensorDType::i32: return "int32";
    case TensorDType::u8: return "uint8";
    case TensorDType::boolean: return "bool";
  }
  return "?";
}

size_t dtype_bytes(TensorDType dtype) {
  switch (dtype) {
    case TensorDType::f64: case TensorDType::i64: return 8;
    case TensorDType::f32: case TensorDType::i32: return 4;
    case TensorDType::f16: case TensorDType::bf16: return 2;
    case TensorDType::u8: case TensorDType::boolean: return 1;
  }
  return 1;
}

std::string shape_string(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

namespace {

// IEEE half to float, subnormals and infinities included.
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  const uint32_t mantissa = h & 0x3ff;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa ? NAN : INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  }
  uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

template <typename T>
T load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

double element(const Tensor& t, int64_t i) {
  const unsigned char* p = t.bytes.data() + i * static_cast<int64_t>(dtype_bytes(t.dtype));
  switch (t.dtype) {
    case TensorDType::f32: return load<float>(p);
    case TensorDType::f64: return load<double>(p);
    case TensorDType::f16: return half_to_float(load<uint16_t>(p));
    case TensorDType::bf16: {
      const uint32_t bits = static_cast<uint32_t>(load<uint16_t>(p)) << 16;
      return load<float>(reinterpret_cast<const unsigned char*>(&bits));
    }
    case TensorDType::i64: return static_cast<double>(load<int64_t>(p));
    case TensorDType::i32: return load<int32_t>(p);
    case TensorDType::u8: case TensorDType::boolean: return *p;
  }
  return 0;
}

}  // namespace

std::vector<float> Tensor::to_f32() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  if (dtype == TensorDType::f32) {
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * 4);
  } else {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(element(*this, static_cast<int64_t>(i)));
  }
  return out;
}

std::vector<double> Tensor::to_f64() const {
  std::vector<double> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = element(*this, static_cast<int64_t>(i));
  return out;
}

std::vector<int64_t> Tensor::to_i64() const {
  if (dtype != TensorDType::i64 && dtype != TensorDType::i32 && dtype != TensorDType::u8 &&
      dtype != TensorDType::boolean)
    fail("expected an integer tensor, found {}", dtype_name(dtype));
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    const unsigned char* p = bytes.data() + i * dtype_bytes(dtype);
    out[i] = dtype == TensorDType::i64 ? load<int64_t>(p) : dtype == TensorDType::i32 ? load<int32_t>(p) : *p;
  }
  return out;
}

int64_t first_non_finite(const Tensor& tensor) {
  const size_t size = dtype_bytes(tensor.dtype);
  const size_t count = tensor.bytes.size() / size;
  const unsigned char* p = tensor.bytes.data();
  // Exponent bits all set means infinity or NaN, in every IEEE format.
  for (size_t i = 0; i < count; ++i, p += size) {
    bool finite = true;
    switch (tensor.dtype) {
      case TensorDType::f32: finite = std::isfinite(load<float>(p)); break;
      case TensorDType::f64: finite = std::isfinite(load<double>(p)); break;
      case TensorDType::f16: finite = (load<uint16_t>(p) & 0x7c00) != 0x7c00; break;
      case TensorDType::bf16: finite = (load<uint16_t>(p) & 0x7f80) != 0x7f80; break;
      default: return -1;
    }
    if (!finite) return static_cast<int64_t>(i);
  }
  return -1;
}

const Value* Value::find(const std::string& key) const {
  for (const auto& [name, v] : dict)
    if (name == key) return v.get();
  return nullptr;
}

const char* Value::kind_name() const {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::real: return "float";
    case Kind::string: return "str";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::tensor: return "tensor";
  }
  return "?";
}

namespace {

std::string keys_of(const Value& root) {
  std::vector<std::string> keys;
  for (const auto& [name, v] : root.dict) keys.push_back(name);
  if (keys.size() > 12) {
    keys.resize(12);
    keys.push_back("...");
  }
  return fmt::format("{}", fmt::join(keys, ", "));
}

}  // namespace

const Tensor& tensor_at(const Value& root, const std::string& key, const std::string& where) {
  if (root.kind != Value::Kind::dict) fail("{}: holds a {}, not a dict of tensors", where, root.kind_name());
  const Value* v = root.find(key);
  if (!v) fail("{}: no entry '{}' (entries: {})", where, key, keys_of(root));
  if (v->kind != Value::Kind::tensor) fail("{}: entry '{}' is a {}, not a tensor", where, key, v->kind_name());
  return *v->tensor;
}

int64_t integer_at(const Value& root, const std::string& key, const std::string& where) {
  if (root.kind != Value::Kind::dict) fail("{}: holds a {}, not a dict", where, root.kind_name());
  const Value* v = root.find(key);
  if (!v) fail("{}: no entry '{}' (entries: {})", where, key, keys_of(root));
  if (v->kind == Value::Kind::integer) return v->integer;
  if (v->kind == Value::Kind::tensor && v->tensor->numel() == 1) return v->tensor->to_i64()[0];
  fail("{}: entry '{}' is a {}, not an integer", where, key, v->kind_name());
}

std::pair<std::filesystem::path, std::string> split_tensor_spec(const std::string& spec) {
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    fail("'{}' is not of the form FILE:KEY (e.g. inputs.pt:x0)", spec);
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

}  // namespace hdiff::ckpt
