// A read-only memory map of a whole file. Tensor views point straight into it, so opening a multi-gigabyte
// model costs only the page-table setup; pages are read when a backend first touches them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace rwkv::io {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws E_IO
  // A view of bytes the caller owns and keeps alive, read as if they were the file `label` (the fuzz targets
  // run the readers on buffers without touching the disk).
  MappedFile(std::string label, const uint8_t* data, size_t size) : path_(std::move(label)), data_(data), size_(size) {}
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

}  // namespace rwkv::io
