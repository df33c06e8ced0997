// Module entry: thin glue between JavaScript and the engine core. Options are validated in TypeScript;
// here they are only read, copied into plain structs, and long work is queued off the event loop.
#include <napi.h>

#include <cstring>
#include <memory>

#include "addon_data.h"
#include "model_wrap.h"
#include "promise_worker.h"
#include "rwkv/model.h"
#include "rwkv/state_blob.h"
#include "rwkv/tensor_file.h"
#include "rwkv/tensor_writer.h"
#include "rwkv/tokenizer.h"
#include "tokenizer_wrap.h"

namespace rwkv_addon {
namespace {

std::string string_option(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : v.ToString().Utf8Value();
}

// loadModel(path, { weights: 'f32'|'bf16'|'f16'|'int8', threads: number, device: 'cpu'|'cuda'|'auto' }) ->
// Promise<Model>
Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_coded(env, rwkv::code::kArgument, "loadModel expects a model path");
  std::string path = info[0].ToString();
  Napi::Object o = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  rwkv::EngineOptions opts;
  std::string weights = string_option(o, "weights", "f32");
  if (weights == "f32")
    opts.weights = rwkv::WeightType::F32;
  else if (weights == "bf16")
    opts.weights = rwkv::WeightType::BF16;
  else if (weights == "f16")
    opts.weights = rwkv::WeightType::F16;
  else if (weights == "int8")
    opts.weights = rwkv::WeightType::I8;
  else
    throw_coded(env, rwkv::code::kArgument, "weights must be f32, bf16, f16 or int8, got " + weights);
  opts.device = string_option(o, "device", "cpu");
  Napi::Value threads = o.Get("threads");
  opts.threads = threads.IsNumber() ? threads.As<Napi::Number>().Int32Value() : 0;

  auto result = std::make_shared<std::shared_ptr<rwkv::Model>>();
  auto* worker = new PromiseWorker(
      env, [path, opts, result] { *result = rwkv::load_model(path, opts); },
      [result, opts](Napi::Env env) -> Napi::Value { return ModelWrap::Wrap(env, *result, opts.weights); });
  worker->Queue();
  return worker->Promise();
}

// inspectModel(path, { fingerprint?: boolean }) -> Promise<{ version, format, fileDtype, dtypes, nLayer, ... }>
// Off the event loop: the header of a multi-gigabyte .pth is read through its zip directory and pickle, and a
// fingerprint reads every byte.
Napi::Value InspectModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_coded(env, rwkv::code::kArgument, "inspectModel expects a model path");
  std::string path = info[0].ToString();
  const bool with_fingerprint = info[1].IsObject() && info[1].As<Napi::Object>().Get("fingerprint").ToBoolean().Value();
  auto result = std::make_shared<rwkv::ModelFileInfo>();
  auto* worker = new PromiseWorker(
      env, [path, with_fingerprint, result] { *result = rwkv::inspect_model(path, with_fingerprint); },
      [result](Napi::Env env) -> Napi::Value {
        const rwkv::ModelFileInfo& m = *result;
        const rwkv::ModelConfig& c = m.config;
        Napi::Object o = Napi::Object::New(env);
        o.Set("version", c.version);
        o.Set("format", c.format);
        o.Set("fileDtype", c.file_dtype);
        Napi::Array dtypes = Napi::Array::New(env, m.dtypes.size());
        for (size_t i = 0; i < m.dtypes.size(); i++) dtypes.Set(static_cast<uint32_t>(i), m.dtypes[i]);
        o.Set("dtypes", dtypes);
        o.Set("nLayer", c.n_layer);
        o.Set("nEmbd", c.n_embd);
        o.Set("nHead", c.n_head);
        o.Set("headSize", c.head_size);
        o.Set("vocabSize", c.vocab_size);
        o.Set("ffn", c.ffn);
        o.Set("ranks", ranks_array(env, c));
        o.Set("deepEmbedRank", m.deep_embed_rank);
        // Doubles hold integers exactly up to 2^53: far beyond any parameter count.
        o.Set("parameters", static_cast<double>(m.parameters));
        o.Set("tensors", static_cast<double>(m.tensors));
        o.Set("stateFloats", static_cast<double>(rwkv::state_floats(c)));
        if (!m.fingerprint.empty()) o.Set("fingerprint", m.fingerprint);
        return o;
      });
  worker->Queue();
  return worker->Promise();
}

