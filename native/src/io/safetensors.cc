// safetensors: u64 header length, a JSON header {name: {dtype, shape, data_offsets}}, then the data buffer.
#include <algorithm>
#include <set>

#include "io/byte_order.h"
#include "io/io_error.h"
#include "io/json.h"
#include "io/readers.h"

namespace rwkv::io {

namespace {

using JK = JsonValue::Kind;

// The same bound as the reference implementation: a header this large is corrupt, not a model.
constexpr uint64_t kMaxHeader = 100u << 20;

bool dtype_from_string(const std::string& s, DType* out) {
  if (s == "F32")
    *out = DType::F32;
  else if (s == "F16")
    *out = DType::F16;
  else if (s == "BF16")
    *out = DType::BF16;
  else
    return false;
  return true;
}

uint64_t index_field(const std::string& path, const std::string& name, const char* what, const JsonValue& v) {
  if (v.kind != JK::Number || !v.is_uint) {
    fail(code::kModelFormat, path,
         "tensor " + quoted(name) + ": expected a non-negative integer in " + what + ", found a " +
             (v.kind == JK::Number ? "negative, fractional or huge number" : std::string(kind_name(v.kind))));
  }
  return v.u;
}

struct Span {
  uint64_t begin, end;
  const std::string* name;
};

}  // namespace

std::unique_ptr<LoadedTensorFile> read_safetensors(std::shared_ptr<const MappedFile> file) {
  const std::string& path = file->path();
  const uint8_t* d = file->data();
  const uint64_t n = file->size();
  if (n < 8) {
    fail(code::kModelTruncated, path,
         "expected an 8-byte safetensors header length, found " + std::to_string(n) + " bytes");
  }
  uint64_t header_len = le64(d);
  if (header_len > kMaxHeader) {
    fail(code::kModelFormat, path,
         "expected a safetensors header of at most 100 MiB, found a length field of " + std::to_string(header_len));
  }
  if (header_len > n - 8) {
    fail(code::kModelTruncated, path,
         "expected a " + std::to_string(header_len) + "-byte safetensors header, found only " + std::to_string(n - 8) +
             " bytes after the length; the file is cut short");
  }
  auto out = std::make_unique<LoadedTensorFile>("safetensors", path, n);
  out->keep_alive(file);
  std::string_view text(reinterpret_cast<const char*>(d + 8), static_cast<size_t>(header_len));
  JsonValue header = parse_json(text, path + ": safetensors header", out->budget());
  if (header.kind != JK::Object) {
    fail(code::kModelFormat, path,
         std::string("expected the safetensors header to be a JSON object, found a ") + kind_name(header.kind));
  }
  const uint8_t* buffer = d + 8 + header_len;
  const uint64_t buffer_len = n - 8 - header_len;

  std::vector<Span> spans;
  out->budget().charge(header.object.size() * sizeof(Span), "the tensor table");
  spans.reserve(header.object.size());
  for (const auto& [name, info] : header.object) {
    if (name == "__metadata__") {
      if (info.kind != JK::Object) {
        fail(code::kModelFormat, path,
             std::string("expected __metadata__ to be an object of strings, found a ") + kind_name(info.kind));
      }
      for (const auto& [k, v] : info.object) {
        if (v.kind != JK::String) {
          fail(code::kModelFormat, path,
               "__metadata__ " + quoted(k) + ": expected a string, found a " + kind_name(v.kind));
        }
      }
      continue;
    }
    if (info.kind != JK::Object) {
      fail(code::kModelFormat, path,
           "tensor " + quoted(name) + ": expected an object, found a " + kind_name(info.kind));
    }
    const JsonValue* dtype = info.get("dtype");
    const JsonValue* shape = info.get("shape");
    const JsonValue* offsets = info.get("data_offsets");
    if (!dtype || dtype->kind != JK::String || !shape || shape->kind != JK::Array || !offsets ||
        offsets->kind != JK::Array || offsets->array.size() != 2) {
      fail(code::kModelFormat, path,
           "tensor " + quoted(name) +
               ": expected \"dtype\" (string), \"shape\" (array) and \"data_offsets\" ([begin, end])");
    }
    TensorView view;
    if (!dtype_from_string(dtype->str, &view.dtype)) {
      fail(code::kModelDtype, path,
           "tensor " + quoted(name) + " has dtype " + quoted(dtype->str) + "; expected F32, F16 or BF16");
    }
    for (const auto& dim : shape->array) {
      uint64_t v = index_field(path, name, "shape", dim);
      if (v > static_cast<uint64_t>(INT64_MAX))
        fail(code::kModelFormat, path, "tensor " + quoted(name) + ": dimension too large");
      view.shape.push_back(static_cast<int64_t>(v));
    }
    uint64_t begin = index_field(path, name, "data_offsets", offsets->array[0]);
    uint64_t end = index_field(path, name, "data_offsets", offsets->array[1]);
    uint64_t nbytes = 0;
    if (!shape_bytes(view.shape, view.dtype, &nbytes)) {
      fail(code::kModelFormat, path, "tensor " + quoted(name) + ": shape " + shape_str(view.shape) + " is too large");
    }
    if (begin > end || end - begin != nbytes) {
      fail(code::kModelFormat, path,
           "tensor " + quoted(name) + " (" + dtype->str + ", shape " + shape_str(view.shape) +
               "): expected data_offsets " + "spanning " + std::to_string(nbytes) + " bytes, found [" +
               std::to_string(begin) + ", " + std::to_string(end) + "]");
    }
    if (end > buffer_len) {
      fail(code::kModelTruncated, path,
           "tensor " + quoted(name) + ": expected data up to byte " + std::to_string(end) +
               " of the data buffer, found a " + std::to_string(buffer_len) + "-byte buffer; the file is cut short");
    }
    view.data = buffer + begin;
    spans.push_back({begin, end, &name});
    out->add(name, std::move(view));
  }
  // Like the reference implementation, require the tensors to tile the buffer exactly: a gap or an overlap
  // means the header and the data disagree.
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t at = 0;
  for (const auto& s : spans) {
    if (s.begin != at) {
      fail(code::kModelFormat, path,
           "tensor " + quoted(*s.name) + ": expected its data to start at byte " + std::to_string(at) +
               " (right after the previous tensor), found " + std::to_string(s.begin));
    }
    at = s.end;
  }
  if (at != buffer_len) {
    fail(code::kModelFormat, path,
         "expected the tensors to cover the " + std::to_string(buffer_len) + "-byte data buffer, found " +
             std::to_string(buffer_len - at) + " bytes after the last tensor");
  }
  return out;
}

std::unique_ptr<LoadedTensorFile> read_safetensors_index(std::shared_ptr<const MappedFile> index) {
  const std::string& path = index->path();
  std::string_view text(reinterpret_cast<const char*>(index->data()), index->size());
  auto out = std::make_unique<LoadedTensorFile>("safetensors", path, index->size());
  JsonValue doc = parse_json(text, path, out->budget());
  const JsonValue* map = doc.kind == JK::Object ? doc.get("weight_map") : nullptr;
  if (!map || map->kind != JK::Object) {
    fail(code::kModelFormat, path,
         "expected a safetensors index (a JSON object with a \"weight_map\" object), found other JSON");
  }
  std::set<std::string> shards;
  for (const auto& [name, shard] : map->object) {
    if (shard.kind != JK::String) {
      fail(code::kModelFormat, path,
           "weight_map " + quoted(name) + ": expected a shard file name, found a " + kind_name(shard.kind));
    }
    // Shards live next to the index; a name with a directory part would let a downloaded index read any file.
    if (shard.str.empty() || shard.str.find('/') != std::string::npos || shard.str == "." || shard.str == "..") {
      fail(code::kModelFormat, path,
           "weight_map " + quoted(name) + ": expected a plain file name, found " + quoted(shard.str));
    }
    if (shards.insert(shard.str).second) out->budget().charge(shard.str.size() + 64, "the shard list");
  }
  std::string dir;
  if (auto slash = path.rfind('/'); slash != std::string::npos) dir = path.substr(0, slash + 1);
  for (const auto& shard : shards) {
    auto part = read_safetensors(std::make_shared<const MappedFile>(dir + shard));
    for (const auto& [name, shard_name] : map->object) {
      if (shard_name.str == shard && !part->tensors().count(name)) {
        fail(code::kModelFormat, path,
             "weight_map puts " + quoted(name) + " in " + quoted(shard) + ", but that shard has no such tensor");
      }
    }
    out->absorb(std::move(*part));
  }
  return out;
}

}  // namespace rwkv::io
