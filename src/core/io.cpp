#include "pyfold/io.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_streambuf.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace io = boost::iostreams;

namespace pyfold {
namespace {

std::string os_error(const std::string& what, int err) { return what + ": " + std::strerror(err); }

// A mapped file that shrinks while it is read (another program truncates or rewrites it) raises SIGBUS at the
// first page past its new end. Say so and exit 1, rather than die with "Bus error".
char bus_message[1024];
std::size_t bus_message_length = 0;
extern "C" void on_sigbus(int) {
  ssize_t ignored = ::write(2, bus_message, bus_message_length);
  (void)ignored;
  ::_exit(1);
}
void explain_sigbus_for(const std::string& name) {
  std::string message =
      std::string(program_invocation_short_name) + ": " + name + ": the file shrank while it was being read\n";
  bus_message_length = std::min(message.size(), sizeof bus_message);
  std::memcpy(bus_message, message.data(), bus_message_length);
  static bool installed = false;
  if (!installed) {
    struct sigaction action {};
    action.sa_handler = on_sigbus;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, nullptr);
    installed = true;
  }
}

// A file descriptor, with up to a few bytes already read ahead (the gzip magic check) served first.
class FdSource final : public InputSource {
 public:
  FdSource(int fd, bool owned, std::string name) : InputSource(std::move(name)), fd_(fd), owned_(owned) {}
  ~FdSource() override {
    if (map_ != nullptr) ::munmap(map_, map_size_);
    if (owned_) ::close(fd_);
  }
  // Maps a regular file of at least kMapAtLeast bytes, from `start` (where reading would begin) to its end, and
  // serves it through mapped(); smaller files and anything that cannot be mapped keep using read().
  void map_regular_file(std::uint64_t start) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return;
    std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    if (start >= size || size - start < kMapAtLeast || size > SIZE_MAX) return;
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (p == MAP_FAILED) return;
    ::madvise(p, size, MADV_SEQUENTIAL);
    explain_sigbus_for(name());
    map_ = p;
    map_size_ = size;
    map_start_ = start;
  }
  std::string_view mapped() const override {
    if (map_ == nullptr) return std::string_view();
    return std::string_view(static_cast<const char*>(map_) + map_start_, map_size_ - map_start_);
  }
  void release_mapped_before(std::size_t offset) override {
    if (map_ == nullptr) return;
    constexpr std::uint64_t kPage = 4096;
    std::uint64_t end = (map_start_ + offset) & ~(kPage - 1);
    if (end > released_) ::madvise(static_cast<char*>(map_) + released_, end - released_, MADV_DONTNEED);
    released_ = std::max(released_, end);
  }
  std::size_t read(char* buffer, std::size_t n) override {
    if (n == 0) return 0;
    if (ahead_used_ < ahead_size_) {
      std::size_t k = std::min(n, ahead_size_ - ahead_used_);
      std::memcpy(buffer, ahead_ + ahead_used_, k);
      ahead_used_ += k;
      return k;
    }
    for (;;) {
      ssize_t got = ::read(fd_, buffer, n);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno == EINTR) continue;
      throw IoError(os_error(name() + ": read error", errno));
    }
  }
  // Reads up to 2 bytes ahead and says whether they are the gzip magic.
  bool starts_with_gzip_magic() {
    while (ahead_size_ < 2) {
      std::size_t got = raw_read(ahead_ + ahead_size_, 2 - ahead_size_);
      if (got == 0) break;
      ahead_size_ += got;
    }
    return ahead_size_ == 2 && static_cast<unsigned char>(ahead_[0]) == 0x1f &&
           static_cast<unsigned char>(ahead_[1]) == 0x8b;
  }

 private:
  std::size_t raw_read(char* buffer, std::size_t n) {
    for (;;) {
      ssize_t got = ::read(fd_, buffer, n);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno == EINTR) continue;
      throw IoError(os_error(name() + ": read error", errno));
    }
  }
  static constexpr std::uint64_t kMapAtLeast = 1 << 20;
  int fd_;
  bool owned_;
  void* map_ = nullptr;
  std::uint64_t map_size_ = 0, map_start_ = 0, released_ = 0;
  char ahead_[2] = {0, 0};
  std::size_t ahead_size_ = 0, ahead_used_ = 0;
};

