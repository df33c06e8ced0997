// The ZIP layer of torch.save files: the entry table comes from the central directory (torch writes zero sizes
// in local headers and data descriptors after the data), with Zip64 records for archives past 4 GiB. Only
// stored (uncompressed) entries can be read, which is all torch writes, so entry data is a view of the map.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/mapped_file.h"
#include "io/read_budget.h"

namespace rwkv::io {

struct ZipEntry {
  std::string name;
  uint64_t local_offset = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;
  uint16_t method = 0;
  uint16_t flags = 0;
};

class ZipArchive {
 public:
  // The entry table is charged to `budget`. Throws E_MODEL_FORMAT / E_MODEL_TRUNCATED / E_MODEL_LIMIT.
  ZipArchive(const MappedFile& file, ReadBudget& budget);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;
  // The bytes of a stored entry, checked against its local header and the file size.
  std::span<const uint8_t> data(const ZipEntry& e) const;

 private:
  void read_central_directory(uint64_t offset, uint64_t size, uint64_t count);

  const MappedFile& file_;
  ReadBudget& budget_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace rwkv::io
