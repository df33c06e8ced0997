#include "io/pickle.h"

#include <bit>
#include <cstdio>
#include <cstring>

#include "io/byte_order.h"
#include "io/io_error.h"

namespace rwkv::io {

const char* kind_name(PyValue::Kind k) {
  using K = PyValue::Kind;
  switch (k) {
    case K::None: return "None";
    case K::Bool: return "bool";
    case K::Int: return "int";
    case K::Float: return "float";
    case K::Str: return "str";
    case K::Bytes: return "bytes";
    case K::Tuple: return "tuple";
    case K::List: return "list";
    case K::Dict: return "dict";
    case K::Set: return "set";
    case K::Global: return "global";
    case K::Call: return "call result";
    case K::PersId: return "persistent id";
  }
  return "?";
}

namespace {
constexpr size_t kMaxLine = 512;
// Upper bounds of what growing containers cost: a pointer or a pair in a vector that doubles (while it grows,
// the old array and the new one of twice the size exist together: three times the contents), a hash-map node
// with its bucket, a value in the deque with its share of a chunk.
constexpr uint64_t kSlotCost = 3 * sizeof(void*);
constexpr uint64_t kPairCost = 6 * sizeof(void*);
constexpr uint64_t kMemoCost = 64;
constexpr uint64_t kValueCost = sizeof(PyValue) + 16;
}  // namespace

Unpickler::Unpickler(std::span<const uint8_t> data, std::string where, GlobalCheck check, ReadBudget& budget)
    : data_(data), where_(std::move(where)), check_(std::move(check)), budget_(budget) {
  true_.kind = false_.kind = PyValue::Kind::Bool;
  true_.b = true;
  empty_tuple_.kind = PyValue::Kind::Tuple;
}

void Unpickler::bad(const std::string& message) const {
  char op[48];
  if (op_ >= 0x20 && op_ < 0x7f) {
    std::snprintf(op, sizeof op, "opcode '%c' (0x%02x)", op_, op_);
  } else {
    std::snprintf(op, sizeof op, "opcode 0x%02x", op_);
  }
  throw Error(code::kModelFormat, where_ + ": at offset " + std::to_string(op_pos_) + ", " + op + ": " + message);
}

const uint8_t* Unpickler::take(size_t n) {
  if (data_.size() - pos_ < n) {
    bad("expected " + std::to_string(n) + " more bytes, found " + std::to_string(data_.size() - pos_) +
        " before the end of the pickle");
  }
  const uint8_t* p = data_.data() + pos_;
  pos_ += n;
  return p;
}

uint64_t Unpickler::take_len(size_t width) {
  const uint8_t* p = take(width);
  uint64_t n = width == 1 ? p[0] : width == 4 ? le32(p) : le64(p);
  if (n > data_.size() - pos_) {
    bad("a length of " + std::to_string(n) + " bytes runs past the end of the pickle (" +
        std::to_string(data_.size() - pos_) + " bytes left)");
  }
  return n;
}

std::string Unpickler::take_line() {
  size_t start = pos_;
  while (pos_ < data_.size() && data_[pos_] != '\n') {
    if (pos_ - start > kMaxLine) bad("expected a newline-terminated name, found more than 512 bytes");
    pos_++;
  }
  if (pos_ >= data_.size()) bad("expected a newline-terminated name, found the end of the pickle");
  std::string s(reinterpret_cast<const char*>(data_.data() + start), pos_ - start);
  pos_++;
  return s;
}

PyValue* Unpickler::make(PyValue::Kind k) {
  charge(kValueCost);
  arena_.emplace_back();
  arena_.back().kind = k;
  return &arena_.back();
}

void Unpickler::push(PyValue* v) {
  charge(kSlotCost);
  stack_.push_back(v);
}

PyValue* Unpickler::pop() {
  size_t floor = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= floor)
    bad("pickle stack underflow: expected a value, found " + std::string(marks_.empty() ? "an empty stack" : "a MARK"));
  PyValue* v = stack_.back();
  stack_.pop_back();
  return v;
}

PyValue* Unpickler::top() {
  size_t floor = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= floor)
    bad("pickle stack underflow: expected a value, found " + std::string(marks_.empty() ? "an empty stack" : "a MARK"));
  return stack_.back();
}

size_t Unpickler::pop_mark() {
  if (marks_.empty()) bad("pickle stack underflow: expected a MARK, found none");
  size_t m = marks_.back();
  marks_.pop_back();
  return m;
}

