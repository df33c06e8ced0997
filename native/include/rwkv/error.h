// Engine errors: every failure that crosses the C++ API carries a stable code, so the addon can hand it to
// TypeScript unchanged and tests can assert on it.
#pragma once
#include <stdexcept>
#include <string>

namespace rwkv {

// Stable error codes (also the `code` of the JavaScript error).
namespace code {
inline constexpr const char* kIo = "E_IO";                                  // cannot open/read/write a file
inline constexpr const char* kModelFormat = "E_MODEL_FORMAT";               // not a model container we understand
inline constexpr const char* kModelTruncated = "E_MODEL_TRUNCATED";         // container cut short
inline constexpr const char* kModelLegacyPickle = "E_MODEL_LEGACY_PICKLE";  // pre-1.6 torch.save
inline constexpr const char* kModelDtype = "E_MODEL_DTYPE";                 // tensor dtype we do not accept
inline constexpr const char* kModelVersion = "E_MODEL_VERSION";             // RWKV version not supported
inline constexpr const char* kModelShape = "E_MODEL_SHAPE";                 // missing tensor / inconsistent shapes
inline constexpr const char* kModelLimit = "E_MODEL_LIMIT";  // file would cost more memory than its size allows
inline constexpr const char* kTokenizer = "E_TOKENIZER";     // bad vocab file
inline constexpr const char* kTokenizerMismatch = "E_TOKENIZER_MISMATCH";  // tokenizer does not fit the model
inline constexpr const char* kToken = "E_TOKEN";                           // token id out of range
inline constexpr const char* kState = "E_STATE";                           // corrupt state blob
inline constexpr const char* kStateMismatch = "E_STATE_MISMATCH";          // state from another model/tokenizer
inline constexpr const char* kArgument = "E_ARGUMENT";                     // bad argument to an API call
inline constexpr const char* kDevice = "E_DEVICE";                         // device unavailable (e.g. no CUDA)
inline constexpr const char* kNoDevice = "E_NO_DEVICE";                    // no usable CUDA device (none, or no driver)
inline constexpr const char* kDriver = "E_CUDA_DRIVER";          // the NVIDIA driver is older than the build needs
inline constexpr const char* kSlot = "E_SLOT";                   // a state slot not held, or used twice in a call
inline constexpr const char* kDeviceMemory = "E_DEVICE_MEMORY";  // device memory exhausted (sizes in the message)
inline constexpr const char* kInternal = "E_INTERNAL";
}  // namespace code

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

}  // namespace rwkv