Napi::Value LoadWorldTokenizer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_coded(env, rwkv::code::kArgument, "loadWorldTokenizer expects a vocab path");
  std::string path = info[0].ToString();
  auto result = std::make_shared<std::shared_ptr<rwkv::Tokenizer>>();
  auto* worker = new PromiseWorker(
      env, [path, result] { *result = rwkv::load_world_tokenizer(path); },
      [result](Napi::Env env) -> Napi::Value { return TokenizerWrap::Wrap(env, *result); });
  worker->Queue();
  return worker->Promise();
}

Napi::Value ByteTokenizer(const Napi::CallbackInfo& info) {
  return TokenizerWrap::Wrap(info.Env(), rwkv::make_byte_tokenizer());
}

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rwkv::Capabilities c = rwkv::capabilities();
  Napi::Object o = Napi::Object::New(env);
  o.Set("avx2", c.avx2);
  o.Set("avx512f", c.avx512f);
  o.Set("avx512bf16", c.avx512bf16);
  o.Set("cudaCompiled", c.cuda_compiled);
  o.Set("cudaDevices", c.cuda_devices);
  o.Set("cudaError", c.cuda_error);
  o.Set("cudaDriverVersion", c.cuda_driver_version);
  o.Set("cudaRuntimeVersion", c.cuda_runtime_version);
  Napi::Array devices = Napi::Array::New(env, c.cuda_device_info.size());
  for (size_t i = 0; i < c.cuda_device_info.size(); i++) {
    const rwkv::CudaDeviceInfo& d = c.cuda_device_info[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("name", d.name);
    x.Set("computeCapability", std::to_string(d.sm_major) + "." + std::to_string(d.sm_minor));
    x.Set("totalBytes", static_cast<double>(d.total_bytes));
    x.Set("freeBytes", static_cast<double>(d.free_bytes));
    devices.Set(static_cast<uint32_t>(i), x);
  }
  o.Set("cudaDeviceInfo", devices);
  return o;
}

rwkv::StateInfo state_info_arg(const Napi::Object& o) {
  rwkv::StateInfo s;
  s.version = o.Get("version").ToString();
  s.model_fingerprint = o.Get("modelFingerprint").ToString();
  Napi::Value tok = o.Get("tokenizerFingerprint");
  s.tokenizer_fingerprint = tok.IsString() ? tok.ToString().Utf8Value() : "";
  s.n_layer = o.Get("nLayer").ToNumber().Uint32Value();
  s.n_embd = o.Get("nEmbd").ToNumber().Uint32Value();
  s.n_head = o.Get("nHead").ToNumber().Uint32Value();
  s.head_size = o.Get("headSize").ToNumber().Uint32Value();
  s.tokens = static_cast<uint64_t>(o.Get("tokens").ToNumber().Int64Value());
  return s;
}

Napi::Object state_info_object(Napi::Env env, const rwkv::StateInfo& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("format", s.format);
  o.Set("version", s.version);
  o.Set("modelFingerprint", s.model_fingerprint);
  o.Set("tokenizerFingerprint", s.tokenizer_fingerprint);
  o.Set("nLayer", s.n_layer);
  o.Set("nEmbd", s.n_embd);
  o.Set("nHead", s.n_head);
  o.Set("headSize", s.head_size);
  o.Set("tokens", static_cast<double>(s.tokens));
  return o;
}

// encodeStateBlob(info, state: Float32Array) -> Buffer
Napi::Value EncodeStateBlob(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw_coded(env, rwkv::code::kArgument, "encodeStateBlob expects (info, Float32Array)");
  }
  auto state = info[1].As<Napi::Float32Array>();
  return guarded(env, [&] {
    rwkv::StateInfo s = state_info_arg(info[0].As<Napi::Object>());
    s.n_floats = state.ElementLength();
    auto buf = Napi::Buffer<uint8_t>::New(env, rwkv::state_blob_size(s.n_floats));
    rwkv::encode_state_blob(s, state.Data(), buf.Data());
    return buf;
  });
}

