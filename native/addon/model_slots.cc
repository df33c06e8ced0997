// The Model class's resident state slots (rwkv/state_slots.h): a slot id per stream, its state kept where
// the model computes. acquireSlot/writeSlot/readSlot/releaseSlot are synchronous copies of one state (a
// 7B model's is ~35 MB: milliseconds); forwardSlots runs on the thread pool like forward().
#include <memory>
#include <string>
#include <vector>

#include "model_wrap.h"
#include "promise_worker.h"
#include "stream_args.h"

namespace rwkv_addon {

namespace {

int slot_arg(Napi::Env env, const Napi::Value& v) {
  if (!v.IsNumber()) throw_coded(env, rwkv::code::kSlot, "a state slot id must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 1e9 || d != static_cast<int>(d))
    throw_coded(env, rwkv::code::kSlot, "bad state slot id " + std::to_string(d));
  return static_cast<int>(d);
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
  const float* state = info[0].IsUndefined() ? nullptr : state_arg(env, info[0], model_->state_floats(), "the state");
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
  const float* state = state_arg(env, info[1], model_->state_floats(), "the state");
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
    const StreamArg s = stream_arg(env, streams, i);
    rwkv::SlotSequence& seq = job->seqs[i];
    seq.tokens = s.tokens.Data();
    seq.n_tokens = s.tokens.ElementLength();
    seq.slot = slot_arg(env, s.object.Get("slot"));
    seq.logits = logits_field(env, i, s.object, seq.n_tokens, vocab, job->logits[i], &seq.logits_out);
    hold.push_back(s.tokens);
  }
  auto* worker = new PromiseWorker(
      env, [held, job] { held->forward(job->seqs); },
      [job](Napi::Env env) -> Napi::Value { return logits_result(env, job->logits); });
  for (auto& v : hold) worker->Hold(v);
  worker->Queue();
  return worker->Promise();
}

}  // namespace rwkv_addon
