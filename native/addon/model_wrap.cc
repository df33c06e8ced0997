// JS class `Model`: a loaded engine model. forward() takes typed arrays, runs on the thread pool, and writes
// each stream's new state into the caller's Float32Array in place (no copies of multi-megabyte states).
#include "model_wrap.h"

#include <memory>
#include <vector>

#include "addon_data.h"
#include "promise_worker.h"
#include "rwkv/model.h"
#include "stream_args.h"

namespace rwkv_addon {

namespace {

const char* weight_name(rwkv::WeightType w) {
  switch (w) {
    case rwkv::WeightType::F32: return "f32";
    case rwkv::WeightType::BF16: return "bf16";
    case rwkv::WeightType::F16: return "f16";
    case rwkv::WeightType::I8: return "int8";
  }
  return "?";
}

}  // namespace

Napi::Array ranks_array(Napi::Env env, const rwkv::ModelConfig& c) {
  Napi::Array ranks = Napi::Array::New(env, c.ranks.size());
  for (size_t i = 0; i < c.ranks.size(); i++) {
    Napi::Object r = Napi::Object::New(env);
    r.Set("w", c.ranks[i].w);
    r.Set("a", c.ranks[i].a);
    r.Set("v", c.ranks[i].v);
    r.Set("g", c.ranks[i].g);
    if (c.version == "x060") r.Set("mix", c.ranks[i].mix);  // x060's token-shift LoRA width
    ranks.Set(i, r);
  }
  return ranks;
}

Napi::Function ModelWrap::Init(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Model",
                                  {
                                      InstanceMethod<&ModelWrap::Info>("info"),
                                      InstanceMethod<&ModelWrap::Forward>("forward"),
                                      InstanceMethod<&ModelWrap::InitialState>("initialState"),
                                      InstanceMethod<&ModelWrap::ReadStateTuning>("readStateTuning"),
                                      InstanceMethod<&ModelWrap::Dispose>("dispose"),
                                      InstanceMethod<&ModelWrap::AcquireSlot>("acquireSlot"),
                                      InstanceMethod<&ModelWrap::WriteSlot>("writeSlot"),
                                      InstanceMethod<&ModelWrap::ReadSlot>("readSlot"),
                                      InstanceMethod<&ModelWrap::ReleaseSlot>("releaseSlot"),
                                      InstanceMethod<&ModelWrap::ForwardSlots>("forwardSlots"),
                                      InstanceMethod<&ModelWrap::SlotsOnDevice>("slotsOnDevice"),
                                  });
  addon_data(env).model_ctor = Napi::Persistent(fn);
  return fn;
}

Napi::Object ModelWrap::Wrap(Napi::Env env, std::shared_ptr<rwkv::Model> model, rwkv::WeightType weights) {
  Napi::Object obj = addon_data(env).model_ctor.New({});
  auto* self = Napi::ObjectWrap<ModelWrap>::Unwrap(obj);
  self->model_ = std::move(model);
  self->weights_ = weights;
  return obj;
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {}

std::shared_ptr<rwkv::Model> ModelWrap::live(Napi::Env env) const {
  if (!model_) throw_coded(env, rwkv::code::kArgument, "model has been disposed");
  return model_;
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  const auto& c = model->config();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", c.version);
  o.Set("format", c.format);
  o.Set("fileDtype", c.file_dtype);
  o.Set("weights", weight_name(weights_));
  o.Set("nLayer", c.n_layer);
  o.Set("nEmbd", c.n_embd);
  o.Set("nHead", c.n_head);
  o.Set("headSize", c.head_size);
  o.Set("vocabSize", c.vocab_size);
  o.Set("ffn", c.ffn);
  o.Set("ranks", ranks_array(env, c));
  o.Set("fingerprint", model->fingerprint());
  o.Set("device", model->device());
  o.Set("stateFloats", static_cast<double>(model->state_floats()));
  return o;
}

// forward([{ tokens: Int32Array, state: Float32Array, logits: 'none'|'last'|'all' }, ...])
//   -> Promise<(Float32Array | null)[]>, states updated in place.
Napi::Value ModelWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  if (!info[0].IsArray()) throw_coded(env, rwkv::code::kArgument, "forward expects an array of streams");
  Napi::Array streams = info[0].As<Napi::Array>();
  const size_t n = streams.Length();
  const size_t state_floats = model->state_floats();
  const size_t vocab = static_cast<size_t>(model->config().vocab_size);

  struct Job {
    std::vector<rwkv::Sequence> seqs;
    std::vector<std::vector<float>> logits;
  };
  auto job = std::make_shared<Job>();
  job->seqs.resize(n);
  job->logits.resize(n);
  std::vector<Napi::Value> hold;
  for (size_t i = 0; i < n; i++) {
    const StreamArg s = stream_arg(env, streams, i);
    Napi::Value state = s.object.Get("state");
    rwkv::Sequence& seq = job->seqs[i];
    seq.tokens = s.tokens.Data();
    seq.n_tokens = s.tokens.ElementLength();
    seq.state = state_arg(env, state, state_floats, "stream " + std::to_string(i) + ": state");
    seq.logits = logits_field(env, i, s.object, seq.n_tokens, vocab, job->logits[i], &seq.logits_out);
    hold.push_back(s.tokens);
    hold.push_back(state);
  }

  auto* worker = new PromiseWorker(
      env, [model, job] { model->forward(job->seqs); },
      [job](Napi::Env env) -> Napi::Value { return logits_result(env, job->logits); });
  for (auto& v : hold) worker->Hold(v);
  worker->Queue();
  return worker->Promise();
}

// initialState() -> Float32Array: the state a document starts from (the version's official zero state, or
// the tuned state a state-tuned model file carries).
Napi::Value ModelWrap::InitialState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  std::vector<float> state(model->state_floats());
  model->initial_state(state.data());
  return owned_floats(env, std::move(state));
}

// readStateTuning(path) -> Promise<Float32Array>: a state-tuning file (blocks.{i}.att.time_state) as a state
// of this model, read off the event loop.
Napi::Value ModelWrap::ReadStateTuning(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto model = live(env);
  if (!info[0].IsString()) throw_coded(env, rwkv::code::kArgument, "readStateTuning expects a file path");
  auto path = std::make_shared<std::string>(info[0].As<Napi::String>().Utf8Value());
  auto state = std::make_shared<std::vector<float>>(model->state_floats());
  auto* worker = new PromiseWorker(
      env, [model, path, state] { rwkv::read_state_tuning(*path, model->config(), state->data()); },
      [state](Napi::Env env) -> Napi::Value { return owned_floats(env, std::move(*state)); });
  worker->Queue();
  return worker->Promise();
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  slots_.reset();
  model_.reset();
  return info.Env().Undefined();
}

}  // namespace rwkv_addon
