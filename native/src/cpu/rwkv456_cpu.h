// The CPU backend's model for RWKV-4, RWKV-5 (x050, x051, x052) and RWKV-6 (x060).
#pragma once
#include <memory>

#include "cpu/isa.h"
#include "model/rwkv456_params.h"
#include "rwkv/model.h"

namespace rwkv::cpu {

std::shared_ptr<Model> make_rwkv456_cpu_model(std::shared_ptr<const TensorFile> file, const Rwkv456Params& params,
                                              const EngineOptions& options, Isa isa);
std::shared_ptr<Model> make_rwkv456_cpu_model(std::shared_ptr<const TensorFile> file, const Rwkv456Params& params,
                                              const EngineOptions& options);

}  // namespace rwkv::cpu
