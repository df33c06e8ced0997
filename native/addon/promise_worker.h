// Runs engine work on libuv's thread pool and settles a Promise. Engine errors keep their stable code: the
// rejected Error gets `.code` (e.g. "E_MODEL_VERSION"), which the TypeScript layer maps to typed errors.
#pragma once
#include <napi.h>

#include <exception>
#include <functional>
#include <string>

#include "rwkv/error.h"

namespace rwkv_addon {

// Throws a JS Error carrying the engine code (for synchronous calls).
[[noreturn]] inline void throw_coded(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Value().Set("code", Napi::String::New(env, code));
  throw err;
}

// Calls fn, turning engine exceptions into coded JS errors.
template <typename Fn>
auto guarded(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const rwkv::Error& e) {
    throw_coded(env, e.code(), e.what());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw_coded(env, rwkv::code::kInternal, e.what());
  }
}

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // `work` runs off the event loop and must not touch JS values; `settle` runs on the JS thread afterwards
  // and builds the resolved value.
  PromiseWorker(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> settle)
      : Napi::AsyncWorker(env, "rwkvstream"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        settle_(std::move(settle)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Keeps JS objects (input buffers) alive until the promise settles.
  void Hold(Napi::Value v) {
    Napi::Array held = held_.Value();
    held.Set(held.Length(), v);
  }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const rwkv::Error& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = rwkv::code::kInternal;
      SetError(e.what());
    }
  }
  void OnOK() override {
    try {
      deferred_.Resolve(settle_(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::Object err = e.Value();
    err.Set("code", Napi::String::New(Env(), code_));
    deferred_.Reject(err);
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> settle_;
  std::string code_ = rwkv::code::kInternal;
  Napi::Reference<Napi::Array> held_ = Napi::Persistent(Napi::Array::New(Env()));
};

}  // namespace rwkv_addon
