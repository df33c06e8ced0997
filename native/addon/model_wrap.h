#pragma once
#include <napi.h>

#include <memory>

#include "rwkv/model.h"
#include "rwkv/state_slots.h"

namespace rwkv_addon {

// A config's per-layer LoRA widths as JS objects ({ w, a, v, g }, x060 with mix), for info() and inspectModel().
Napi::Array ranks_array(Napi::Env env, const rwkv::ModelConfig& c);

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<rwkv::Model> model, rwkv::WeightType weights);
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<rwkv::Model> live(Napi::Env env) const;
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value InitialState(const Napi::CallbackInfo& info);
  Napi::Value ReadStateTuning(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  // Resident state slots (model_slots.cc).
  rwkv::StateSlots& slots(Napi::Env env);
  Napi::Value AcquireSlot(const Napi::CallbackInfo& info);
  Napi::Value WriteSlot(const Napi::CallbackInfo& info);
  Napi::Value ReadSlot(const Napi::CallbackInfo& info);
  Napi::Value ReleaseSlot(const Napi::CallbackInfo& info);
  Napi::Value ForwardSlots(const Napi::CallbackInfo& info);
  Napi::Value SlotsOnDevice(const Napi::CallbackInfo& info);

  std::shared_ptr<rwkv::Model> model_;  // shared with in-flight work, so dispose() never frees under it
  rwkv::WeightType weights_ = rwkv::WeightType::F32;
  std::shared_ptr<rwkv::StateSlots> slots_;  // made on first use; shared with in-flight forwardSlots calls
};

}  // namespace rwkv_addon
