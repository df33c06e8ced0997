// Resident state slots: a stream's state kept where the model computes — in GPU memory on the CUDA backend,
// in host memory on the CPU — so a job that runs the model many times in a row (chunk after chunk, one
// token after another while generating) moves only tokens and logits per call, and copies its state out
// only when it is checkpointed.
//
// The contract, the same on every backend:
// - acquire() returns a free slot holding the model's initial state; release() frees it for reuse.
// - write() sets a slot from a host state (Sequence::state's layout); read() copies it out. Both are exact.
// - forward() runs like Model::forward, each sequence's state being its slot's; results (logits, and the
//   state read() returns afterwards) are bit-identical to Model::forward on the same state and tokens.
// - A slot that was never acquired or was released, or one appearing twice in one call, is refused with
//   E_SLOT; nothing is changed then.
// - A StateSlots belongs to one model and keeps it alive.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "rwkv/error.h"
#include "rwkv/model.h"

namespace rwkv {

struct SlotSequence {
  const int32_t* tokens = nullptr;
  size_t n_tokens = 0;
  int slot = -1;
  LogitsMode logits = LogitsMode::Last;
  float* logits_out = nullptr;  // All: n_tokens*V floats; Last: V floats; None: unused
};

class StateSlots {
 public:
  virtual ~StateSlots() = default;
  virtual int acquire() = 0;
  virtual void release(int slot) = 0;
  virtual void write(int slot, const float* state) = 0;
  virtual void read(int slot, float* state) = 0;
  virtual void forward(const std::vector<SlotSequence>& seqs) = 0;
  // True when the states live in device memory (CUDA), false for host-resident slots.
  virtual bool device_resident() const = 0;
  virtual const Model& model() const = 0;
};

// The slots of `model`: device-resident on a CUDA model, host-resident otherwise.
std::unique_ptr<StateSlots> make_state_slots(std::shared_ptr<Model> model);

}  // namespace rwkv
