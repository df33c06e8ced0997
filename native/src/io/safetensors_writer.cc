#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "rwkv/error.h"
#include "rwkv/tensor_writer.h"

namespace rwkv {
namespace {

const char* safetensors_dtype(DType d) {
  switch (d) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::Bool: return "BOOL";
  }
  return "U8";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

[[noreturn]] void io_fail(const std::string& what, const std::string& path) {
  throw Error(code::kIo, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

void write_safetensors(const std::string& path, const std::map<std::string, TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (auto it = metadata.begin(); it != metadata.end(); ++it) {
      if (it != metadata.begin()) header += ",";
      header += json_string(it->first) + ":" + json_string(it->second);
    }
    header += "}";
    first = false;
  }
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (!first) header += ",";
    first = false;
    header += json_string(name) + ":{\"dtype\":\"" + safetensors_dtype(t.dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); i++) header += (i ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + t.nbytes()) + "]}";
    offset += t.nbytes();
  }
  header += "}";
  // Pad with spaces so the data starts 8-byte aligned (readers may then map tensors in place).
  while ((8 + header.size()) % 8 != 0) header += ' ';

  const std::string tmp = path + ".partial";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) io_fail("cannot create", tmp);
  uint64_t n = header.size();
  bool ok = std::fwrite(&n, 8, 1, f) == 1 && std::fwrite(header.data(), 1, header.size(), f) == header.size();
  for (const auto& [name, t] : tensors) {
    if (!ok) break;
    ok = std::fwrite(t.data, 1, t.nbytes(), f) == t.nbytes();
  }
  if (std::fclose(f) != 0) ok = false;
  if (!ok) {
    std::remove(tmp.c_str());
    io_fail("cannot write", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) io_fail("cannot rename to", path);
}

}  // namespace rwkv