// Boost.Iostreams device over another InputSource.
class SourceDevice {
 public:
  using char_type = char;
  using category = io::source_tag;
  explicit SourceDevice(InputSource* inner) : inner_(inner) {}
  std::streamsize read(char* s, std::streamsize n) {
    std::size_t got = inner_->read(s, static_cast<std::size_t>(n));
    return got == 0 ? -1 : static_cast<std::streamsize>(got);
  }

 private:
  InputSource* inner_;
};

class GzipSource final : public InputSource {
 public:
  explicit GzipSource(std::unique_ptr<InputSource> inner) : InputSource(inner->name()), inner_(std::move(inner)) {
    stream_.push(io::gzip_decompressor());
    stream_.push(SourceDevice(inner_.get()));
  }
  std::size_t read(char* buffer, std::size_t n) override {
    try {
      std::streamsize got = stream_.sgetn(buffer, static_cast<std::streamsize>(n));
      return got > 0 ? static_cast<std::size_t>(got) : 0;
    } catch (const io::gzip_error& e) {
      throw IoError(name() + ": invalid gzip data (" + gzip_reason(e) + ")");
    } catch (const IoError&) {
      throw;
    } catch (const std::exception& e) {
      throw IoError(name() + ": cannot decompress: " + e.what());
    }
  }

 private:
  static std::string gzip_reason(const io::gzip_error& e) {
    switch (e.error()) {
      case io::gzip::bad_crc: return "CRC mismatch";
      case io::gzip::bad_length: return "length mismatch";
      case io::gzip::bad_header: return "bad header";
      case io::gzip::bad_footer: return "truncated or bad footer";
      case io::gzip::zlib_error: return "corrupt deflate stream";
      default: return e.what();
    }
  }
  std::unique_ptr<InputSource> inner_;
  io::filtering_streambuf<io::input> stream_;
};

class StringSource final : public InputSource {
 public:
  StringSource(std::string data, std::string name) : InputSource(std::move(name)), data_(std::move(data)) {}
  std::size_t read(char* buffer, std::size_t n) override {
    std::size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buffer, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  std::size_t pos_ = 0;
};

void write_all(int fd, const char* data, std::size_t n, const std::string& name) {
  while (n > 0) {
    ssize_t put = ::write(fd, data, n);
    if (put < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) throw BrokenPipe();
      throw IoError(os_error(name + ": write error", errno));
    }
    data += put;
    n -= static_cast<std::size_t>(put);
  }
}

class FdSink : public OutputSink {
 public:
  FdSink(int fd, std::string name) : OutputSink(std::move(name)), fd_(fd) {}
  void commit() override { flush_buffer(); }

 protected:
  void write_through(const char* data, std::size_t n) override { write_all(fd_, data, n, name()); }
  int fd_;
};

// A regular file written under a temporary name and renamed into place by commit(), so a reader never sees a
// half-written file under the final name. Devices and FIFOs (e.g. /dev/full) are written directly.
class FileSink final : public FdSink {
 public:
  explicit FileSink(const std::string& path) : FdSink(-1, path) {
    struct stat st {};
    bool special = ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
    if (special) {
      fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0) throw IoError(os_error("cannot open " + path, errno));
      return;
    }
    temp_ = path + ".tmp.XXXXXX";
    fd_ = ::mkstemp(temp_.data());
    if (fd_ < 0) throw IoError(os_error("cannot create " + temp_, errno));
    // mkstemp makes the file 0600; give it the permissions a plain open() would.
    mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd_, 0666 & ~mask);
  }
  ~FileSink() override {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }
  void commit() override {
    flush_buffer();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw IoError(os_error(name() + ": write error", errno));
    if (!temp_.empty()) {
      if (::rename(temp_.c_str(), name().c_str()) != 0) throw IoError(os_error("cannot rename to " + name(), errno));
      temp_.clear();
    }
  }

 private:
  std::string temp_;
};

