// A pickle reader for torch's data.pkl that builds inert values and never runs anything: GLOBAL only names a
// class or function (after the caller's allow-list check), REDUCE records the call instead of making it
// (except collections.OrderedDict(), which is just a dict), and BINPERSID records the persistent id.
// Protocols 2 to 5, minus the opcodes that instantiate arbitrary classes or use out-of-band buffers.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/read_budget.h"

namespace rwkv::io {

struct PyValue {
  enum class Kind : uint8_t { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Set, Global, Call, PersId };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                                       // Str, Bytes; Global: "module.name"
  std::vector<PyValue*> items;                         // Tuple, List, Set; Call: {callable, args}; PersId: {pid}
  std::vector<std::pair<PyValue*, PyValue*>> entries;  // Dict, in insertion order
};

const char* kind_name(PyValue::Kind k);

class Unpickler {
 public:
  // Called for every GLOBAL / STACK_GLOBAL; throws to refuse the name.
  using GlobalCheck = std::function<void(const std::string& module, const std::string& name)>;

  // `where` prefixes messages, e.g. "model.pth: data.pkl". Every value, stack slot, memo entry and string
  // the pickle makes is charged to `budget` (E_MODEL_LIMIT), so memory follows the file's size, not what
  // its opcodes ask for.
  Unpickler(std::span<const uint8_t> data, std::string where, GlobalCheck check, ReadBudget& budget);

  // Runs to STOP and returns the result; the values live as long as this Unpickler.
  PyValue* load();

 private:
  [[noreturn]] void bad(const std::string& message) const;
  const uint8_t* take(size_t n);
  uint64_t take_len(size_t width);
  std::string take_line();
  PyValue* make(PyValue::Kind k);
  void charge(uint64_t bytes) { budget_.charge(bytes, "the pickle"); }
  PyValue* pop();
  PyValue* top();
  size_t pop_mark();
  std::vector<PyValue*> pop_to_mark();
  void push(PyValue* v);
  void memo_put(uint64_t index);
  PyValue* memo_get(uint64_t index);
  PyValue* global(const std::string& module, const std::string& name);
  void set_items(PyValue* dict, std::span<PyValue* const> kv);

  std::span<const uint8_t> data_;
  std::string where_;
  GlobalCheck check_;
  ReadBudget& budget_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint8_t op_ = 0;
  std::deque<PyValue> arena_;  // stable addresses, freed together; memo cycles cannot leak
  // Values nothing ever changes are shared: a run of one-byte None / True / False / () opcodes costs a stack
  // slot each, not a value each.
  PyValue none_, true_, false_, empty_tuple_;
  std::vector<PyValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PyValue*> memo_;
};

}  // namespace rwkv::io
