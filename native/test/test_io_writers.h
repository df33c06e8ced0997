// Writers for the model-file tests: temporary files, a byte builder, a pickle emitter, a ZIP writer (with
// torch's padding, data descriptors and Zip64), and small .pth / safetensors / ggml writers, so tests can
// build exactly the odd or broken files they need.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "check.h"
#include "rwkv/error.h"
#include "rwkv/tensor_file.h"

namespace iotest {

// A file under /tmp that is removed when the object goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& suffix) {
    static int counter = 0;
    path_ = "/tmp/rwkv_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + suffix;
  }
  TempFile(const std::string& dir, const std::string& name) : path_(dir + "/" + name) {}
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  void write(const void* data, size_t n) const {
    // A fresh file rather than truncating the old one: ext4 flushes a file truncated and rewritten in place on
    // close, which makes thousands of rewrites slow.
    ::unlink(path_.c_str());
    FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", path_.c_str());
      std::exit(2);
    }
    if (n) std::fwrite(data, 1, n, f);
    std::fclose(f);
  }
  template <typename V>
  void write(const V& bytes) const {
    write(bytes.data(), bytes.size());
  }

 private:
  std::string path_;
};

// A directory under /tmp removed (with its files) by the caller's TempFile objects and then itself.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rwkv_io_test_dir_XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (!p) {
      std::fprintf(stderr, "mkdtemp failed\n");
      std::exit(2);
    }
    path_ = p;
  }
  ~TempDir() { ::rmdir(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Bytes {
  std::vector<uint8_t> b;
  Bytes& u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Bytes& u16(uint16_t v) { return raw(&v, 2); }
  Bytes& u32(uint32_t v) { return raw(&v, 4); }
  Bytes& u64(uint64_t v) { return raw(&v, 8); }
  Bytes& i32(int32_t v) { return raw(&v, 4); }
  Bytes& raw(const void* p, size_t n) {
    auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    return *this;
  }
  Bytes& str(const std::string& s) { return raw(s.data(), s.size()); }
  Bytes& bytes(const std::vector<uint8_t>& v) { return raw(v.data(), v.size()); }
  size_t size() const { return b.size(); }
};

inline uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// Pickle opcodes as torch (protocol 2) and Python (protocol 4) write them.
struct Pickle {
  Bytes out;
  Pickle& op(uint8_t c) {
    out.u8(c);
    return *this;
  }
  Pickle& proto(int v) { return op(0x80).op(static_cast<uint8_t>(v)); }
  Pickle& global(const std::string& module, const std::string& name) {
    op('c');
    out.str(module + "\n" + name + "\n");
    return *this;
  }
  Pickle& mark() { return op('('); }
  Pickle& tuple() { return op('t'); }
  Pickle& empty_tuple() { return op(')'); }
  Pickle& empty_dict() { return op('}'); }
  Pickle& reduce() { return op('R'); }
  Pickle& setitems() { return op('u'); }
  Pickle& setitem() { return op('s'); }
  Pickle& build() { return op('b'); }
  Pickle& persid() { return op('Q'); }
  Pickle& stop() { return op('.'); }
  Pickle& newfalse() { return op(0x89); }
  Pickle& newtrue() { return op(0x88); }
  Pickle& none() { return op('N'); }
  Pickle& unicode(const std::string& s) {
    op('X');
    out.u32(static_cast<uint32_t>(s.size())).str(s);
    return *this;
  }
  Pickle& integer(int64_t v) {
    if (v >= 0 && v < 256) return op('K').op(static_cast<uint8_t>(v));
    if (v >= 0 && v < 65536) {
      op('M');
      out.u16(static_cast<uint16_t>(v));
      return *this;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      out.i32(static_cast<int32_t>(v));
      return *this;
    }
    op(0x8a).op(8);
    out.u64(static_cast<uint64_t>(v));
    return *this;
  }
  Pickle& ints(const std::vector<int64_t>& v) {
    mark();
    for (auto x : v) integer(x);
    return tuple();
  }
  Pickle& ordered_dict() { return global("collections", "OrderedDict").empty_tuple().reduce(); }
};

struct PthTensor {
  std::string name;
  std::string storage_type;  // "FloatStorage", "BFloat16Storage", ...
  std::string key;           // storage key (several tensors may share one)
  int64_t storage_numel = 0;
  int64_t offset = 0;
  std::vector<int64_t> shape, stride;
};

inline std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

// The tensor part of a torch state-dict pickle: key, _rebuild_tensor_v2(storage, offset, size, stride, False, {}).
inline void pickle_tensor(Pickle& p, const PthTensor& t) {
  p.unicode(t.name);
  p.global("torch._utils", "_rebuild_tensor_v2");
  p.mark();
  p.mark()
      .unicode("storage")
      .global("torch", t.storage_type)
      .unicode(t.key)
      .unicode("cpu")
      .integer(t.storage_numel)
      .tuple();
  p.persid();
  p.integer(t.offset).ints(t.shape).ints(t.stride).newfalse().ordered_dict();
  p.tuple().reduce();
}

inline std::vector<uint8_t> state_dict_pickle(const std::vector<PthTensor>& tensors) {
  Pickle p;
  p.proto(2).ordered_dict().mark();
  for (const auto& t : tensors) pickle_tensor(p, t);
  p.setitems().stop();
  return p.out.b;
}

struct ZipOptions {
  bool data_descriptors = true;  // torch: flag 0x0808, zero sizes in local headers, descriptor after the data
  bool zip64_end = true;         // torch always writes the Zip64 end record and locator
  uint16_t method = 0;           // 0 stored; anything else makes a (fake) compressed entry
};

// A ZIP archive written straight to a file with pwrite; an entry may be a run of `hole` zero bytes that is never
// written (a sparse region), so archives far beyond 4 GiB cost no disk space.
class ZipWriter {
 public:
  void add(const std::string& name, std::vector<uint8_t> data) { entries_.push_back({name, std::move(data), 0, 0}); }
  void add_hole(const std::string& name, uint64_t size) { entries_.push_back({name, {}, size, 0}); }

  uint64_t local_offset(size_t i) const { return entries_[i].offset; }

  void write(const std::string& path, const ZipOptions& opt = {}) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      std::exit(2);
    }
    uint64_t pos = 0;
    Bytes central;
    for (auto& e : entries_) {
      e.offset = pos;
      uint64_t size = e.hole ? e.hole : e.data.size();
      uint32_t crc = e.hole ? 0 : crc32(e.data.data(), e.data.size());
      bool big = size >= 0xffffffffu || e.offset >= 0xffffffffu;
      // torch pads the local extra field with an 'FB' record so that data starts on a 64-byte boundary.
      uint64_t header_end = pos + 30 + e.name.size();
      uint64_t pad = (64 - (header_end + 4) % 64) % 64;
      Bytes local;
      local.u32(0x04034b50).u16(big ? 45 : 20).u16(opt.data_descriptors ? 0x0808 : 0).u16(opt.method).u16(0).u16(0);
      local.u32(opt.data_descriptors ? 0 : crc);
      uint32_t size32 = opt.data_descriptors ? 0 : (size >= 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(size));
      local.u32(size32).u32(size32);
      local.u16(static_cast<uint16_t>(e.name.size())).u16(static_cast<uint16_t>(4 + pad)).str(e.name);
      local.u16(0x4246).u16(static_cast<uint16_t>(pad));
      for (uint64_t i = 0; i < pad; i++) local.u8('Z');
      put(fd, pos, local.b);
      pos += local.size();
      if (!e.hole) put(fd, pos, e.data);
      pos += size;
      if (opt.data_descriptors) {
        Bytes dd;
        dd.u32(0x08074b50).u32(crc);
        if (big)
          dd.u64(size).u64(size);
        else
          dd.u32(static_cast<uint32_t>(size)).u32(static_cast<uint32_t>(size));
        put(fd, pos, dd.b);
        pos += dd.size();
      }
      Bytes extra;
      if (big) {
        extra.u16(0x0001).u16(0);
        size_t at = extra.size();
        if (size >= 0xffffffffu) extra.u64(size).u64(size);
        if (e.offset >= 0xffffffffu) extra.u64(e.offset);
        uint16_t len = static_cast<uint16_t>(extra.size() - at);
        std::memcpy(extra.b.data() + 2, &len, 2);
      }
      central.u32(0x02014b50)
          .u16(big ? 45 : 20)
          .u16(big ? 45 : 20)
          .u16(opt.data_descriptors ? 0x0808 : 0)
          .u16(opt.method);
      central.u16(0).u16(0).u32(crc);
      uint32_t c32 = size >= 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(size);
      central.u32(c32).u32(c32);
      central.u16(static_cast<uint16_t>(e.name.size())).u16(static_cast<uint16_t>(extra.size())).u16(0);
      central.u16(0).u16(0).u32(0);
      central.u32(e.offset >= 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(e.offset));
      central.str(e.name).bytes(extra.b);
    }
    uint64_t cd_offset = pos;
    put(fd, pos, central.b);
    pos += central.size();
    Bytes tail;
    uint64_t count = entries_.size();
    if (opt.zip64_end) {
      uint64_t rec = pos;
      tail.u32(0x06064b50)
          .u64(44)
          .u16(45)
          .u16(45)
          .u32(0)
          .u32(0)
          .u64(count)
          .u64(count)
          .u64(central.size())
          .u64(cd_offset);
      tail.u32(0x07064b50).u32(0).u64(rec).u32(1);
    }
    bool overflow = cd_offset >= 0xffffffffu;
    tail.u32(0x06054b50).u16(0).u16(0).u16(static_cast<uint16_t>(count)).u16(static_cast<uint16_t>(count));
    tail.u32(static_cast<uint32_t>(central.size()))
        .u32(overflow ? 0xffffffffu : static_cast<uint32_t>(cd_offset))
        .u16(0);
    put(fd, pos, tail.b);
    pos += tail.size();
    if (::ftruncate(fd, static_cast<off_t>(pos)) != 0) {
      std::fprintf(stderr, "ftruncate failed\n");
      std::exit(2);
    }
    ::close(fd);
  }

 private:
  struct Entry {
    std::string name;
    std::vector<uint8_t> data;
    uint64_t hole;
    uint64_t offset;
  };
  static void put(int fd, uint64_t at, const std::vector<uint8_t>& b) {
    if (b.empty()) return;
    if (::pwrite(fd, b.data(), b.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(b.size())) {
      std::fprintf(stderr, "pwrite failed\n");
      std::exit(2);
    }
  }
  std::vector<Entry> entries_;
};

// A complete torch-style .pth: archive/<prefix>/data.pkl, byteorder, data/<key> entries.
struct PthFile {
  std::string prefix = "archive";
  std::vector<uint8_t> pickle;
  std::map<std::string, std::vector<uint8_t>> storages;
  std::string byteorder = "little";  // "" leaves the record out
  ZipOptions options;

  void write(const std::string& path) const {
    ZipWriter z;
    z.add(prefix + "/data.pkl", pickle);
    if (!byteorder.empty()) z.add(prefix + "/byteorder", std::vector<uint8_t>(byteorder.begin(), byteorder.end()));
    for (const auto& [key, data] : storages) z.add(prefix + "/data/" + key, data);
    z.add(prefix + "/version", {'3', '\n'});
    z.write(path, options);
  }
};

// An official-layout .pth holding `tensors` (contiguous, one storage each), in map order.
inline void write_pth(const std::string& path, const std::map<std::string, rwkv::TensorView>& tensors) {
  PthFile f;
  std::vector<PthTensor> specs;
  int key = 0;
  for (const auto& [name, v] : tensors) {
    const char* st = v.dtype == rwkv::DType::F32   ? "FloatStorage"
                     : v.dtype == rwkv::DType::F16 ? "HalfStorage"
                                                   : "BFloat16Storage";
    std::string k = std::to_string(key++);
    specs.push_back({name, st, k, v.numel(), 0, v.shape, contiguous_strides(v.shape)});
    f.storages[k].assign(v.data, v.data + v.nbytes());
  }
  f.pickle = state_dict_pickle(specs);
  f.write(path);
}

struct StTensor {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16", "I8", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

inline std::vector<uint8_t> safetensors_bytes(const std::vector<StTensor>& tensors,
                                              const std::string& metadata_json = "") {
  std::string h = "{";
  if (!metadata_json.empty()) h += "\"__metadata__\":" + metadata_json;
  uint64_t at = 0;
  for (const auto& t : tensors) {
    if (h.size() > 1) h += ",";
    h += "\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); i++) h += (i ? "," : "") + std::to_string(t.shape[i]);
    h += "],\"data_offsets\":[" + std::to_string(at) + "," + std::to_string(at + t.data.size()) + "]}";
    at += t.data.size();
  }
  h += "}";
  while (h.size() % 8) h += ' ';
  Bytes b;
  b.u64(h.size()).str(h);
  for (const auto& t : tensors) b.bytes(t.data);
  return b.b;
}

inline StTensor st_from_view(const std::string& name, const rwkv::TensorView& v) {
  const char* dt = v.dtype == rwkv::DType::F32 ? "F32" : v.dtype == rwkv::DType::F16 ? "F16" : "BF16";
  return {name, dt, v.shape, std::vector<uint8_t>(v.data, v.data + v.nbytes())};
}

inline StTensor st_transposed(const std::string& name, const rwkv::TensorView& v) {
  StTensor t = st_from_view(name, v);
  size_t rows = static_cast<size_t>(v.shape[0]), cols = static_cast<size_t>(v.shape[1]), es = rwkv::dtype_size(v.dtype);
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++) std::memcpy(&t.data[(c * rows + r) * es], v.data + (r * cols + c) * es, es);
  t.shape = {v.shape[1], v.shape[0]};
  return t;
}

struct GgmlTensor {
  std::string name;
  int32_t type;                // 0 FP32, 1 FP16, 2 Q4_0, ...
  std::vector<int64_t> shape;  // PyTorch order; written reversed
  std::vector<uint8_t> data;
};

inline std::vector<uint8_t> ggml_bytes(int32_t n_vocab, int32_t n_embed, int32_t n_layer, int32_t type,
                                       const std::vector<GgmlTensor>& tensors) {
  Bytes b;
  b.u32(0x67676d66).i32(101).i32(n_vocab).i32(n_embed).i32(n_layer).i32(type);
  for (const auto& t : tensors) {
    b.i32(static_cast<int32_t>(t.shape.size())).i32(static_cast<int32_t>(t.name.size())).i32(t.type);
    for (size_t i = t.shape.size(); i-- > 0;) b.i32(static_cast<int32_t>(t.shape[i]));
    b.str(t.name).bytes(t.data);
  }
  return b.b;
}

inline bool same_tensor(const rwkv::TensorView& a, const rwkv::TensorView& b) {
  return a.dtype == b.dtype && a.shape == b.shape && std::memcmp(a.data, b.data, a.nbytes()) == 0;
}

// Expects `expr` to throw rwkv::Error with `want_code` and a message containing every string in `parts`.
#define CHECK_ERROR_MENTIONS(expr, want_code, ...)                                                               \
  do {                                                                                                           \
    bool thrown_ = false;                                                                                        \
    try {                                                                                                        \
      expr;                                                                                                      \
    } catch (const rwkv::Error& e_) {                                                                            \
      thrown_ = true;                                                                                            \
      std::string msg_ = e_.what();                                                                              \
      CHECK_MSG(e_.code() == (want_code), "got %s (%s), wanted %s", e_.code().c_str(), msg_.c_str(), want_code); \
      for (const char* part_ : {__VA_ARGS__})                                                                    \
        CHECK_MSG(msg_.find(part_) != std::string::npos, "message lacks '%s': %s", part_, msg_.c_str());         \
    }                                                                                                            \
    CHECK_MSG(thrown_, "%s did not throw", #expr);                                                               \
  } while (0)

}  // namespace iotest
