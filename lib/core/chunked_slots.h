// Numbered slots that never move: elements live in chunks of kPerChunk
// allocated one at a time, so growing never relocates an element, finding
// slot i is two array reads, and an over-aligned element type costs one
// aligned allocation per chunk rather than one per few elements.
#ifndef ROSTER_CORE_CHUNKED_SLOTS_H_
#define ROSTER_CORE_CHUNKED_SLOTS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace roster::core {

template <typename T, size_t kPerChunk = 64>
class ChunkedSlots {
  static_assert((kPerChunk & (kPerChunk - 1)) == 0, "a power of two");

 public:
  size_t size() const { return size_; }
  T& operator[](size_t i) { return chunks_[i / kPerChunk][i % kPerChunk]; }
  const T& operator[](size_t i) const {
    return chunks_[i / kPerChunk][i % kPerChunk];
  }
  // Adds a default-constructed slot; returns its number.
  size_t Grow() {
    if (size_ == chunks_.size() * kPerChunk)
      chunks_.push_back(std::make_unique<T[]>(kPerChunk));
    return size_++;
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  size_t size_ = 0;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_CHUNKED_SLOTS_H_
