// What the container fuzz targets share: running a buffer through a reader as if it were a file, and touching
// every tensor it returns, so a view that points outside the input or an owned buffer is caught by the sanitizer.
#pragma once
#include <memory>

#include "fuzz_driver.h"
#include "io/loaded_file.h"
#include "io/mapped_file.h"
#include "io/readers.h"

namespace fuzz {

inline void touch_tensors(const rwkv::TensorFile& f) {
  volatile uint8_t sink = 0;
  for (const auto& [name, v] : f.tensors()) {
    size_t n = v.nbytes();
    if (n) sink = sink ^ v.data[0] ^ v.data[n - 1];
  }
  (void)sink;
}

// read_any, the same path TensorFile::open takes after mapping the file.
inline void open_buffer(const char* label, const uint8_t* data, size_t size) {
  auto file = std::make_shared<const rwkv::io::MappedFile>(label, data, size);
  touch_tensors(*rwkv::io::read_any(file));
}

}  // namespace fuzz
