#include "model/slot_ledger.h"

#include <string>
#include <unordered_set>

#include "rwkv/error.h"

namespace rwkv {

std::optional<int> SlotLedger::reuse() {
  if (free_.empty()) return std::nullopt;
  const int slot = free_.back();
  free_.pop_back();
  held_[slot] = true;
  return slot;
}

void SlotLedger::add(int slot) {
  if (slot < 0) throw Error(code::kSlot, "state slot ids are never negative, got " + std::to_string(slot));
  if (static_cast<int>(held_.size()) <= slot) held_.resize(slot + 1, false);
  held_[slot] = true;
}

void SlotLedger::release(int slot) {
  check(slot);
  held_[slot] = false;
  free_.push_back(slot);
}

void SlotLedger::check(int slot) const {
  if (slot < 0 || slot >= static_cast<int>(held_.size()) || !held_[slot]) {
    throw Error(code::kSlot, "state slot " + std::to_string(slot) + " is not held (never acquired, or released)");
  }
}

void SlotLedger::check_call(const std::vector<SlotSequence>& seqs) const {
  std::unordered_set<int> seen;
  for (const SlotSequence& s : seqs) {
    check(s.slot);
    if (!seen.insert(s.slot).second) {
      throw Error(code::kSlot, "state slot " + std::to_string(s.slot) + " appears twice in one call");
    }
  }
}

}  // namespace rwkv