std::vector<PyValue*> Unpickler::pop_to_mark() {
  size_t m = pop_mark();
  charge((stack_.size() - m) * sizeof(PyValue*));
  std::vector<PyValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
  stack_.resize(m);
  return items;
}

void Unpickler::memo_put(uint64_t index) {
  PyValue* v = top();
  if (!memo_.count(index)) charge(kMemoCost);
  memo_[index] = v;
}

PyValue* Unpickler::memo_get(uint64_t index) {
  auto it = memo_.find(index);
  if (it == memo_.end()) bad("memo entry " + std::to_string(index) + " is read before it is written");
  return it->second;
}

PyValue* Unpickler::global(const std::string& module, const std::string& name) {
  check_(module, name);
  charge(module.size() + name.size() + 1);
  PyValue* v = make(PyValue::Kind::Global);
  v->s = module + "." + name;
  return v;
}

void Unpickler::set_items(PyValue* dict, std::span<PyValue* const> kv) {
  if (dict->kind != PyValue::Kind::Dict)
    bad(std::string("expected a dict to set items on, found a ") + kind_name(dict->kind));
  if (kv.size() % 2) bad("expected key/value pairs, found an odd number of items");
  charge(kv.size() / 2 * kPairCost);
  for (size_t i = 0; i < kv.size(); i += 2) dict->entries.emplace_back(kv[i], kv[i + 1]);
}

