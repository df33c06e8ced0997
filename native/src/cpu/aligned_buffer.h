// A heap buffer aligned to a cache line, for packed weights and scratch rows read with vector loads. Large
// buffers are aligned to 2 MiB and offered to the kernel for transparent huge pages: streaming hundreds of
// megabytes of weights per decoded token otherwise spends much of its time on TLB misses.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace rwkv::cpu {

class AlignedBuffer {
 public:
  static constexpr size_t kAlign = 64;
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kHugeThreshold = size_t{4} << 20;

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes) { reset(bytes); }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // Reallocates to at least `bytes` (contents are not kept).
  void reset(size_t bytes) {
    std::free(data_);
    data_ = nullptr;
    bytes_ = 0;
    if (bytes == 0) return;
    const size_t align = bytes >= kHugeThreshold ? kHugePage : kAlign;
    size_t rounded = (bytes + align - 1) / align * align;
    data_ = std::aligned_alloc(align, rounded);
    if (!data_) throw std::bad_alloc();
    bytes_ = rounded;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == kHugePage) madvise(data_, rounded, MADV_HUGEPAGE);  // advisory: failure changes nothing
#endif
  }
  // Grows (never shrinks) to at least `bytes`.
  void reserve(size_t bytes) {
    if (bytes > bytes_) reset(bytes);
  }

  size_t bytes() const { return bytes_; }
  template <class T>
  T* as() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* as() const {
    return static_cast<const T*>(data_);
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace rwkv::cpu
