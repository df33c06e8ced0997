// make_state_slots: device-resident slots for a model of a backend that keeps states on its device (CUDA),
// host-resident ones for every other model.
#include "rwkv/state_slots.h"

#include "model/host_state_slots.h"

#ifdef RWKV_WITH_CUDA
#include "cuda/cuda_backend.h"
#endif

namespace rwkv {

std::unique_ptr<StateSlots> make_state_slots(std::shared_ptr<Model> model) {
  if (!model) throw Error(code::kArgument, "state slots need a model");
#ifdef RWKV_WITH_CUDA
  if (auto cuda = make_cuda_state_slots(model)) return cuda;
#endif
  return make_host_state_slots(std::move(model));
}

}  // namespace rwkv
