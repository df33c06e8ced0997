// Per-environment data (one per Node isolate/worker thread), never statics: the constructors of the wrapped
// classes, so native code can create JS instances of them.
#pragma once
#include <napi.h>

namespace rwkv_addon {

struct AddonData {
  Napi::FunctionReference model_ctor;
  Napi::FunctionReference tokenizer_ctor;
};

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace rwkv_addon
