#pragma once
// Byte input and output for every stage: files, "-" for stdin/stdout, gzip read by magic bytes and written by suffix.
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pyfold {

// An input or output could not be used; the message names the file and the OS error.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The reader of our output went away (EPIPE): stop quietly, this is not an error the user needs to read.
class BrokenPipe : public IoError {
 public:
  BrokenPipe() : IoError("broken pipe") {}
};

// A stream of bytes. Gzip (magic bytes 1f 8b, several members allowed) is decompressed transparently.
class InputSource {
 public:
  virtual ~InputSource() = default;
  // Reads up to n bytes; returns 0 only at the end. Throws IoError.
  virtual std::size_t read(char* buffer, std::size_t n) = 0;
  // The name for messages: the path, or "<stdin>".
  const std::string& name() const { return name_; }
  // All the bytes at once, when the source is a regular file mapped into memory (empty otherwise): a line reader
  // can hand out views into it with no copy. A caller uses either this or read(), not both.
  virtual std::string_view mapped() const { return std::string_view(); }
  // Says that the bytes of mapped() before offset are no longer needed, so their pages can leave this process's
  // memory (they stay in the page cache); their views must not be used again.
  virtual void release_mapped_before(std::size_t offset) { (void)offset; }

  // "-" is standard input. Throws IoError when the file cannot be opened.
  static std::unique_ptr<InputSource> open(const std::string& path);
  // An in-memory source (tests, fuzzers).
  static std::unique_ptr<InputSource> from_string(std::string data, std::string name);

 protected:
  explicit InputSource(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

// A buffered output: standard output, or a file that appears under its name only when commit() succeeds
// (written to a temporary file beside it, then renamed), gzip-compressed when the name ends in ".gz" or ".svgz".
class OutputSink {
 public:
  // "" or "-" is standard output.
  static std::unique_ptr<OutputSink> open(const std::string& path);
  // Appends to target, which must outlive the sink (tests, fuzzers). Complete after commit().
  static std::unique_ptr<OutputSink> into_string(std::string& target);
  virtual ~OutputSink() = default;

  void write(std::string_view bytes) {
    if (buffer_.size() + bytes.size() > kFlushAt) flush_buffer();
    if (bytes.size() > kFlushAt) {
      write_through(bytes.data(), bytes.size());
    } else {
      buffer_.append(bytes);
    }
  }
  void put(char c) {
    if (buffer_.size() >= kFlushAt) flush_buffer();
    buffer_.push_back(c);
  }
  // Flushes everything and makes the output final (renames the temporary file). Throws IoError / BrokenPipe.
  virtual void commit() = 0;
  const std::string& name() const { return name_; }

 protected:
  explicit OutputSink(std::string name) : name_(std::move(name)) { buffer_.reserve(kFlushAt + 4096); }
  void flush_buffer() {
    if (!buffer_.empty()) write_through(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  virtual void write_through(const char* data, std::size_t n) = 0;

 private:
  static constexpr std::size_t kFlushAt = 1 << 18;
  std::string name_;
  std::string buffer_;
};

}  // namespace pyfold
