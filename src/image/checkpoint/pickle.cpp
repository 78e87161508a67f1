// A pickle interpreter that executes nothing. Python's pickle calls any global
// it is told to; here globals are only names, and the few that a tensor
// checkpoint needs (OrderedDict, the tensor-rebuild functions, storage types) are
// interpreted by hand. Anything else stops the load with its name and offset.

#include "image/checkpoint/pickle.h"

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

#include "common/checked.h"
#include "common/error.h"
#include "image/checkpoint/tensor_view.h"

namespace hdiff::ckpt::detail {
namespace {

// What a stack slot holds: a value, a mark, a global's name, or a storage.
struct Item {
  enum class Kind { value, mark, global, storage };
  Kind kind = Kind::value;
  std::shared_ptr<Value> value;
  std::string global;  // "module.name"
  TensorDType storage_dtype = TensorDType::f32;
  StorageBytes storage;
};

Item make_value(Value v) { return Item{Item::Kind::value, std::make_shared<Value>(std::move(v)), {}, {}, {}}; }

std::optional<TensorDType> storage_dtype(const std::string& global) {
  static const std::map<std::string, TensorDType> types = {
      {"torch.FloatStorage", TensorDType::f32},  {"torch.HalfStorage", TensorDType::f16},
      {"torch.BFloat16Storage", TensorDType::bf16}, {"torch.DoubleStorage", TensorDType::f64},
      {"torch.LongStorage", TensorDType::i64},   {"torch.IntStorage", TensorDType::i32},
      {"torch.ByteStorage", TensorDType::u8},    {"torch.BoolStorage", TensorDType::boolean}};
  auto it = types.find(global);
  if (it == types.end()) return std::nullopt;
  return it->second;
}

// Nesting limit of lists, tuples and dicts. A state dict nests a few levels; a
// pickle nesting 10^6 levels would exhaust the stack when its tree is destroyed.
constexpr int kMaxDepth = 64;
// Dimensions a tensor record may have (PyTorch allows 64).
constexpr size_t kMaxDimensions = 64;

bool allowed_global(const std::string& name) {
  return name == "collections.OrderedDict" || name == "torch._utils._rebuild_tensor_v2" ||
         name == "torch._utils._rebuild_tensor" || name == "torch._utils._rebuild_parameter" ||
         name == "torch._utils._rebuild_parameter_with_state" || storage_dtype(name).has_value();
}

class Unpickler {
 public:
  Unpickler(std::string_view data, const std::string& where, const StorageLoader& load)
      : data_(data), where_(where), load_(load) {}

  Value run() {
    while (true) {
      if (pos_ >= data_.size()) fail("{}: pickle ends before its STOP opcode (truncated or corrupted)", where_);
      op_pos_ = pos_;
      const auto op = static_cast<unsigned char>(data_[pos_++]);
      if (op == '.') break;
      step(op);
    }
    if (stack_.size() != 1 || stack_.back().kind != Item::Kind::value)
      fail("{}: malformed pickle (the stack does not end with one object)", where_);
    return *stack_.back().value;
  }

 private:
  template <typename T>
  T read_le() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  void need(size_t n) {
    if (data_.size() - pos_ < n) fail("{}: pickle truncated at byte {}", where_, op_pos_);
  }
  std::string read_bytes(size_t n) {
    need(n);
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::string read_line() {
    const size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos) fail("{}: pickle truncated at byte {}", where_, op_pos_);
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }

