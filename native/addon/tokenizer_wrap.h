#pragma once
#include <napi.h>

#include <memory>

#include "rwkv/tokenizer.h"

namespace rwkv_addon {

class TokenizerWrap : public Napi::ObjectWrap<TokenizerWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<rwkv::Tokenizer> tokenizer);
  explicit TokenizerWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Encode(const Napi::CallbackInfo& info);
  Napi::Value EncodeSync(const Napi::CallbackInfo& info);
  Napi::Value Decode(const Napi::CallbackInfo& info);

  std::shared_ptr<rwkv::Tokenizer> tokenizer_;
};

}  // namespace rwkv_addon
