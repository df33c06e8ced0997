// Host-resident state slots (the slot contract in rwkv/state_slots.h for a model whose backend keeps its
// states in host memory, the CPU's): each slot is a host array, and forward() hands those arrays to Model::forward as
// the sequences' states, so the results are Model::forward's by construction. Freed slots keep their memory for the
// next acquire().
#include "model/host_state_slots.h"

#include <algorithm>
#include <deque>
#include <mutex>

#include "model/slot_ledger.h"

namespace rwkv {
namespace {

class HostStateSlots final : public StateSlots {
 public:
  explicit HostStateSlots(std::shared_ptr<Model> model) : model_(std::move(model)), floats_(model_->state_floats()) {}

  int acquire() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<int> slot = ledger_.reuse();
    if (!slot) {
      slot = static_cast<int>(states_.size());
      states_.emplace_back(floats_);
      ledger_.add(*slot);
    }
    model_->initial_state(states_[*slot].data());
    return *slot;
  }

  void release(int slot) override {
    std::lock_guard<std::mutex> lock(mu_);
    ledger_.release(slot);
  }

  void write(int slot, const float* state) override {
    std::lock_guard<std::mutex> lock(mu_);
    ledger_.check(slot);
    if (state)
      std::copy(state, state + floats_, states_[slot].begin());
    else
      model_->initial_state(states_[slot].data());
  }

  void read(int slot, float* state) override {
    std::lock_guard<std::mutex> lock(mu_);
    ledger_.check(slot);
    if (!state) throw Error(code::kArgument, "reading a state slot needs a destination");
    std::copy(states_[slot].begin(), states_[slot].end(), state);
  }

  void forward(const std::vector<SlotSequence>& seqs) override {
    std::vector<Sequence> plain(seqs.size());
    {
      std::lock_guard<std::mutex> lock(mu_);
      ledger_.check_call(seqs);
      for (size_t i = 0; i < seqs.size(); i++) {
        plain[i] = Sequence{seqs[i].tokens, seqs[i].n_tokens, states_[seqs[i].slot].data(), seqs[i].logits,
                            seqs[i].logits_out};
      }
    }
    // The slot arrays never move (a deque of vectors) and a held slot is not released by its owner during
    // its own call, so the model runs without the lock.
    model_->forward(plain);
  }

  bool device_resident() const override { return false; }
  const Model& model() const override { return *model_; }

 private:
  std::shared_ptr<Model> model_;
  const size_t floats_;
  std::mutex mu_;
  std::deque<std::vector<float>> states_;
  SlotLedger ledger_;
};

}  // namespace

std::unique_ptr<StateSlots> make_host_state_slots(std::shared_ptr<Model> model) {
  if (!model) throw Error(code::kArgument, "state slots need a model");
  return std::make_unique<HostStateSlots>(std::move(model));
}

}  // namespace rwkv