// decodeStateBlob(blob: Uint8Array, expected?: info) -> { info, state: Float32Array (a copy) }
Napi::Value DecodeStateBlob(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw_coded(env, rwkv::code::kArgument, "decodeStateBlob expects a Buffer");
  }
  auto blob = info[0].As<Napi::Uint8Array>();
  return guarded(env, [&] {
    const float* payload = nullptr;
    rwkv::StateInfo s = rwkv::decode_state_blob(blob.Data(), blob.ByteLength(), &payload);
    if (info[1].IsObject()) {
      rwkv::StateInfo want = state_info_arg(info[1].As<Napi::Object>());
      want.n_floats = info[1].As<Napi::Object>().Get("stateFloats").ToNumber().Int64Value();
      rwkv::check_state_matches(s, want);
    }
    auto state = Napi::Float32Array::New(env, s.n_floats);
    std::memcpy(state.Data(), payload, s.n_floats * sizeof(float));
    Napi::Object out = Napi::Object::New(env);
    out.Set("info", state_info_object(env, s));
    out.Set("state", state);
    return out;
  });
}

// writeRandomModel(path, { layers, embd, vocab, ffn, headSize, rankW, rankA, rankV, rankG }, seed) -> Promise<void>
// A random x070 model of any official shape as safetensors, for benchmarks at real sizes.
Napi::Value WriteRandomModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsObject())
    throw_coded(env, rwkv::code::kArgument, "writeRandomModel expects (path, shape, seed)");
  std::string path = info[0].ToString();
  Napi::Object o = info[1].As<Napi::Object>();
  rwkv::RandomModelShape shape;
  auto dim = [&](const char* key, int& field) {
    Napi::Value v = o.Get(key);
    if (v.IsNumber()) field = v.As<Napi::Number>().Int32Value();
  };
  dim("layers", shape.n_layer);
  dim("embd", shape.n_embd);
  dim("headSize", shape.head_size);
  dim("vocab", shape.vocab_size);
  dim("ffn", shape.ffn);
  dim("rankW", shape.rank_w);
  dim("rankA", shape.rank_a);
  dim("rankV", shape.rank_v);
  dim("rankG", shape.rank_g);
  uint64_t seed = info[2].IsNumber() ? static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value()) : 1;
  auto* worker = new PromiseWorker(
      env,
      [path, shape, seed] {
        auto tensors = rwkv::random_rwkv7_tensors(shape, seed);
        rwkv::write_safetensors(path, tensors->tensors(), {{"format", "pt"}, {"generator", "rwkvstream random-model"}});
      },
      [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
  worker->Queue();
  return worker->Promise();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("Model", ModelWrap::Init(env));
  exports.Set("Tokenizer", TokenizerWrap::Init(env));
  exports.Set("loadModel", Napi::Function::New<LoadModel>(env, "loadModel"));
  exports.Set("inspectModel", Napi::Function::New<InspectModel>(env, "inspectModel"));
  exports.Set("loadWorldTokenizer", Napi::Function::New<LoadWorldTokenizer>(env, "loadWorldTokenizer"));
  exports.Set("byteTokenizer", Napi::Function::New<ByteTokenizer>(env, "byteTokenizer"));
  exports.Set("capabilities", Napi::Function::New<Capabilities>(env, "capabilities"));
  exports.Set("encodeStateBlob", Napi::Function::New<EncodeStateBlob>(env, "encodeStateBlob"));
  exports.Set("decodeStateBlob", Napi::Function::New<DecodeStateBlob>(env, "decodeStateBlob"));
  exports.Set("writeRandomModel", Napi::Function::New<WriteRandomModel>(env, "writeRandomModel"));
  return exports;
}

}  // namespace rwkv_addon

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return rwkv_addon::Init(env, exports); }
NODE_API_MODULE(rwkv, InitModule)
