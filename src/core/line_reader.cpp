#include "pyfold/line_reader.hpp"

#include <algorithm>
#include <cstring>

namespace pyfold {

LineReader::LineReader(InputSource& source, std::size_t chunk_size)
    : source_(source), read_size_(std::min(chunk_size, kFirstReadSize)), chunk_size_(chunk_size) {
  std::string_view whole = source_.mapped();
  if (!whole.empty()) {
    mapped_ = whole.data();
    end_ = whole.size();
    eof_ = true;
    detect_line_end(0);
    return;
  }
  buffer_.resize(read_size_);
}

// The first refill of a next() call copies the last line returned and the unread tail to the front of the spare
// buffer (grown when they fill it), swaps buffers, and reads more: the previous line's view still points into the
// old buffer, now the spare. Later refills of the same call (a line longer than the buffer) must leave the spare
// alone, so they grow the current buffer instead.
bool LineReader::refill(bool first_of_call) {
  if (eof_) return false;
  if (first_of_call) {
    std::size_t kept = end_ - keep_;
    std::size_t size = std::max(buffer_.size(), spare_.size());
    while (size - kept < read_size_ / 2) size *= 2;
    if (spare_.size() < size) spare_.resize(size);
    std::memcpy(spare_.data(), buffer_.data() + keep_, kept);
    buffer_.swap(spare_);
    begin_ -= keep_;
    end_ = kept;
    keep_ = 0;
  } else {
    std::size_t size = buffer_.size();
    while (size - end_ < read_size_ / 2) size *= 2;
    buffer_.resize(size);
  }
  // Bytes before the last one were looked at by an earlier detect_line_end(); the last may be a CR.
  std::size_t unseen = end_ > begin_ ? end_ - 1 : begin_;
  std::size_t room = buffer_.size() - end_;
  std::size_t got = source_.read(buffer_.data() + end_, room);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  // Small inputs stay in small buffers; one that keeps filling them grows them up to chunk_size.
  if (got == room && read_size_ < chunk_size_) read_size_ = std::min(read_size_ * 2, chunk_size_);
  end_ += got;
  if (!line_end_known_) detect_line_end(unseen);
  return true;
}

// Old Mac files end lines with a lone CR. The first CR that is not part of a CRLF, before any LF, decides it.
void LineReader::detect_line_end(std::size_t from) {
  const char* data = this->data();
  const void* lf = std::memchr(data + from, '\n', end_ - from);
  std::size_t limit = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - data) : end_;
  if (const void* cr = std::memchr(data + from, '\r', limit - from)) {
    std::size_t i = static_cast<std::size_t>(static_cast<const char*>(cr) - data);
    if (i + 1 == end_) return;  // the LF of a CRLF may be in the next read
    if (data[i + 1] != '\n') line_end_ = '\r';
  }
  line_end_known_ = lf != nullptr || line_end_ == '\r';
}

// In a CR file an LF still ends a line (a line never holds one), so a stray LF cannot end up inside a stack.
const void* LineReader::find_cr_or_lf(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] == '\r' || p[i] == '\n') return p + i;
  return nullptr;
}

bool LineReader::next(std::string_view& line) {
  // The line returned last time must stay valid through this call; what lies before it is not needed again.
  if (mapped_ != nullptr && keep_ - released_ >= kReleaseEvery) {
    source_.release_mapped_before(keep_);
    released_ = keep_;
  }
  std::size_t scanned = begin_;  // bytes before this offset are known to hold no line end
  for (bool first_refill = true;; first_refill = false) {
    const char* base = data();
    const char* start = base + scanned;
    const void* nl = line_end_ == '\n' ? std::memchr(start, '\n', end_ - scanned) : find_cr_or_lf(start, end_ - scanned);
    if (nl != nullptr) {
      std::size_t stop = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
      std::size_t len = stop - begin_;
      if (len > 0 && base[stop - 1] == '\r') --len;
      line = std::string_view(base + begin_, len);
      keep_ = begin_;
      begin_ = stop + 1;
      ++line_number_;
      return true;
    }
    std::size_t pending = end_ - begin_;
    if (!refill(first_refill)) {
      if (pending == 0) return false;
      std::size_t len = end_ - begin_;
      if (len > 0 && data()[begin_ + len - 1] == '\r') --len;
      line = std::string_view(data() + begin_, len);
      keep_ = begin_;
      begin_ = end_;
      ++line_number_;
      return true;
    }
    scanned = begin_ + pending;
  }
}

}  // namespace pyfold