  [[noreturn]] void malformed(const char* what) {
    fail("{}: malformed pickle at byte {}: {}", where_, op_pos_, what);
  }
  Item pop() {
    if (stack_.empty()) malformed("stack underflow");
    Item it = std::move(stack_.back());
    stack_.pop_back();
    return it;
  }
  std::shared_ptr<Value> pop_value() {
    Item it = pop();
    if (it.kind != Item::Kind::value) malformed("expected an object");
    return it.value;
  }
  Item& top() {
    if (stack_.empty()) malformed("stack underflow");
    return stack_.back();
  }
  // Items above the topmost mark, which is removed.
  std::vector<Item> pop_mark() {
    size_t m = stack_.size();
    while (m > 0 && stack_[m - 1].kind != Item::Kind::mark) --m;
    if (m == 0) malformed("no MARK on the stack");
    std::vector<Item> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                            std::make_move_iterator(stack_.end()));
    stack_.resize(m - 1);
    return items;
  }
  // Bookkeeping of a list, tuple or dict made by this pickle. A container becomes
  // sealed once it is placed inside another; sealed containers cannot change, so
  // no container can come to hold itself (no cycles) and depths are final.
  struct Container {
    std::shared_ptr<Value> keep_alive;  // the address stays unique while it is a key
    int depth = 1;
    bool sealed = false;
    std::unordered_map<std::string, size_t> keys;  // dict entries by key
  };
  Container& container(const std::shared_ptr<Value>& v) {
    auto [it, added] = containers_.try_emplace(v.get());
    if (added) it->second.keep_alive = v;
    return it->second;
  }
  int depth_of(const std::shared_ptr<Value>& v) const {
    auto it = containers_.find(v.get());
    return it == containers_.end() ? 0 : it->second.depth;
  }
  // Records that `child` is placed inside `parent`, refusing cycles and deep nesting.
  void insert_into(const std::shared_ptr<Value>& parent, const std::shared_ptr<Value>& child) {
    Container& p = container(parent);
    if (p.sealed) malformed("an object is changed after it was placed in another (recursive objects are not read)");
    if (child.get() == parent.get()) malformed("an object that contains itself (recursive objects are not read)");
    auto it = containers_.find(child.get());
    if (it != containers_.end()) it->second.sealed = true;
    const int depth = depth_of(child) + 1;
    if (depth > kMaxDepth)
      fail("{}: objects nested more than {} levels deep at byte {}; a checkpoint of tensors is not nested so deep",
           where_, kMaxDepth, op_pos_);
    p.depth = std::max(p.depth, depth);
  }
  std::shared_ptr<Value> make_container(Value::Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    container(v);
    return v;
  }
  std::shared_ptr<Value> make_tuple(std::vector<Item> items) {
    auto v = make_container(Value::Kind::list);
    for (auto& it : items) {
      if (it.kind == Item::Kind::mark) malformed("MARK inside a tuple");
      if (it.kind == Item::Kind::value) {
        insert_into(v, it.value);
        v->list.push_back(it.value);
      } else {
        // A placeholder element; the map keeps it alive so its address stays unique.
        v->list.push_back(std::make_shared<Value>());
        it.value = v->list.back();
        tuple_items_.insert_or_assign(v->list.back().get(), it);
      }
    }
    return v;
  }
  std::string key_of(const Value& k) {
    if (k.kind == Value::Kind::string) return k.string;
    if (k.kind == Value::Kind::integer) return std::to_string(k.integer);
    malformed("dict key that is neither a string nor an integer");
  }
  void set_item(const std::shared_ptr<Value>& dict, const Value& key, std::shared_ptr<Value> value) {
    if (dict->kind != Value::Kind::dict) malformed("SETITEM on something that is not a dict");
    insert_into(dict, value);
    std::string k = key_of(key);
    auto& keys = container(dict).keys;
    auto [it, added] = keys.try_emplace(k, dict->dict.size());
    if (!added) {
      dict->dict[it->second].second = std::move(value);
      return;
    }
    dict->dict.emplace_back(std::move(k), std::move(value));
  }
  void append(const std::shared_ptr<Value>& list, std::shared_ptr<Value> value) {
    insert_into(list, value);
    list->list.push_back(std::move(value));
  }
  void memo_put(uint32_t index) { memo_[index] = top(); }
  void memo_get(uint32_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) malformed("memo reference to an unknown slot");
    stack_.push_back(it->second);
  }
  void push_global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (!allowed_global(full))
      fail("{}: unsupported global '{}' at byte {}; only state dicts and dicts of tensors, numbers, "
           "strings and lists can be read, and nothing in a checkpoint is executed",
           where_, full, op_pos_);
    Item it;
    it.kind = Item::Kind::global;
    it.global = full;
    stack_.push_back(std::move(it));
  }

  // The item a tuple element was made from (tuples keep storages and globals).
  const Item* original(const std::shared_ptr<Value>& v) const {
    auto it = tuple_items_.find(v.get());
    return it == tuple_items_.end() ? nullptr : &it->second;
  }

  int64_t int_arg(const Value& args, size_t i, const char* what) {
    if (args.list.size() <= i || args.list[i]->kind != Value::Kind::integer)
      fail("{}: malformed tensor record at byte {}: {} is not an integer", where_, op_pos_, what);
    return args.list[i]->integer;
  }
  std::vector<int64_t> ints_arg(const Value& args, size_t i, const char* what) {
    if (args.list.size() <= i || args.list[i]->kind != Value::Kind::list)
      fail("{}: malformed tensor record at byte {}: {} is not a tuple", where_, op_pos_, what);
    if (args.list[i]->list.size() > kMaxDimensions)
      fail("{}: malformed tensor record at byte {}: {} has more than {} dimensions", where_, op_pos_, what,
           kMaxDimensions);
    std::vector<int64_t> out;
    for (const auto& e : args.list[i]->list) {
      if (e->kind != Value::Kind::integer)
        fail("{}: malformed tensor record at byte {}: {} holds a non-integer", where_, op_pos_, what);
      out.push_back(e->integer);
    }
    return out;
  }

  Value rebuild_tensor(const Value& args) {
    const Item* storage = args.list.empty() ? nullptr : original(args.list[0]);
    if (!storage || storage->kind != Item::Kind::storage)
      fail("{}: malformed tensor record at byte {}: its first argument is not a storage", where_, op_pos_);
    StorageView view{int_arg(args, 1, "the storage offset"), ints_arg(args, 2, "the size"),
                     ints_arg(args, 3, "the stride")};
    const size_t esize = dtype_bytes(storage->storage_dtype);
    const auto storage_elements = static_cast<int64_t>(storage->storage->size() / esize);
    const int64_t elements = checked_view_elements(view, storage_elements, where_, op_pos_);
    // All views together at most a few times the storages, checked before the copy.
    materialized_bytes_ += static_cast<uint64_t>(elements) * esize;
    if (materialized_bytes_ > 4 * storage_bytes_ + (uint64_t{1} << 20))
      fail("{}: the tensors at byte {} would copy their storages more than 4 times over; the checkpoint is "
           "corrupted or hostile",
           where_, op_pos_);
    auto t = std::make_shared<Tensor>();
    t->dtype = storage->storage_dtype;
    t->bytes = copy_view(view, elements, esize, *storage->storage);
    t->shape = std::move(view.size);
    Value v;
    v.kind = Value::Kind::tensor;
    v.tensor = std::move(t);
    return v;
  }

  void reduce() {
    auto args = pop_value();
    Item callable = pop();
    if (callable.kind != Item::Kind::global || args->kind != Value::Kind::list)
      malformed("REDUCE needs a global and a tuple of arguments");
    const std::string& g = callable.global;
    if (g == "collections.OrderedDict") {
      if (!args->list.empty()) malformed("OrderedDict built from arguments");
      stack_.push_back(Item{Item::Kind::value, make_container(Value::Kind::dict), {}, {}, {}});
    } else if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") {
      stack_.push_back(make_value(rebuild_tensor(*args)));
    } else if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
      if (args->list.empty() || args->list[0]->kind != Value::Kind::tensor)
        malformed("parameter record without a tensor");
      stack_.push_back(make_value(*args->list[0]));
    } else {
      fail("{}: global '{}' cannot be called (at byte {})", where_, g, op_pos_);
    }
  }

  void persistent_load() {
    auto pid = pop_value();
    if (pid->kind != Value::Kind::list || pid->list.size() < 5 || pid->list[0]->kind != Value::Kind::string ||
        pid->list[0]->string != "storage")
      fail("{}: unsupported persistent id at byte {} (expected a PyTorch storage record)", where_, op_pos_);
    const Item* type = original(pid->list[1]);
    if (!type || type->kind != Item::Kind::global) malformed("storage record without a storage type");
    auto dtype = storage_dtype(type->global);
    if (!dtype) fail("{}: unsupported storage type '{}' at byte {}", where_, type->global, op_pos_);
    if (pid->list[2]->kind != Value::Kind::string || pid->list[4]->kind != Value::Kind::integer)
      malformed("storage record with a bad key or size");
    const std::string& key = pid->list[2]->string;
    const int64_t numel = pid->list[4]->integer;
    if (numel < 0 || !checked_mul(numel, static_cast<int64_t>(dtype_bytes(*dtype))))
      fail("{}: storage record at byte {} declares {} elements (corrupted checkpoint)", where_, op_pos_, numel);
    Item it;
    it.kind = Item::Kind::storage;
    it.storage_dtype = *dtype;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) {
      it.storage = cached->second;
    } else {
      it.storage = load_(StorageRequest{*dtype, key, numel});
      if (!it.storage) malformed("storage that could not be loaded");
      storages_[key] = it.storage;
      storage_bytes_ += it.storage->size();
    }
    stack_.push_back(std::move(it));
  }

  void build() {
    auto state = pop_value();
    Item& target = top();
    // OrderedDict state dicts carry a `_metadata` attribute (module versions):
    // irrelevant to the tensors, so it is dropped.
    if (target.kind == Item::Kind::value &&
        (target.value->kind == Value::Kind::dict || target.value->kind == Value::Kind::tensor))
      return;
    (void)state;
    malformed("BUILD on an object that is not a dict or tensor");
  }

  void step(unsigned char op) {
    Value v;
    switch (op) {
      case 0x80: read_le<uint8_t>(); return;                  // PROTO
      case 0x95: read_le<uint64_t>(); return;                 // FRAME
      case '(': stack_.push_back(Item{Item::Kind::mark, {}, {}, {}, {}}); return;
      case '0': pop(); return;                                 // POP
      case '1': pop_mark(); return;                            // POP_MARK
      case '2': stack_.push_back(top()); return;               // DUP
      case 'N': stack_.push_back(make_value(Value{})); return; // NONE
      case 0x88: case 0x89:                                    // NEWTRUE, NEWFALSE
        v.kind = Value::Kind::boolean;
        v.boolean = op == 0x88;
        stack_.push_back(make_value(std::move(v)));
        return;
      case 'J': v.kind = Value::Kind::integer; v.integer = read_le<int32_t>(); break;
      case 'K': v.kind = Value::Kind::integer; v.integer = read_le<uint8_t>(); break;
      case 'M': v.kind = Value::Kind::integer; v.integer = read_le<uint16_t>(); break;
      case 0x8a: {                                             // LONG1
        const uint8_t n = read_le<uint8_t>();
        if (n > 8) fail("{}: integer of {} bytes at byte {} is too large", where_, n, op_pos_);
        const std::string b = read_bytes(n);
        uint64_t u = 0;
        for (size_t i = 0; i < n; ++i) u |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
        if (n > 0 && n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * n);
        v.kind = Value::Kind::integer;
        v.integer = static_cast<int64_t>(u);
        break;
      }
      case 'G': {                                              // BINFLOAT (big-endian)
        need(8);
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(data_[pos_ + static_cast<size_t>(i)]);
        pos_ += 8;
        v.kind = Value::Kind::real;
        std::memcpy(&v.real, &u, 8);
        break;
      }
      case 'X': case 'B': v.kind = Value::Kind::string; v.string = read_bytes(read_le<uint32_t>()); break;
      case 0x8c: case 'C': case 'U':
        v.kind = Value::Kind::string; v.string = read_bytes(read_le<uint8_t>()); break;
      case 0x8d: case 0x8e: case 0x96:
        v.kind = Value::Kind::string; v.string = read_bytes(read_le<uint64_t>()); break;
      case 'T': v.kind = Value::Kind::string; v.string = read_bytes(read_le<uint32_t>()); break;
      case '}':
        stack_.push_back(Item{Item::Kind::value, make_container(Value::Kind::dict), {}, {}, {}});
        return;
      case ']': case ')':
        stack_.push_back(Item{Item::Kind::value, make_container(Value::Kind::list), {}, {}, {}});
        return;
      case 'l': case 't': {                                    // LIST, TUPLE
        stack_.push_back(Item{Item::Kind::value, make_tuple(pop_mark()), {}, {}, {}});
        return;
      }
      case 0x85: case 0x86: case 0x87: {                       // TUPLE1..3
        std::vector<Item> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        stack_.push_back(Item{Item::Kind::value, make_tuple(std::move(items)), {}, {}, {}});
        return;
      }
      case 'd': {                                              // DICT
        auto items = pop_mark();
        if (items.size() % 2) malformed("DICT with an odd number of items");
        auto dict = make_container(Value::Kind::dict);
        for (size_t i = 0; i < items.size(); i += 2) {
          if (items[i].kind != Item::Kind::value || items[i + 1].kind != Item::Kind::value) malformed("bad dict item");
          set_item(dict, *items[i].value, items[i + 1].value);
        }
        stack_.push_back(Item{Item::Kind::value, std::move(dict), {}, {}, {}});
        return;
      }
      case 'q': memo_put(read_le<uint8_t>()); return;          // BINPUT
      case 'r': memo_put(read_le<uint32_t>()); return;         // LONG_BINPUT
      case 0x94: memo_put(static_cast<uint32_t>(memo_.size())); return;  // MEMOIZE
      case 'h': memo_get(read_le<uint8_t>()); return;          // BINGET
      case 'j': memo_get(read_le<uint32_t>()); return;         // LONG_BINGET
      case 'c': {                                              // GLOBAL
        const std::string module = read_line();
        const std::string name = read_line();
        push_global(module, name);
        return;
      }
      case 0x93: {                                             // STACK_GLOBAL
        auto name = pop_value();
        auto module = pop_value();
        if (name->kind != Value::Kind::string || module->kind != Value::Kind::string) malformed("STACK_GLOBAL");
        push_global(module->string, name->string);
        return;
      }
      case 'R': reduce(); return;
      case 'Q': persistent_load(); return;
      case 'b': build(); return;
      case 's': {                                              // SETITEM
        auto value = pop_value();
        auto key = pop_value();
        Item& d = top();
        if (d.kind != Item::Kind::value) malformed("SETITEM target");
        set_item(d.value, *key, std::move(value));
        return;
      }
      case 'u': {                                              // SETITEMS
        auto items = pop_mark();
        Item& d = top();
        if (d.kind != Item::Kind::value || items.size() % 2) malformed("SETITEMS");
        for (size_t i = 0; i < items.size(); i += 2) {
          if (items[i].kind != Item::Kind::value || items[i + 1].kind != Item::Kind::value) malformed("bad dict item");
          set_item(d.value, *items[i].value, items[i + 1].value);
        }
        return;
      }
      case 'a': {                                              // APPEND
        auto value = pop_value();
        Item& l = top();
        if (l.kind != Item::Kind::value || l.value->kind != Value::Kind::list) malformed("APPEND target");
        append(l.value, std::move(value));
        return;
      }
      case 'e': {                                              // APPENDS
        auto items = pop_mark();
        Item& l = top();
        if (l.kind != Item::Kind::value || l.value->kind != Value::Kind::list) malformed("APPENDS target");
        for (auto& it : items) {
          if (it.kind != Item::Kind::value) malformed("APPENDS item");
          append(l.value, it.value);
        }
        return;
      }
      default:
        fail("{}: unsupported pickle opcode 0x{:02x} at byte {}; only the opcodes of state dicts and "
             "plain dicts of tensors, numbers, strings and lists are read",
             where_, op, op_pos_);
    }
    stack_.push_back(make_value(std::move(v)));
  }

  std::string_view data_;
  std::string where_;
  const StorageLoader& load_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<Item> stack_;
  std::map<uint32_t, Item> memo_;
  std::map<std::string, StorageBytes> storages_;
  // Tuple elements that were globals or storages, by element address.
  std::map<const Value*, Item> tuple_items_;
  // Every list, tuple and dict made so far, by address.
  std::unordered_map<const Value*, Container> containers_;
  // Bytes of the storages loaded and of the tensors copied out of them.
  uint64_t storage_bytes_ = 0;
  uint64_t materialized_bytes_ = 0;
};

}  // namespace

Value unpickle(std::string_view data, const std::string& where, const StorageLoader& load_storage) {
  return Unpickler(data, where, load_storage).run();
}

}  // namespace hdiff::ckpt::detail
