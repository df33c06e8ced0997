// JS class `Tokenizer`. encode() of a large document runs on the thread pool; encodeSync() is for the short
// strings of prompts and labels, where a thread hop would cost more than the work.
#include "tokenizer_wrap.h"

#include "addon_data.h"
#include "promise_worker.h"

namespace rwkv_addon {

namespace {

// Bytes of a Buffer / Uint8Array argument (strings are converted to UTF-8 on the TypeScript side).
Napi::Uint8Array bytes_arg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw_coded(env, rwkv::code::kArgument, "expected a Buffer or Uint8Array of UTF-8 bytes");
  }
  return v.As<Napi::Uint8Array>();
}

Napi::Int32Array to_int32_array(Napi::Env env, std::vector<int32_t>&& ids) {
  auto* owned = new std::vector<int32_t>(std::move(ids));
  if (owned->empty()) {
    delete owned;
    return Napi::Int32Array::New(env, 0);
  }
  auto ab = Napi::ArrayBuffer::New(
      env, owned->data(), owned->size() * sizeof(int32_t), [](Napi::Env, void*, std::vector<int32_t>* v) { delete v; },
      owned);
  return Napi::Int32Array::New(env, owned->size(), ab, 0);
}

}  // namespace

Napi::Function TokenizerWrap::Init(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Tokenizer",
                                  {
                                      InstanceMethod<&TokenizerWrap::Info>("info"),
                                      InstanceMethod<&TokenizerWrap::Encode>("encode"),
                                      InstanceMethod<&TokenizerWrap::EncodeSync>("encodeSync"),
                                      InstanceMethod<&TokenizerWrap::Decode>("decode"),
                                  });
  addon_data(env).tokenizer_ctor = Napi::Persistent(fn);
  return fn;
}

Napi::Object TokenizerWrap::Wrap(Napi::Env env, std::shared_ptr<rwkv::Tokenizer> tokenizer) {
  Napi::Object obj = addon_data(env).tokenizer_ctor.New({});
  Napi::ObjectWrap<TokenizerWrap>::Unwrap(obj)->tokenizer_ = std::move(tokenizer);
  return obj;
}

TokenizerWrap::TokenizerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TokenizerWrap>(info) {}

Napi::Value TokenizerWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("kind", tokenizer_->kind());
  o.Set("vocabSize", tokenizer_->vocab_size());
  o.Set("fingerprint", tokenizer_->fingerprint());
  return o;
}

Napi::Value TokenizerWrap::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytes_arg(env, info[0]);
  auto tok = tokenizer_;
  auto result = std::make_shared<std::vector<int32_t>>();
  std::string_view view(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  auto* worker = new PromiseWorker(
      env, [tok, result, view] { *result = tok->encode(view); },
      [result](Napi::Env env) -> Napi::Value { return to_int32_array(env, std::move(*result)); });
  worker->Hold(bytes);
  worker->Queue();
  return worker->Promise();
}

Napi::Value TokenizerWrap::EncodeSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = bytes_arg(env, info[0]);
  std::string_view view(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  return guarded(env, [&] { return to_int32_array(env, tokenizer_->encode(view)); });
}

Napi::Value TokenizerWrap::Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw_coded(env, rwkv::code::kArgument, "decode expects an Int32Array of token ids");
  }
  auto ids = info[0].As<Napi::Int32Array>();
  return guarded(env, [&] {
    std::string bytes = tokenizer_->decode(ids.Data(), ids.ElementLength());
    return Napi::Buffer<char>::Copy(env, bytes.data(), bytes.size());
  });
}

}  // namespace rwkv_addon
