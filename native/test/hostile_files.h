// Small crafted model files that once crashed a reader or made it allocate far more than the file's size, built
// by the tests rather than committed. Each is described by what it attacks; test_hostile_files.cc opens them in
// child processes and measures their peak memory, and the fuzz targets start from them as well as from real files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "test_io_writers.h"

namespace hostile {

// 106 bytes: "PK\3\4", padding, a Zip64 locator naming the end record at offset 2^64 - 2, and an empty end
// record. The error message once read 4 bytes at data + offset, which wraps around to just before the map.
inline std::vector<uint8_t> zip64_locator_before_map() {
  iotest::Bytes b;
  b.u32(0x04034b50);
  while (b.size() < 64) b.u8(0);
  b.u32(0x07064b50).u32(0).u64(0xfffffffffffffffeull).u32(1);
  b.u32(0x06054b50).u16(0).u16(0).u16(0).u16(0).u32(0).u32(0).u16(0);
  return b.b;
}

// A .pth whose one storage of `storage_floats` floats is named by `entries` tensors that each need a copy:
// byte-swapped views of a big-endian file, or (big_endian false) stride-0 views repeating the storage's first
// row. Without a bound, the copies cost entries × storage bytes.
inline void storage_reused_by_many_entries(const std::string& path, int64_t storage_floats, int entries,
                                           bool big_endian) {
  iotest::PthFile f;
  f.byteorder = big_endian ? "big" : "little";
  std::vector<iotest::PthTensor> specs;
  const int64_t cols = 1024, rows = storage_floats / cols;
  for (int i = 0; i < entries; i++) {
    iotest::PthTensor t{"t" + std::to_string(i), "FloatStorage", "0", storage_floats, 0, {rows, cols}, {cols, 1}};
    if (!big_endian) t.stride = {0, 1};
    specs.push_back(t);
  }
  f.pickle = iotest::state_dict_pickle(specs);
  f.storages["0"] = std::vector<uint8_t>(static_cast<size_t>(storage_floats) * 4, 0x3f);
  f.write(path);
}

// A .pth whose data.pkl is `opcodes` repetitions of the one-byte opcode `op` (EMPTY_LIST ']', NONE 'N',
// MARK '(', MEMOIZE 0x94 ...) before a dict and STOP: each opcode once made a value of ~118 bytes.
inline void pickle_of_one_byte_opcodes(const std::string& path, size_t opcodes, uint8_t op) {
  iotest::PthFile f;
  iotest::Pickle p;
  p.proto(2);
  if (op == 0x94) p.op(']');  // MEMOIZE stores the value on top of the stack
  for (size_t i = 0; i < opcodes; i++) p.op(op);
  p.empty_dict().stop();
  f.pickle = std::move(p.out.b);
  f.write(path);
}

// A safetensors file whose JSON header is `values` small numbers in one array under __metadata__'s neighbour:
// each two-byte value once cost a parsed value of ~100 bytes.
inline std::vector<uint8_t> safetensors_with_huge_header(size_t values) {
  std::string h = "{\"x\":[";
  h.reserve(8 + 2 * values);
  for (size_t i = 0; i < values; i++) h += i ? ",0" : "0";
  h += "]}";
  while (h.size() % 8) h += ' ';
  iotest::Bytes b;
  b.u64(h.size()).str(h);
  return b.b;
}

// About 750 bytes: the tensors an RWKV-7 loader reads first (C = 2) plus one tensor of block 999999. The layer
// count came from the largest block index, so loading once allocated a million layers before finding block 0
// incomplete.
inline std::vector<uint8_t> safetensors_naming_block_999999() {
  auto f32 = [](std::string name, std::vector<int64_t> shape) {
    size_t n = 1;
    for (auto s : shape) n *= static_cast<size_t>(s);
    return iotest::StTensor{std::move(name), "F32", std::move(shape), std::vector<uint8_t>(n * 4, 0)};
  };
  return iotest::safetensors_bytes({
      f32("emb.weight", {2, 2}),
      f32("head.weight", {2, 2}),
      f32("ln_out.weight", {2}),
      f32("ln_out.bias", {2}),
      f32("blocks.0.ln0.weight", {2}),
      f32("blocks.0.ln0.bias", {2}),
      f32("blocks.0.ffn.key.weight", {2, 2}),
      f32("blocks.0.att.r_k", {1, 2}),
      f32("blocks.999999.x", {1}),
  });
}

// An rwkv.cpp .bin of `records` zero-size tensors with distinct keys of `key_bytes` bytes: table entries cost
// more than the 16 + key bytes each record takes.
inline std::vector<uint8_t> ggml_of_empty_records(size_t records, size_t key_bytes) {
  iotest::Bytes b;
  b.u32(0x67676d66).i32(101).i32(1).i32(1).i32(1).i32(0);
  for (size_t i = 0; i < records; i++) {
    std::string key = "blocks.0." + std::to_string(i);
    key.resize(key_bytes < key.size() ? key.size() : key_bytes, 'k');
    b.i32(1).i32(static_cast<int32_t>(key.size())).i32(0).i32(0).str(key);
  }
  return b.b;
}

}  // namespace hostile
