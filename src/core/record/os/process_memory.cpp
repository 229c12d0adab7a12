// The OS-independent readers: the default read_many, captured snapshots, and the recorder of a capture.
#include <cerrno>
#include <cstring>

#include "pyfold/record/os/process_memory.hpp"

namespace pyfold::record {

std::size_t MemoryReader::read_many(const MemoryRange* ranges, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i)
    if (!read(ranges[i].address, ranges[i].out, ranges[i].size)) return i;
  return count;
}

void SnapshotMemory::add(std::uint64_t address, const void* bytes, std::size_t size) {
  if (size == 0) return;
  std::uint64_t start = address, end = address + size;
  std::string merged(static_cast<const char*>(bytes), size);
  // Fold in every region that overlaps or touches [start, end); the new bytes win where they overlap.
  auto it = regions_.upper_bound(start);
  if (it != regions_.begin()) --it;
  while (it != regions_.end() && it->first <= end) {
    std::uint64_t r_start = it->first, r_end = r_start + it->second.size();
    if (r_end < start) {
      ++it;
      continue;
    }
    std::uint64_t new_start = std::min(start, r_start), new_end = std::max(end, r_end);
    std::string joined(new_end - new_start, '\0');
    std::memcpy(&joined[r_start - new_start], it->second.data(), it->second.size());
    std::memcpy(&joined[start - new_start], merged.data(), merged.size());
    // The new bytes are [start, end) of joined; keep them as "merged" for the next fold.
    start = new_start, end = new_end, merged = std::move(joined);
    it = regions_.erase(it);
  }
  regions_.emplace(start, std::move(merged));
}

bool SnapshotMemory::read(std::uint64_t address, void* out, std::size_t size) noexcept {
  ++reads_;
  auto it = regions_.upper_bound(address);
  if (it != regions_.begin()) {
    --it;
    if (address >= it->first && address + size <= it->first + it->second.size()) {
      std::memcpy(out, it->second.data() + (address - it->first), size);
      return true;
    }
  }
  last_error_ = EFAULT;
  return false;
}

std::size_t SnapshotMemory::bytes() const {
  std::size_t n = 0;
  for (const auto& [start, data] : regions_) n += data.size();
  return n;
}

bool RecordingMemory::read(std::uint64_t address, void* out, std::size_t size) noexcept {
  ++reads_;
  bool ok = source_.read(address, out, size);
  last_error_ = source_.last_error();
  if (ok) captured_.add(address, out, size);
  return ok;
}

std::size_t RecordingMemory::read_many(const MemoryRange* ranges, std::size_t count) noexcept {
  ++reads_;
  std::size_t got = source_.read_many(ranges, count);
  last_error_ = source_.last_error();
  for (std::size_t i = 0; i < got; ++i) captured_.add(ranges[i].address, ranges[i].out, ranges[i].size);
  return got;
}

}  // namespace pyfold::record
