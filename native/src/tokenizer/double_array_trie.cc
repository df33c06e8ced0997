#include "tokenizer/double_array_trie.h"

#include <algorithm>

#include "rwkv/error.h"

namespace rwkv::tok {

// Places states breadth-first, so the short prefixes that every match walks through end up close together
// near the front of the array.
class DoubleArrayTrie::Builder {
 public:
  Builder(const std::vector<Key>& keys, std::vector<Slot>& slots) : keys_(keys), slots_(slots) {}

  void run() {
    slots_.clear();
    grow_to(1024);
    occupy(0, kRoot, -1);
    struct Pending {
      int32_t state;
      size_t lo, hi, depth;  // keys[lo, hi) all start with the depth bytes that lead to state
    };
    std::vector<Pending> queue{{0, 0, keys_.size(), 0}};
    uint8_t labels[256];
    size_t starts[257];
    for (size_t qi = 0; qi < queue.size(); qi++) {
      const Pending p = queue[qi];
      size_t lo = p.lo;
      // Sorted order puts the key equal to the prefix itself first; its value was stored with the state.
      if (lo < p.hi && keys_[lo].bytes.size() == p.depth) lo++;
      if (lo == p.hi) continue;

      size_t count = 0;
      for (size_t k = lo; k < p.hi; k++) {
        const auto label = static_cast<uint8_t>(keys_[k].bytes[p.depth]);
        if (count == 0 || labels[count - 1] != label) {
          labels[count] = label;
          starts[count++] = k;
        }
      }
      starts[count] = p.hi;

      const int32_t base = find_base(labels, count);
      slots_[p.state].base = base;
      for (size_t c = 0; c < count; c++) {
        const int32_t t = base + labels[c];
        const Key& first = keys_[starts[c]];
        occupy(static_cast<size_t>(t), p.state, first.bytes.size() == p.depth + 1 ? first.value : -1);
        queue.push_back({t, starts[c], starts[c + 1], p.depth + 1});
      }
    }
    // Every lookup reads base + byte without a bounds check, so the array must reach past the largest base.
    slots_.resize(static_cast<size_t>(max_base_) + 256, Slot{0, kFree, -1});
    slots_.shrink_to_fit();
  }

 private:
  // Free slots form a doubly linked list in increasing order, so the search for a base visits only free
  // slots instead of rescanning the densely packed front of the array for every state. A free slot that has
  // failed as the first child's position many times is dropped from the list (it stays free for other
  // children): such isolated holes would otherwise be retried by every later search.
  int32_t find_base(const uint8_t* labels, size_t count) {
    for (size_t pos = head_;;) {
      if (pos == kEnd) pos = grow();
      if (pos > labels[0]) {
        const size_t base = pos - labels[0];
        if (base + 256 > slots_.size()) grow_to(base + 256);
        bool fits = true;
        for (size_t c = 1; c < count && fits; c++) fits = slots_[base + labels[c]].check == kFree;
        if (fits) {
          if (base > static_cast<size_t>(INT32_MAX) - 256) throw Error(code::kInternal, "trie too large");
          max_base_ = std::max(max_base_, static_cast<int32_t>(base));
          return static_cast<int32_t>(base);
        }
      }
      const size_t next = next_[pos];
      if (++fails_[pos] == kMaxFails) unlink(pos);
      pos = next;
    }
  }

  void occupy(size_t pos, int32_t parent, int32_t value) {
    slots_[pos].check = parent;
    slots_[pos].value = value;
    if (fails_[pos] < kMaxFails) unlink(pos);
  }

  void unlink(size_t pos) {
    const size_t p = prev_[pos], n = next_[pos];
    if (p == kEnd)
      head_ = n;
    else
      next_[p] = n;
    if (n == kEnd)
      tail_ = p;
    else
      prev_[n] = p;
  }

  // Appends free slots (at least one) and returns the first new one.
  size_t grow() {
    const size_t first = slots_.size();
    grow_to(first + 1);
    return first;
  }

  void grow_to(size_t n) {
    const size_t old = slots_.size();
    if (old >= n) return;
    const size_t size = std::max(n, old * 2);
    slots_.resize(size, Slot{0, kFree, -1});
    next_.resize(size);
    prev_.resize(size);
    fails_.resize(size, 0);
    for (size_t k = old; k < size; k++) {
      prev_[k] = tail_;
      next_[k] = kEnd;
      if (tail_ == kEnd)
        head_ = k;
      else
        next_[tail_] = k;
      tail_ = k;
    }
  }

  static constexpr size_t kEnd = SIZE_MAX;
  static constexpr uint8_t kMaxFails = 16;
  const std::vector<Key>& keys_;
  std::vector<Slot>& slots_;
  std::vector<size_t> next_, prev_;
  std::vector<uint8_t> fails_;
  size_t head_ = kEnd, tail_ = kEnd;
  int32_t max_base_ = 0;
};

DoubleArrayTrie::DoubleArrayTrie(const std::vector<Key>& keys) {
  Builder(keys, slots_).run();
  const int32_t root_base = slots_[0].base;
  for (int b = 0; b < 256; b++) {
    const Slot& s = slots_[static_cast<size_t>(root_base + b)];
    if (s.check != 0 || s.value < 0)
      throw Error(code::kInternal, "trie keys lack the single byte " + std::to_string(b));
  }
}

void DoubleArrayTrie::greedy_encode(std::string_view text, std::vector<int32_t>& out) const {
  const Slot* slots = slots_.data();
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  const uint32_t root_base = static_cast<uint32_t>(slots[0].base);
  size_t i = 0;
  while (i < n) {
    // Every single byte is a key, so the first step always succeeds and yields a fallback match.
    uint32_t state = root_base + p[i];
    int32_t best = slots[state].value;
    size_t best_end = i + 1;
    for (size_t j = i + 1; j < n; j++) {
      const uint32_t t = static_cast<uint32_t>(slots[state].base) + p[j];
      if (slots[t].check != static_cast<int32_t>(state)) break;
      state = t;
      if (slots[t].value >= 0) {
        best = slots[t].value;
        best_end = j + 1;
      }
    }
    out.push_back(best);
    i = best_end;
  }
}

}  // namespace rwkv::tok
