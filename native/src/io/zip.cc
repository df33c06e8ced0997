#include "io/zip.h"

#include "io/byte_order.h"
#include "io/io_error.h"

namespace rwkv::io {

namespace {
constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kEnd64Size = 56;
constexpr size_t kLocatorSize = 20;
constexpr size_t kCentralSize = 46;
constexpr size_t kLocalSize = 30;
constexpr uint32_t kMax32 = 0xffffffffu;
}  // namespace

ZipArchive::ZipArchive(const MappedFile& file, ReadBudget& budget) : file_(file), budget_(budget) {
  const uint8_t* d = file.data();
  const size_t n = file.size();
  const std::string& path = file.path();
  if (n < kEndSize) {
    fail(code::kModelTruncated, path,
         "expected a zip end-of-central-directory record (22 bytes), found a file of " + std::to_string(n) +
             " bytes; the file is cut short");
  }
  // The end record sits at the very end, followed only by its comment; requiring the comment to reach exactly
  // to the end of the file makes a file cut anywhere after its start fail here instead of parsing garbage.
  size_t end_pos = SIZE_MAX;
  size_t lowest = n > kEndSize + 0xffff ? n - kEndSize - 0xffff : 0;
  for (size_t pos = n - kEndSize + 1; pos-- > lowest;) {
    if (le32(d + pos) == kEndSig && pos + kEndSize + le16(d + pos + 20) == n) {
      end_pos = pos;
      break;
    }
  }
  if (end_pos == SIZE_MAX) {
    fail(code::kModelTruncated, path,
         "expected a zip end-of-central-directory record at the end of the file, found none; the file is cut "
         "short or damaged");
  }
  const uint8_t* e = d + end_pos;
  if (le16(e + 4) != 0 || le16(e + 6) != 0) {
    fail(code::kModelFormat, path, "expected a single-disk zip archive, found a multi-disk one");
  }
  uint64_t count = le16(e + 10);
  uint64_t cd_size = le32(e + 12);
  uint64_t cd_offset = le32(e + 16);
  uint64_t cd_limit = end_pos;

  if (end_pos >= kLocatorSize && le32(d + end_pos - kLocatorSize) == kEnd64LocatorSig) {
    const uint8_t* loc = d + end_pos - kLocatorSize;
    uint64_t rec = le64(loc + 8);
    // `rec` comes from the file: every test below compares it with sizes instead of adding to it, since
    // rec + 4 wraps around for values near 2^64 and would point before the mapping.
    if (rec > end_pos - kLocatorSize || end_pos - kLocatorSize - rec < kEnd64Size || le32(d + rec) != kEnd64Sig) {
      fail(code::kModelFormat, path,
           "expected a Zip64 end record at offset " + std::to_string(rec) + " (named by the Zip64 locator), found " +
               (rec < n && n - rec >= 4 ? "bytes " + hex_bytes(d + rec, 4) : std::string("an offset past the end")));
    }
    const uint8_t* z = d + rec;
    count = le64(z + 32);
    cd_size = le64(z + 40);
    cd_offset = le64(z + 48);
    cd_limit = rec;
  } else if (count == 0xffff || cd_size == kMax32 || cd_offset == kMax32) {
    fail(code::kModelFormat, path, "the zip end record defers to a Zip64 record, but no Zip64 locator precedes it");
  }
  uint64_t cd_end = 0;
  if (!checked_add(cd_offset, cd_size, &cd_end) || cd_end > cd_limit) {
    fail(code::kModelTruncated, path,
         "expected the zip central directory (offset " + std::to_string(cd_offset) + ", " + std::to_string(cd_size) +
             " bytes) before the end record at " + std::to_string(cd_limit) + "; the file is cut short or damaged");
  }
  if (count > cd_size / kCentralSize) {
    fail(code::kModelFormat, path,
         "the zip end record lists " + std::to_string(count) + " entries, but the central directory has room for " +
             std::to_string(cd_size / kCentralSize));
  }
  read_central_directory(cd_offset, cd_size, count);
}

void ZipArchive::read_central_directory(uint64_t offset, uint64_t size, uint64_t count) {
  const uint8_t* d = file_.data() + offset;
  const std::string& path = file_.path();
  uint64_t pos = 0;
  // Each entry costs its record, its name twice (the table and the index by name) and the index's node.
  constexpr uint64_t kEntryCost = sizeof(ZipEntry) + sizeof(std::string) + 4 * sizeof(void*) + 32;
  budget_.charge(count * sizeof(ZipEntry), "the zip directory");
  entries_.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; i++) {
    if (size - pos < kCentralSize || le32(d + pos) != kCentralSig) {
      fail(code::kModelFormat, path,
           "expected zip central directory entry " + std::to_string(i) + " of " + std::to_string(count) +
               " at offset " + std::to_string(offset + pos) + ", found " +
               (size - pos < 4 ? std::string("the end of the directory") : "bytes " + hex_bytes(d + pos, 4)));
    }
    const uint8_t* c = d + pos;
    ZipEntry entry;
    entry.flags = le16(c + 8);
    entry.method = le16(c + 10);
    entry.compressed_size = le32(c + 20);
    entry.size = le32(c + 24);
    size_t name_len = le16(c + 28), extra_len = le16(c + 30), comment_len = le16(c + 32);
    entry.local_offset = le32(c + 42);
    uint64_t record = kCentralSize + name_len + extra_len + comment_len;
    if (size - pos < record) {
      fail(code::kModelFormat, path,
           "zip central directory entry " + std::to_string(i) + " runs past the end of the directory");
    }
    budget_.charge(kEntryCost + 2 * name_len, "the zip directory");
    entry.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);
    // Zip64: each field that overflowed 32 bits is 0xffffffff here and its real value is in extra record 0x0001,
    // in the fixed order size, compressed size, local header offset.
    const uint8_t* x = c + kCentralSize + name_len;
    size_t xp = 0;
    bool need64 = entry.size == kMax32 || entry.compressed_size == kMax32 || entry.local_offset == kMax32;
    bool found64 = false;
    while (xp + 4 <= extra_len) {
      uint16_t id = le16(x + xp), len = le16(x + xp + 2);
      if (xp + 4 + len > extra_len) break;
      if (id == 0x0001) {
        found64 = true;
        const uint8_t* f = x + xp + 4;
        size_t fp = 0;
        for (uint64_t* field : {&entry.size, &entry.compressed_size, &entry.local_offset}) {
          if (*field != kMax32) continue;
          if (fp + 8 > len) {
            fail(code::kModelFormat, path,
                 "zip entry " + quoted(entry.name) + ": the Zip64 extra field is too short for its 64-bit values");
          }
          *field = le64(f + fp);
          fp += 8;
        }
      }
      xp += 4 + size_t{len};
    }
    if (need64 && !found64) {
      fail(code::kModelFormat, path,
           "zip entry " + quoted(entry.name) + " has 0xffffffff sizes or offset but no Zip64 extra field");
    }
    by_name_.emplace(entry.name, entries_.size());
    entries_.push_back(std::move(entry));
    pos += record;
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

std::span<const uint8_t> ZipArchive::data(const ZipEntry& e) const {
  const std::string& path = file_.path();
  const size_t n = file_.size();
  if (e.flags & 1) fail(code::kModelFormat, path, "zip entry " + quoted(e.name) + " is encrypted; expected plain data");
  if (e.method != 0) {
    fail(code::kModelFormat, path,
         "zip entry " + quoted(e.name) + " is compressed (method " + std::to_string(e.method) +
             "); expected stored entries (method 0) as torch.save writes them");
  }
  if (e.compressed_size != e.size) {
    fail(code::kModelFormat, path,
         "stored zip entry " + quoted(e.name) + " has compressed size " + std::to_string(e.compressed_size) +
             " but size " + std::to_string(e.size) + "; expected them equal");
  }
  const uint8_t* d = file_.data();
  if (e.local_offset > n || n - e.local_offset < kLocalSize) {
    fail(code::kModelTruncated, path,
         "zip entry " + quoted(e.name) + ": expected a local header at offset " + std::to_string(e.local_offset) +
             ", found the end of a " + std::to_string(n) + "-byte file");
  }
  const uint8_t* h = d + e.local_offset;
  if (le32(h) != kLocalSig) {
    fail(code::kModelFormat, path,
         "zip entry " + quoted(e.name) + ": expected a local header signature (50 4b 03 04) at offset " +
             std::to_string(e.local_offset) + ", found " + hex_bytes(h, 4));
  }
  // The local extra field (torch's alignment padding) differs from the central one, so its length is read here.
  uint64_t start = e.local_offset + kLocalSize + le16(h + 26) + le16(h + 28);
  uint64_t end = 0;
  if (!checked_add(start, e.size, &end) || end > n) {
    fail(code::kModelTruncated, path,
         "zip entry " + quoted(e.name) + ": expected " + std::to_string(e.size) + " bytes of data at offset " +
             std::to_string(start) + ", found a file of " + std::to_string(n) + " bytes; the file is cut short");
  }
  return {d + start, static_cast<size_t>(e.size)};
}

}  // namespace rwkv::io
