// The bookkeeping every StateSlots implementation shares (the contract in rwkv/state_slots.h): which slot ids
// are held, which freed ids wait to be handed out again, and the E_SLOT refusals. Where a slot's state lives
// is the backend's business; the ledger only knows ids. Not thread-safe: each backend calls it under its own
// lock, the same lock that guards its storage.
#pragma once
#include <optional>
#include <vector>

#include "rwkv/state_slots.h"

namespace rwkv {

class SlotLedger {
 public:
  // A freed id, now held again; nullopt when none is free and the caller must add storage (then add()).
  std::optional<int> reuse();
  // Marks `slot`, the id of storage the caller just added, as held.
  void add(int slot);
  // Frees a held slot for reuse; E_SLOT when it is not held.
  void release(int slot);
  // E_SLOT unless `slot` is held.
  void check(int slot) const;
  // E_SLOT unless every sequence's slot is held and none appears twice, so a refused call changes nothing.
  void check_call(const std::vector<SlotSequence>& seqs) const;

 private:
  std::vector<bool> held_;
  std::vector<int> free_;
};

}  // namespace rwkv
