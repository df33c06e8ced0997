// TensorFile::open: the container is recognised by its first bytes, never by the file name.
#include <cstring>

#include "io/byte_order.h"
#include "io/io_error.h"
#include "io/names.h"
#include "io/readers.h"

namespace rwkv {

namespace {

// torch.save before 1.6 wrote a bare pickle stream that starts with this magic number (as a LONG1).
constexpr uint8_t kLegacyTorchMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                         0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

// A plausible header length followed by '{'. The length may exceed the file: the reader then reports a cut.
bool is_safetensors(const uint8_t* d, size_t n) {
  if (n < 9) return false;
  uint64_t len = io::le64(d);
  if (len < 2 || len > (100u << 20)) return false;
  size_t i = 8;
  while (i < n && d[i] == ' ') i++;
  return i < n && d[i] == '{';
}

bool is_json(const uint8_t* d, size_t n) {
  size_t i = 0;
  while (i < n && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t')) i++;
  return i < n && d[i] == '{';
}

}  // namespace

namespace io {

std::unique_ptr<LoadedTensorFile> read_any(std::shared_ptr<const MappedFile> file) {
  const std::string& path = file->path();
  const uint8_t* d = file->data();
  const size_t n = file->size();
  if (n == 0) io::fail(code::kModelTruncated, path, "expected a model file, found an empty file");

  std::unique_ptr<io::LoadedTensorFile> out;
  if (n >= 4 && std::memcmp(d, "PK\x03\x04", 4) == 0) {
    out = io::read_pth(file);
  } else if (n >= 4 && io::le32(d) == 0x67676d66) {
    out = io::read_ggml(file);
  } else if (n >= sizeof kLegacyTorchMagic && std::memcmp(d, kLegacyTorchMagic, sizeof kLegacyTorchMagic) == 0) {
    io::fail(code::kModelLegacyPickle, path,
             "expected a zip-based torch.save file (PyTorch >= 1.6), found the legacy pickle format; load and re-save "
             "it with a current PyTorch (torch.save(torch.load(f), f2))");
  } else if (n >= 4 && std::memcmp(d, "GGUF", 4) == 0) {
    io::fail(
        code::kModelFormat, path,
        "expected a .pth, safetensors or rwkv.cpp .bin file, found a GGUF file (llama.cpp), which is not supported");
  } else if (is_safetensors(d, n)) {
    // Checked before the bare-pickle test: a header length such as 640 also starts with the bytes 80 02.
    out = io::read_safetensors(file);
  } else if (n >= 2 && d[0] == 0x80 && d[1] >= 2 && d[1] <= 5) {
    io::fail(code::kModelFormat, path,
             "expected a model container, found a bare pickle stream (not a torch.save zip archive)");
  } else if (is_json(d, n)) {
    out = io::read_safetensors_index(file);
  } else if (n < 24) {
    // Shorter than any container's fixed header: most likely the start of a cut download.
    io::fail(code::kModelTruncated, path,
             "expected a model file, found only " + std::to_string(n) + " bytes (" + io::hex_bytes(d, n) + ")");
  } else {
    io::fail(code::kModelFormat, path,
             "expected a PyTorch .pth (starting 50 4b 03 04), safetensors (header length + '{') or rwkv.cpp .bin "
             "(66 6d 67 67), found bytes " +
                 io::hex_bytes(d, 16));
  }
  io::normalize_names(*out);
  return out;
}

}  // namespace io

std::unique_ptr<TensorFile> TensorFile::open(const std::string& path) {
  return io::read_any(std::make_shared<const io::MappedFile>(path));
}

}  // namespace rwkv
