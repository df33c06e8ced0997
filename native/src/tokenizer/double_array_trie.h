// A double-array trie over byte strings: one transition is an add and a compare in a flat array, which keeps
// greedy longest-match encoding of the World vocabulary far faster than per-position candidate lists.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace rwkv::tok {

class DoubleArrayTrie {
 public:
  struct Key {
    std::string_view bytes;
    int32_t value;
  };

  // `keys`: sorted bytewise, distinct, non-empty, values >= 0, and holding every single byte so that greedy
  // matching always advances (throws E_INTERNAL otherwise; callers check this with better messages first).
  explicit DoubleArrayTrie(const std::vector<Key>& keys);

  // Appends to `out` the values of the keys that greedy longest-prefix matching splits `text` into.
  void greedy_encode(std::string_view text, std::vector<int32_t>& out) const;

  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  // base, check and value of a state sit together, so following a transition touches one cache line.
  struct Slot {
    int32_t base;   // children of this state live at base + byte
    int32_t check;  // the parent state of this slot, kFree or kRoot
    int32_t value;  // value of the key ending here, -1 if none
  };
  static constexpr int32_t kFree = -1;
  static constexpr int32_t kRoot = -2;

  class Builder;
  std::vector<Slot> slots_;
};

}  // namespace rwkv::tok