// Boost.Iostreams sink device over an FdSink-like writer.
class WriterDevice {
 public:
  using char_type = char;
  using category = io::sink_tag;
  explicit WriterDevice(OutputSink* inner) : inner_(inner) {}
  std::streamsize write(const char* s, std::streamsize n) {
    inner_->write(std::string_view(s, static_cast<std::size_t>(n)));
    return n;
  }

 private:
  OutputSink* inner_;
};

class GzipSink final : public OutputSink {
 public:
  explicit GzipSink(std::unique_ptr<OutputSink> inner) : OutputSink(inner->name()), inner_(std::move(inner)) {
    stream_.push(io::gzip_compressor());
    stream_.push(WriterDevice(inner_.get()));
  }
  void commit() override {
    flush_buffer();
    try {
      stream_.reset();  // writes the gzip trailer
    } catch (const std::ios_base::failure& e) {
      throw IoError(name() + ": cannot compress: " + e.what());
    }
    inner_->commit();
  }

 protected:
  void write_through(const char* data, std::size_t n) override {
    if (stream_.sputn(data, static_cast<std::streamsize>(n)) != static_cast<std::streamsize>(n))
      throw IoError(name() + ": write error");
  }

 private:
  std::unique_ptr<OutputSink> inner_;
  io::filtering_streambuf<io::output> stream_;
};

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::unique_ptr<InputSource> InputSource::open(const std::string& path) {
  std::unique_ptr<FdSource> raw;
  off_t start = 0;  // where reading begins: standard input redirected from a file may be past its start
  if (path == "-") {
    raw = std::make_unique<FdSource>(0, false, "<stdin>");
    start = ::lseek(0, 0, SEEK_CUR);
  } else {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError(os_error("cannot open " + path, errno));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd);
      throw IoError("cannot read " + path + ": is a directory");
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    raw = std::make_unique<FdSource>(fd, true, path);
  }
  if (raw->starts_with_gzip_magic()) return std::make_unique<GzipSource>(std::move(raw));
  if (start >= 0) raw->map_regular_file(static_cast<std::uint64_t>(start));
  return raw;
}

std::unique_ptr<InputSource> InputSource::from_string(std::string data, std::string name) {
  return std::make_unique<StringSource>(std::move(data), std::move(name));
}

class StringSink final : public OutputSink {
 public:
  explicit StringSink(std::string& target) : OutputSink("<memory>"), target_(target) {}
  void commit() override { flush_buffer(); }

 protected:
  void write_through(const char* data, std::size_t n) override { target_.append(data, n); }

 private:
  std::string& target_;
};

std::unique_ptr<OutputSink> OutputSink::into_string(std::string& target) {
  return std::make_unique<StringSink>(target);
}

std::unique_ptr<OutputSink> OutputSink::open(const std::string& path) {
  std::unique_ptr<OutputSink> sink;
  if (path.empty() || path == "-") {
    // Into a pipe, megabytes of output go 1 MB at a time (the most Linux gives without privileges) rather than the
    // default 64 KB: writer and reader then wait on each other 16 times less often (`pyfold collapse DUMP | cat`
    // of the pstats benchmark's 4.5 MB: 0.90x the wall time).
    struct stat st;
    if (::fstat(1, &st) == 0 && S_ISFIFO(st.st_mode)) ::fcntl(1, F_SETPIPE_SZ, 1 << 20);
    return std::make_unique<FdSink>(1, "<stdout>");
  }
  sink = std::make_unique<FileSink>(path);
  if (ends_with(path, ".gz") || ends_with(path, ".svgz")) return std::make_unique<GzipSink>(std::move(sink));
  return sink;
}

}  // namespace pyfold
