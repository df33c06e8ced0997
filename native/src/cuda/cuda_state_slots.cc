// Device-resident state slots of a CUDA model (the slot contract of rwkv/state_slots.h) over CudaModel's
// slot API, whose slots are only ever added: released ids go to a free list and are handed out again, so
// device memory grows to the most slots held at once and no further.
#include <mutex>
#include <optional>
#include <vector>

#include "cuda/cuda_backend.h"
#include "model/slot_ledger.h"

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
      std::optional<int> reused = ledger_.reuse();
      if (reused) {
        slot = *reused;
      } else {
        slot = cuda_->add_slots(1);
        ledger_.add(slot);
      }
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
    ledger_.release(slot);
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
      ledger_.check_call(seqs);
      for (size_t i = 0; i < seqs.size(); i++) {
        calls[i] =
            CudaModel::SlotSequence{seqs[i].tokens, seqs[i].n_tokens, seqs[i].slot, seqs[i].logits, seqs[i].logits_out};
      }
    }
    cuda_->forward_slots(calls);
  }

  bool device_resident() const override { return true; }
  const Model& model() const override { return *owner_; }

 private:
  void check_locked(int slot) {
    std::lock_guard<std::mutex> lock(mu_);
    ledger_.check(slot);
  }

  std::shared_ptr<Model> owner_;
  CudaModel* cuda_;
  std::vector<float> initial_;
  std::mutex mu_;
  SlotLedger ledger_;
};

}  // namespace

std::unique_ptr<StateSlots> make_cuda_state_slots(const std::shared_ptr<Model>& model) {
  auto* cuda = dynamic_cast<CudaModel*>(model.get());
  if (!cuda) return nullptr;
  return std::make_unique<CudaStateSlots>(model, cuda);
}

}  // namespace rwkv
