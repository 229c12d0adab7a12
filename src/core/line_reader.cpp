#include "pyfold/line_reader.hpp"

#include <cstring>

namespace pyfold {

LineReader::LineReader(InputSource& source, std::size_t chunk_size)
    : source_(source), buffer_(chunk_size), chunk_size_(chunk_size) {}

// Moves the unread tail to the front, grows the buffer when a single line fills it, and reads more.
bool LineReader::refill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < chunk_size_ / 2) buffer_.resize(buffer_.size() * 2);
  std::size_t got = source_.read(buffer_.data() + end_, buffer_.size() - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

bool LineReader::next(std::string_view& line) {
  std::size_t scanned = begin_;  // bytes before this offset are known to hold no '\n'
  for (;;) {
    const char* start = buffer_.data() + scanned;
    const void* nl = std::memchr(start, '\n', end_ - scanned);
    if (nl != nullptr) {
      std::size_t stop = static_cast<std::size_t>(static_cast<const char*>(nl) - buffer_.data());
      std::size_t len = stop - begin_;
      if (len > 0 && buffer_[stop - 1] == '\r') --len;
      line = std::string_view(buffer_.data() + begin_, len);
      begin_ = stop + 1;
      ++line_number_;
      return true;
    }
    std::size_t pending = end_ - begin_;
    if (!refill()) {
      if (pending == 0) return false;
      std::size_t len = end_ - begin_;
      if (len > 0 && buffer_[begin_ + len - 1] == '\r') --len;
      line = std::string_view(buffer_.data() + begin_, len);
      begin_ = end_;
      ++line_number_;
      return true;
    }
    scanned = begin_ + pending;
  }
}

}  // namespace pyfold