PyValue* Unpickler::load() {
  using K = PyValue::Kind;
  while (true) {
    op_pos_ = pos_;
    if (pos_ >= data_.size()) {
      op_ = 0;
      bad("expected STOP ('.'), found the end of the pickle");
    }
    op_ = data_[pos_++];
    switch (op_) {
      case 0x80: {  // PROTO
        uint8_t proto = *take(1);
        if (proto > 5) bad("expected pickle protocol 2 to 5, found protocol " + std::to_string(proto));
        break;
      }
      case 0x95:  // FRAME: framing is only a read-ahead hint; the opcodes follow inline
        take(8);
        break;
      case '.': {  // STOP
        PyValue* v = pop();
        return v;
      }
      case '(':
        charge(kSlotCost);
        marks_.push_back(stack_.size());
        break;
      case '0': pop(); break;
      case '1': pop_to_mark(); break;
      case '2': push(top()); break;
      case 'c': {  // GLOBAL
        std::string module = take_line();
        std::string name = take_line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PyValue* name = pop();
        PyValue* module = pop();
        if (module->kind != K::Str || name->kind != K::Str) bad("expected two strings naming a global");
        push(global(module->s, name->s));
        break;
      }
      case 'q': memo_put(*take(1)); break;
      case 'r': memo_put(le32(take(4))); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'h': push(memo_get(*take(1))); break;
      case 'j': push(memo_get(le32(take(4)))); break;
      case ')': push(&empty_tuple_); break;
      case 't': {
        PyValue* t = make(K::Tuple);
        t->items = pop_to_mark();
        push(t);
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        size_t n = op_ - 0x84u;
        PyValue* t = make(K::Tuple);
        charge(n * sizeof(PyValue*));
        t->items.resize(n);
        for (size_t k = n; k-- > 0;) t->items[k] = pop();
        push(t);
        break;
      }
      case ']': push(make(K::List)); break;
      case 'l': {
        PyValue* l = make(K::List);
        l->items = pop_to_mark();
        push(l);
        break;
      }
      case 'a': {
        PyValue* v = pop();
        PyValue* l = top();
        if (l->kind != K::List) bad(std::string("expected a list to append to, found a ") + kind_name(l->kind));
        charge(kSlotCost);
        l->items.push_back(v);
        break;
      }
      case 'e': {
        auto items = pop_to_mark();
        PyValue* l = top();
        if (l->kind != K::List) bad(std::string("expected a list to append to, found a ") + kind_name(l->kind));
        charge(items.size() * kSlotCost);
        l->items.insert(l->items.end(), items.begin(), items.end());
        break;
      }
      case '}': push(make(K::Dict)); break;
      case 'd': {
        auto items = pop_to_mark();
        PyValue* d = make(K::Dict);
        set_items(d, items);
        push(d);
        break;
      }
      case 's': {
        PyValue* v = pop();
        PyValue* k = pop();
        PyValue* kv[2] = {k, v};
        set_items(top(), kv);
        break;
      }
      case 'u': {
        auto items = pop_to_mark();
        set_items(top(), items);
        break;
      }
      case 0x8f: push(make(K::Set)); break;
      case 0x90: {  // ADDITEMS
        auto items = pop_to_mark();
        PyValue* s = top();
        if (s->kind != K::Set) bad(std::string("expected a set to add to, found a ") + kind_name(s->kind));
        charge(items.size() * kSlotCost);
        s->items.insert(s->items.end(), items.begin(), items.end());
        break;
      }
      case 0x91: {  // FROZENSET
        PyValue* s = make(K::Set);
        s->items = pop_to_mark();
        push(s);
        break;
      }
      case 'X':
      case 0x8c:
      case 0x8d:
      case 'T':
      case 'U':
      case 'B':
      case 'C':
      case 0x8e: {
        size_t width = (op_ == 0x8c || op_ == 'U' || op_ == 'C') ? 1 : (op_ == 0x8d || op_ == 0x8e) ? 8 : 4;
        uint64_t n = take_len(width);
        if (op_ == 'T' && (n & 0x80000000u)) bad("negative BINSTRING length");
        PyValue* v = make((op_ == 'B' || op_ == 'C' || op_ == 0x8e) ? K::Bytes : K::Str);
        const uint8_t* p = take(static_cast<size_t>(n));
        charge(n);
        v->s.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
        push(v);
        break;
      }
      case 'K': {
        PyValue* v = make(K::Int);
        v->i = *take(1);
        push(v);
        break;
      }
      case 'M': {
        PyValue* v = make(K::Int);
        v->i = le16(take(2));
        push(v);
        break;
      }
      case 'J': {
        PyValue* v = make(K::Int);
        v->i = le32s(take(4));
        push(v);
        break;
      }
      case 0x8a:
      case 0x8b: {  // LONG1, LONG4: little-endian two's complement of n bytes
        uint64_t n = op_ == 0x8a ? *take(1) : le32(take(4));
        if (n > 8) bad("expected an integer of at most 8 bytes, found one of " + std::to_string(n) + " bytes");
        const uint8_t* p = take(static_cast<size_t>(n));
        uint64_t u = 0;
        for (size_t k = 0; k < n; k++) u |= static_cast<uint64_t>(p[k]) << (8 * k);
        if (n > 0 && n < 8 && (p[n - 1] & 0x80)) u |= ~uint64_t{0} << (8 * n);
        PyValue* v = make(K::Int);
        v->i = static_cast<int64_t>(u);
        push(v);
        break;
      }
      case 'N': push(&none_); break;
      case 0x88: push(&true_); break;
      case 0x89: push(&false_); break;
      case 'G': {  // BINFLOAT: big-endian double
        const uint8_t* p = take(8);
        uint64_t u = 0;
        for (int k = 0; k < 8; k++) u = (u << 8) | p[k];
        PyValue* v = make(K::Float);
        v->f = std::bit_cast<double>(u);
        push(v);
        break;
      }
      case 'R': {  // REDUCE
        PyValue* args = pop();
        PyValue* fn = pop();
        if (fn->kind != K::Global) bad(std::string("expected a global to call, found a ") + kind_name(fn->kind));
        if (args->kind != K::Tuple) bad(std::string("expected a tuple of arguments, found a ") + kind_name(args->kind));
        if (fn->s == "collections.OrderedDict") {
          if (!args->items.empty()) bad("expected OrderedDict() with no arguments, found arguments");
          push(make(K::Dict));
        } else {
          PyValue* call = make(K::Call);
          charge(2 * sizeof(PyValue*));
          call->items = {fn, args};
          push(call);
        }
        break;
      }
      case 'b': {  // BUILD: only a dict's attributes (a state dict's _metadata) are expected, and are dropped
        PyValue* state = pop();
        PyValue* target = top();
        if (target->kind != K::Dict) {
          bad(std::string("expected BUILD on a dict (state-dict metadata), found it on a ") + kind_name(target->kind));
        }
        (void)state;
        break;
      }
      case 'Q': {  // BINPERSID
        PyValue* pid = pop();
        PyValue* v = make(K::PersId);
        charge(sizeof(PyValue*));
        v->items = {pid};
        push(v);
        break;
      }
      default: bad("unsupported pickle opcode; expected one of the opcodes torch.save writes (protocols 2-5)");
    }
  }
}

}  // namespace rwkv::io
