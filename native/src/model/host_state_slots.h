// Host-resident state slots over any Model (see host_state_slots.cc); the backend dispatcher hands them out
// for every model whose backend keeps no device-resident states.
#pragma once
#include <memory>

#include "rwkv/model.h"
#include "rwkv/state_slots.h"

namespace rwkv {

std::unique_ptr<StateSlots> make_host_state_slots(std::shared_ptr<Model> model);

}  // namespace rwkv
