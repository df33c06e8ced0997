// Device-resident state slots of a CUDA model (the slot contract of rwkv/state_slots.h) over CudaModel's
// slot API, whose slots are only ever added: released ids go to a free list and are handed out again, so
// device memory grows to the most slots held at once and no further.
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/backends.h"
#include "cuda/cuda_backend.h"

namespace rwkv {
namespace {

class CudaStateSlots final : public StateSlots {
 public:
  CudaStateSlots(std::shared_ptr<Model> owner, CudaModel* cuda)
      : owner_(std::move(owner)), cuda_(cuda), initial_(owner_->state_floats()) {
    owner_->initial_state(initial_.data());
  }

  int acquire() override {
    int slot;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
      } else {
        slot = cuda_->add_slots(1);
        if (static_cast<int>(held_.size()) <= slot) held_.resize(slot + 1, false);
      }
      held_[slot] = true;
    }
    try {
      cuda_->write_slot(slot, initial_.data());
    } catch (...) {
      release(slot);
      throw;
    }
    return slot;
  }

  void release(int slot) override {
    std::lock_guard<std::mutex> lock(mu_);
    check(slot);
    held_[slot] = false;
    free_.push_back(slot);
  }

  void write(int slot, const float* state) override {
    check_locked(slot);
    cuda_->write_slot(slot, state ? state : initial_.data());
  }

  void read(int slot, float* state) override {
    check_locked(slot);
    if (!state) throw Error(code::kArgument, "reading a state slot needs a destination");
    cuda_->read_slot(slot, state);
  }

  void forward(const std::vector<SlotSequence>& seqs) override {
    std::vector<CudaModel::SlotSequence> calls(seqs.size());
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::unordered_set<int> seen;
      for (size_t i = 0; i < seqs.size(); i++) {
        check(seqs[i].slot);
        if (!seen.insert(seqs[i].slot).second) {
          throw Error(code::kSlot, "state slot " + std::to_string(seqs[i].slot) + " appears twice in one call");
        }
        calls[i] = CudaModel::SlotSequence{seqs[i].tokens, seqs[i].n_tokens, seqs[i].slot, seqs[i].logits, seqs[i].logits_out};
      }
    }
    cuda_->forward_slots(calls);
  }

  bool device_resident() const override { return true; }
  const Model& model() const override { return *owner_; }

 private:
  void check(int slot) const {
    if (slot < 0 || slot >= static_cast<int>(held_.size()) || !held_[slot]) {
      throw Error(code::kSlot, "state slot " + std::to_string(slot) + " is not held (never acquired, or released)");
    }
  }
  void check_locked(int slot) {
    std::lock_guard<std::mutex> lock(mu_);
    check(slot);
  }

  std::shared_ptr<Model> owner_;
  CudaModel* cuda_;
  std::vector<float> initial_;
  std::mutex mu_;
  std::vector<bool> held_;
  std::vector<int> free_;
};

}  // namespace

std::unique_ptr<StateSlots> make_cuda_state_slots(const std::shared_ptr<Model>& model) {
  auto* cuda = dynamic_cast<CudaModel*>(model.get());
  if (!cuda) return nullptr;
  return std::make_unique<CudaStateSlots>(model, cuda);
}

}  // namespace rwkv
