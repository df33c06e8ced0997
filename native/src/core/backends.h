// Entry points of the optional CUDA backend, called by load_model() and capabilities() when the build has
// it (RWKV_WITH_CUDA); the CUDA sources implement them.
#pragma once
#include <memory>
#include <string>

#include "core/rwkv7_params.h"
#include "rwkv/model.h"
#include "rwkv/state_slots.h"

namespace rwkv {

std::shared_ptr<Model> make_cuda_model(std::shared_ptr<const TensorFile> file, const Rwkv7Params& params,
                                       const EngineOptions& options);

// Usable CUDA devices; 0 with a reason in *error when there is no driver, no device or no runtime.
int cuda_device_count(std::string* error);

// Device-resident slots of a CUDA model; nullptr when `model` is not one.
std::unique_ptr<StateSlots> make_cuda_state_slots(const std::shared_ptr<Model>& model);

// Fills the CUDA part of `caps`: usable devices (with name, compute capability and memory), the driver and
// runtime versions, or the reason there are none.
void cuda_capabilities(Capabilities* caps);

}  // namespace rwkv
