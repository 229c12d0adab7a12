#pragma once
// The hot path of every text parser: lines as string_views into one growing buffer, no copy per line.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "pyfold/io.hpp"

namespace pyfold {

class LineReader {
 public:
  explicit LineReader(InputSource& source, std::size_t chunk_size = 1 << 20);

  // The next line without its "\n" and without a "\r" before it (CRLF input); for input whose lines end with a
  // lone "\r" (old Mac files: a CR not followed by LF before the first LF), without that "\r"; an LF ends a
  // line there too. Without a lone CR first, a CR inside a line is a byte of the line. The view stays valid until the
  // call after the next one, so a parser can compare a line with the one before it without copying either.
  // A line has no length limit. Returns false at the end of input.
  bool next(std::string_view& line);

  // 1-based number of the line last returned.
  std::uint64_t line_number() const { return line_number_; }
  const std::string& source_name() const { return source_.name(); }

 private:
  bool refill(bool first_of_call);
  const char* data() const { return mapped_ != nullptr ? mapped_ : buffer_.data(); }
  void detect_line_end(std::size_t from);
  static const void* find_cr_or_lf(const char* p, std::size_t n);

  InputSource& source_;
  // A mapped regular file is read in place: its lines are views into the mapping, and refill() has nothing to do.
  const char* mapped_ = nullptr;
  std::size_t released_ = 0;  // bytes of the mapping before this were given back (see release_mapped_before)
  static constexpr std::size_t kReleaseEvery = 8 << 20;
  std::vector<char> buffer_;
  std::vector<char> spare_;  // a refill copies into this one and swaps, so the previous line's bytes stay put
  std::size_t keep_ = 0;   // start of the last line returned: kept when the buffer moves
  std::size_t begin_ = 0;  // first unread byte
  std::size_t end_ = 0;    // end of valid bytes
  static constexpr std::size_t kFirstReadSize = 64 << 10;
  std::size_t read_size_;   // the least room a refill reads into: grows from kFirstReadSize to chunk_size_
  std::size_t chunk_size_;
  bool eof_ = false;
  char line_end_ = '\n';
  bool line_end_known_ = false;
  std::uint64_t line_number_ = 0;
};

}  // namespace pyfold
