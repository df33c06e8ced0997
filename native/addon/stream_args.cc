#include "stream_args.h"

#include "promise_worker.h"

namespace rwkv_addon {

StreamArg stream_arg(Napi::Env env, const Napi::Array& streams, size_t i) {
  Napi::Value item = streams.Get(i);
  if (!item.IsObject()) throw_coded(env, rwkv::code::kArgument, "stream " + std::to_string(i) + " is not an object");
  Napi::Object s = item.As<Napi::Object>();
  Napi::Value tokens = s.Get("tokens");
  if (!tokens.IsTypedArray() || tokens.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw_coded(env, rwkv::code::kArgument, "stream " + std::to_string(i) + ": tokens must be an Int32Array");
  }
  return StreamArg{s, tokens.As<Napi::Int32Array>()};
}

rwkv::LogitsMode logits_arg(Napi::Env env, const Napi::Value& v) {
  if (v.IsUndefined()) return rwkv::LogitsMode::Last;
  const std::string s = v.ToString();
  if (s == "none") return rwkv::LogitsMode::None;
  if (s == "last") return rwkv::LogitsMode::Last;
  if (s == "all") return rwkv::LogitsMode::All;
  throw_coded(env, rwkv::code::kArgument, "logits must be \"none\", \"last\" or \"all\", got \"" + s + "\"");
}

rwkv::LogitsMode logits_field(Napi::Env env, size_t i, const Napi::Object& stream, size_t n_tokens, size_t vocab,
                              std::vector<float>& buffer, float** out) {
  const rwkv::LogitsMode mode = logits_arg(env, stream.Get("logits"));
  if (mode == rwkv::LogitsMode::Last && n_tokens == 0) {
    throw_coded(env, rwkv::code::kArgument,
                "stream " + std::to_string(i) + ": logits of the last position need at least one token");
  }
  const size_t want = mode == rwkv::LogitsMode::All ? n_tokens * vocab : mode == rwkv::LogitsMode::Last ? vocab : 0;
  buffer.resize(want);
  *out = want ? buffer.data() : nullptr;
  return mode;
}

float* state_arg(Napi::Env env, const Napi::Value& v, size_t floats, const std::string& label) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw_coded(env, rwkv::code::kArgument, label + " must be a Float32Array");
  }
  auto st = v.As<Napi::Float32Array>();
  if (st.ElementLength() != floats) {
    throw_coded(env, rwkv::code::kArgument,
                label + " has " + std::to_string(st.ElementLength()) + " floats; this model's state has " +
                    std::to_string(floats));
  }
  return st.Data();
}

Napi::Float32Array owned_floats(Napi::Env env, std::vector<float>&& data) {
  auto* owned = new std::vector<float>(std::move(data));
  auto ab = Napi::ArrayBuffer::New(
      env, owned->data(), owned->size() * sizeof(float), [](Napi::Env, void*, std::vector<float>* v) { delete v; },
      owned);
  return Napi::Float32Array::New(env, owned->size(), ab, 0);
}

Napi::Array logits_result(Napi::Env env, std::vector<std::vector<float>>& logits) {
  Napi::Array out = Napi::Array::New(env, logits.size());
  for (size_t i = 0; i < logits.size(); i++) {
    if (logits[i].empty())
      out.Set(i, env.Null());
    else
      out.Set(i, owned_floats(env, std::move(logits[i])));
  }
  return out;
}

}  // namespace rwkv_addon
