// The CPU backend's model: builds the engine layout from a validated parameter table and runs forward calls.
#pragma once
#include <memory>

#include "cpu/isa.h"
#include "model/rwkv7_params.h"
#include "rwkv/model.h"

namespace rwkv::cpu {

// The kernels are those of `isa` (which must be supported by this CPU: isa_supported).
std::shared_ptr<Model> make_cpu_model(std::shared_ptr<const TensorFile> file, const Rwkv7Params& params,
                                      const EngineOptions& options, Isa isa);

// Same, with the best instruction set of this CPU (preferred_isa).
std::shared_ptr<Model> make_cpu_model(std::shared_ptr<const TensorFile> file, const Rwkv7Params& params,
                                      const EngineOptions& options);

}  // namespace rwkv::cpu
