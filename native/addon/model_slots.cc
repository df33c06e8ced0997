// The Model class's resident state slots (rwkv/state_slots.h): a slot id per stream, its state kept where
// the model computes. acquireSlot/writeSlot/readSlot/releaseSlot are synchronous copies of one state (a
// 7B model's is ~35 MB: milliseconds); forwardSlots runs on the thread pool like forward().
#include <memory>
#include <string>
#include <vector>

#include "model_wrap.h"
#include "promise_worker.h"

namespace rwkv_addon {

namespace {

int slot_arg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsNumber()) throw_coded(env, rwkv::code::kSlot, "a state slot id must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 1e9 || d != static_cast<int>(d)) throw_coded(env, rwkv::code::kSlot, "bad state slot id " + std::to_string(d));
  return static_cast<int>(d);
}

const float* state_arg(Napi::Env env, const Napi::Value& v, size_t floats) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw_coded(env, rwkv::code::kArgument, "a state must be a Float32Array");
  }
  auto st = v.As<Napi::Float32Array>();
  if (st.ElementLength() != floats) {
    throw_coded(env, rwkv::code::kArgument, "the state has " + std::to_string(st.ElementLength()) +
                                                " floats; this model's state has " + std::to_string(floats));
  }
  return st.Data();
}

rwkv::LogitsMode logits_arg(Napi::Env env, const Napi::Value& v) {
  if (v.IsUndefined()) return rwkv::LogitsMode::Last;
  const std::string s = v.ToString();
  if (s == "none") return rwkv::LogitsMode::None;
  if (s == "last") return rwkv::LogitsMode::Last;
  if (s == "all") return rwkv::LogitsMode::All;
  throw_coded(env, rwkv::code::kArgument, "logits must be \"none\", \"last\" or \"all\", got \"" + s + "\"");
}

}  // namespace

rwkv::StateSlots& ModelWrap::slots(Napi::Env env) {
  auto model = live(env);
  if (!slots_) slots_ = guarded(env, [&] { return std::shared_ptr<rwkv::StateSlots>(rwkv::make_state_slots(model)); });
  return *slots_;
}

// acquireSlot(state?: Float32Array) -> number: a free slot, holding `state` or the model's initial state.
Napi::Value ModelWrap::AcquireSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rwkv::StateSlots& s = slots(env);
  const float* state = info[0].IsUndefined() ? nullptr : state_arg(env, info[0], model_->state_floats());
  const int slot = guarded(env, [&] { return s.acquire(); });
  if (state) {
    guarded(env, [&] {
      try {
        s.write(slot, state);
      } catch (...) {
        s.release(slot);
        throw;
      }
      return 0;
    });
  }
  return Napi::Number::New(env, slot);
}

// writeSlot(slot, state: Float32Array)
Napi::Value ModelWrap::WriteSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rwkv::StateSlots& s = slots(env);
  const int slot = slot_arg(env, info[0]);
  const float* state = state_arg(env, info[1], model_->state_floats());
  guarded(env, [&] {
    s.write(slot, state);
    return 0;
  });
  return env.Undefined();
}

// readSlot(slot) -> Float32Array: a host copy of the slot's state.
Napi::Value ModelWrap::ReadSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rwkv::StateSlots& s = slots(env);
  const int slot = slot_arg(env, info[0]);
  Napi::Float32Array out = Napi::Float32Array::New(env, model_->state_floats());
  guarded(env, [&] {
    s.read(slot, out.Data());
    return 0;
  });
  return out;
}

// releaseSlot(slot)
Napi::Value ModelWrap::ReleaseSlot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rwkv::StateSlots& s = slots(env);
  const int slot = slot_arg(env, info[0]);
  guarded(env, [&] {
    s.release(slot);
    return 0;
  });
  return env.Undefined();
}

// slotsOnDevice() -> boolean: whether slots live in device memory (CUDA) rather than host memory.
Napi::Value ModelWrap::SlotsOnDevice(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), slots(info.Env()).device_resident());
}

// forwardSlots([{ tokens: Int32Array, slot: number, logits: 'none'|'last'|'all' }, ...])
//   -> Promise<(Float32Array | null)[]>, each slot's state advanced where it lives.
Napi::Value ModelWrap::ForwardSlots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  slots(env);
  std::shared_ptr<rwkv::StateSlots> held = slots_;
  if (!info[0].IsArray()) throw_coded(env, rwkv::code::kArgument, "forwardSlots expects an array of streams");
  Napi::Array streams = info[0].As<Napi::Array>();
  const size_t n = streams.Length();
  const size_t vocab = static_cast<size_t>(model_->config().vocab_size);
  struct Job {
    std::vector<rwkv::SlotSequence> seqs;
    std::vector<std::vector<float>> logits;
  };
  auto job = std::make_shared<Job>();
  job->seqs.resize(n);
  job->logits.resize(n);
  std::vector<Napi::Value> hold;
  for (size_t i = 0; i < n; i++) {
    Napi::Value item = streams.Get(i);
    if (!item.IsObject()) throw_coded(env, rwkv::code::kArgument, "stream " + std::to_string(i) + " is not an object");
    Napi::Object s = item.As<Napi::Object>();
    Napi::Value tokens = s.Get("tokens");
    if (!tokens.IsTypedArray() || tokens.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw_coded(env, rwkv::code::kArgument, "stream " + std::to_string(i) + ": tokens must be an Int32Array");
    }
    auto t = tokens.As<Napi::Int32Array>();
    rwkv::SlotSequence& seq = job->seqs[i];
    seq.tokens = t.Data();
    seq.n_tokens = t.ElementLength();
    seq.slot = slot_arg(env, s.Get("slot"));
    seq.logits = logits_arg(env, s.Get("logits"));
    if (seq.logits == rwkv::LogitsMode::Last && seq.n_tokens == 0) {
      throw_coded(env, rwkv::code::kArgument, "stream " + std::to_string(i) + ": logits of the last position need at least one token");
    }
    const size_t want = seq.logits == rwkv::LogitsMode::All ? seq.n_tokens * vocab : seq.logits == rwkv::LogitsMode::Last ? vocab : 0;
    job->logits[i].resize(want);
    seq.logits_out = want ? job->logits[i].data() : nullptr;
    hold.push_back(tokens);
  }
  auto* worker = new PromiseWorker(
      env, [held, job] { held->forward(job->seqs); },
      [job](Napi::Env env) -> Napi::Value {
        Napi::Array out = Napi::Array::New(env, job->logits.size());
        for (size_t i = 0; i < job->logits.size(); i++) {
          auto& l = job->logits[i];
          if (l.empty()) {
            out.Set(i, env.Null());
            continue;
          }
          auto* owned = new std::vector<float>(std::move(l));
          auto ab = Napi::ArrayBuffer::New(env, owned->data(), owned->size() * sizeof(float),
                                           [](Napi::Env, void*, std::vector<float>* v) { delete v; }, owned);
          out.Set(i, Napi::Float32Array::New(env, owned->size(), ab, 0));
        }
        return out;
      });
  for (auto& v : hold) worker->Hold(v);
  worker->Queue();
  return worker->Promise();
}

}  // namespace rwkv_addon
