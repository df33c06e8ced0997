// The arguments forward() (model_wrap.cc) and forwardSlots() (model_slots.cc) share: the array of streams,
// each with its tokens and the logits it asks for, and the array of logits they resolve with. One parser, so
// both calls refuse the same input with the same code and message.
#pragma once
#include <napi.h>

#include <cstddef>
#include <string>
#include <vector>

#include "rwkv/model.h"

namespace rwkv_addon {

// Element i of a streams array: an object with tokens: Int32Array (E_ARGUMENT otherwise).
struct StreamArg {
  Napi::Object object;
  Napi::Int32Array tokens;
};
StreamArg stream_arg(Napi::Env env, const Napi::Array& streams, size_t i);

// 'none' | 'last' | 'all'; undefined means 'last'.
rwkv::LogitsMode logits_arg(Napi::Env env, const Napi::Value& v);

// Stream i's `logits` field, with `buffer` sized for what it asks (n_tokens * vocab, vocab or nothing) and
// *out pointing into it (nullptr when nothing is asked). 'last' with no tokens is refused: there is no
// last position.
rwkv::LogitsMode logits_field(Napi::Env env, size_t i, const Napi::Object& stream, size_t n_tokens, size_t vocab,
                              std::vector<float>& buffer, float** out);

// A Float32Array of exactly `floats` elements (a state; forward() updates it in place); `label` names it in
// the refusal ("the state").
float* state_arg(Napi::Env env, const Napi::Value& v, size_t floats, const std::string& label);

// A Float32Array that owns `data` (no copy).
Napi::Float32Array owned_floats(Napi::Env env, std::vector<float>&& data);

// What forward()/forwardSlots() resolve with: per stream its logits, or null when it asked for none.
Napi::Array logits_result(Napi::Env env, std::vector<std::vector<float>>& logits);

}  // namespace rwkv_addon
