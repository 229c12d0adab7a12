#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/iostreams/copy.hpp>
#include <boost/iostreams/device/back_inserter.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pyfold/io.hpp"
#include "pyfold/line_reader.hpp"

using namespace pyfold;
namespace bio = boost::iostreams;

namespace {
std::string gzip(const std::string& text) {
  std::string out;
  bio::filtering_ostream stream;
  stream.push(bio::gzip_compressor());
  stream.push(bio::back_inserter(out));
  stream << text;
  stream.reset();
  return out;
}
std::string temp_path(const char* name) {
  return std::string("/tmp/pyfold-io-test-") + std::to_string(::getpid()) + "-" + name;
}
void write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
std::string read_all(InputSource& source) {
  std::string out;
  char buf[4096];
  while (std::size_t got = source.read(buf, sizeof buf)) out.append(buf, got);
  return out;
}
std::vector<std::string> lines_of(const std::string& text, std::size_t chunk) {
  auto source = InputSource::from_string(text, "t");
  LineReader reader(*source, chunk);
  std::vector<std::string> lines;
  std::string_view line;
  while (reader.next(line)) lines.emplace_back(line);
  return lines;
}
}  // namespace

TEST_CASE("gzip input is recognised by its magic bytes, whatever the name", "[io]") {
  std::string path = temp_path("plain-name.txt");
  write_file(path, gzip("a;b 1\n") + gzip("c 2\n"));  // two members, as `cat a.gz b.gz` makes
  auto source = InputSource::open(path);
  CHECK(read_all(*source) == "a;b 1\nc 2\n");
  CHECK(source->name() == path);
  std::remove(path.c_str());
}

TEST_CASE("corrupt gzip is an error that names the file", "[io]") {
  std::string path = temp_path("bad.gz");
  std::string data = gzip(std::string(100000, 'x'));
  data.resize(data.size() / 2);
  write_file(path, data);
  auto source = InputSource::open(path);
  try {
    read_all(*source);
    FAIL("no error");
  } catch (const IoError& e) {
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
  std::remove(path.c_str());
}

TEST_CASE("a missing file or a directory is a clear error", "[io]") {
  CHECK_THROWS_WITH(InputSource::open("/nonexistent/x.folded"),
                    "cannot open /nonexistent/x.folded: No such file or directory");
  CHECK_THROWS_WITH(InputSource::open("/tmp"), "cannot read /tmp: is a directory");
}

TEST_CASE("short inputs, including one byte, are not mistaken for gzip", "[io]") {
  std::string path = temp_path("one");
  write_file(path, "\x1f");
  auto source = InputSource::open(path);
  CHECK(read_all(*source) == "\x1f");
  std::remove(path.c_str());
}

TEST_CASE("line reader: CRLF, no final newline, lines longer than the buffer", "[io]") {
  CHECK(lines_of("a\r\nb\n\nc", 16) == std::vector<std::string>{"a", "b", "", "c"});
  std::string long_line(1000, 'z');
  CHECK(lines_of("x\n" + long_line + "\ny\n", 16) == std::vector<std::string>{"x", long_line, "y"});
  CHECK(lines_of("", 16).empty());
  CHECK(lines_of("\n", 16) == std::vector<std::string>{""});
  // A line end split across two reads.
  CHECK(lines_of(std::string(15, 'q') + "\r\nw", 16) == std::vector<std::string>{std::string(15, 'q'), "w"});
}

TEST_CASE("an output file appears only when committed", "[io]") {
  std::string path = temp_path("out.svg");
  std::remove(path.c_str());
  {
    auto out = OutputSink::open(path);
    out->write("half");
    CHECK(::access(path.c_str(), F_OK) != 0);
    // destroyed without commit(): nothing is left behind
  }
  CHECK(::access(path.c_str(), F_OK) != 0);
  auto out = OutputSink::open(path);
  out->write("whole");
  out->commit();
  std::ifstream in(path);
  std::stringstream got;
  got << in.rdbuf();
  CHECK(got.str() == "whole");
  std::remove(path.c_str());
}

TEST_CASE("output names ending in .gz or .svgz are compressed", "[io]") {
  std::string path = temp_path("out.svgz");
  auto out = OutputSink::open(path);
  std::string big(1 << 20, 'y');
  out->write(big);
  out->write("end");
  out->commit();
  auto back = InputSource::open(path);
  CHECK(read_all(*back) == big + "end");
  std::remove(path.c_str());
}

TEST_CASE("writing to a full device is an error", "[io]") {
  auto out = OutputSink::open("/dev/full");
  CHECK_THROWS_WITH(
      [&] {
        out->write(std::string(1 << 20, 'x'));
        out->commit();
      }(),
      "/dev/full: write error: No space left on device");
}

TEST_CASE("the line before the last stays valid across refills and growth", "[io]") {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += std::string(static_cast<std::size_t>(i % 50), 'a' + i % 26) + std::to_string(i) + "\n";
  text += std::string(500, 'L') + "\n" + std::string(700, 'M') + "\n";  // lines longer than the buffer
  auto source = InputSource::from_string(text, "t");
  LineReader reader(*source, 64);
  std::string_view line, previous;
  std::string previous_copy;
  std::size_t count = 0;
  while (reader.next(line)) {
    if (count > 0) REQUIRE(previous == previous_copy);
    previous = line;
    previous_copy = std::string(line);
    ++count;
  }
  CHECK(count == 2002);
  CHECK(previous_copy == std::string(700, 'M'));
}

TEST_CASE("lines ending with a lone CR (old Mac files) are lines; CRLF stays CRLF", "[io]") {
  for (std::size_t chunk : {std::size_t(4), std::size_t(64), std::size_t(1) << 20}) {
    auto source = InputSource::from_string("a;b 1\rc;d 2\r\re 3\nf 4", "mac");
    LineReader reader(*source, chunk);
    std::vector<std::string> lines;
    std::string_view line;
    while (reader.next(line)) lines.emplace_back(line);
    CHECK(lines == std::vector<std::string>{"a;b 1", "c;d 2", "", "e 3", "f 4"});  // an LF still ends a line

    auto crlf = InputSource::from_string("a 1\r\nb\r2 2\r\n", "crlf");
    LineReader crlf_reader(*crlf, chunk);
    lines.clear();
    while (crlf_reader.next(line)) lines.emplace_back(line);
    CHECK(lines == std::vector<std::string>{"a 1", "b\r2 2"});  // a CR inside a CRLF file is a byte of the line
  }
}

TEST_CASE("a large regular file is read in place (mapped) with the same lines as a stream", "[io]") {
  // Over the mapping threshold (1 MiB) and the release step (8 MiB), with every kind of line end the reader knows.
  std::string text;
  for (int i = 0; text.size() < (9u << 20); ++i)
    text += std::string(static_cast<std::size_t>(i % 97), 'a' + i % 26) + ";f" + std::to_string(i) + " " +
            std::to_string(i) + (i % 5 == 0 ? "\r\n" : "\n");
  text += "last line without a newline 7";
  std::string path = temp_path("mapped.folded");
  write_file(path, text);
  auto source = InputSource::open(path);
  REQUIRE(source->mapped().size() == text.size());
  LineReader reader(*source);
  std::vector<std::string> expected = lines_of(text, 1 << 20);
  std::string_view line, previous;
  std::string previous_copy;
  std::size_t count = 0;
  while (reader.next(line)) {
    // The line before stays valid while the pages behind it are given back.
    if (count > 0) REQUIRE(previous == previous_copy);
    REQUIRE(count < expected.size());
    REQUIRE(line == expected[count]);
    previous = line;
    previous_copy = std::string(line);
    ++count;
  }
  CHECK(count == expected.size());
  CHECK(reader.line_number() == expected.size());

  // Lone-CR files are detected in a mapping too.
  std::string mac;
  while (mac.size() < (2u << 20)) mac += "a;b 1\r";
  write_file(path, mac);
  auto mac_source = InputSource::open(path);
  REQUIRE(!mac_source->mapped().empty());
  LineReader mac_reader(*mac_source);
  count = 0;
  while (mac_reader.next(line)) {
    REQUIRE(line == "a;b 1");
    ++count;
  }
  CHECK(count == mac.size() / 6);
  std::remove(path.c_str());
}

TEST_CASE("standard input redirected from a file is mapped from where reading begins", "[io]") {
  std::string path = temp_path("stdin.folded");
  std::string head = "skipped by the caller\n";
  std::string body;
  while (body.size() < (2u << 20)) body += "main;work 3\n";
  write_file(path, head + body);
  int saved = ::dup(0);
  int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::lseek(fd, static_cast<off_t>(head.size()), SEEK_SET) == static_cast<off_t>(head.size()));
  ::dup2(fd, 0);
  ::close(fd);
  auto source = InputSource::open("-");
  ::dup2(saved, 0);
  ::close(saved);
  CHECK(source->mapped() == body);
  std::remove(path.c_str());
}

TEST_CASE("small files and gzip files are read, not mapped", "[io]") {
  std::string path = temp_path("small.folded");
  write_file(path, "a;b 1\n");
  CHECK(InputSource::open(path)->mapped().empty());
  std::string big;
  while (big.size() < (2u << 20)) big += "main;work 3\n";
  write_file(path, gzip(big));
  auto gz = InputSource::open(path);
  CHECK(gz->mapped().empty());
  CHECK(read_all(*gz) == big);
  std::remove(path.c_str());
}

TEST_CASE("a mapped file that shrinks while it is read is a clear error, not a crash", "[io]") {
  std::string path = temp_path("shrinks.folded");
  std::string body;
  while (body.size() < (2u << 20)) body += "main;work 3\n";
  write_file(path, body);
  int err[2];
  REQUIRE(::pipe(err) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // the reader: maps the file, which then loses its second half, and reads on
    ::dup2(err[1], 2);
    auto source = InputSource::open(path);
    if (source->mapped().empty()) ::_exit(3);
    if (::truncate(path.c_str(), 4096) != 0) ::_exit(4);
    LineReader reader(*source);
    std::string_view line;
    while (reader.next(line)) {
    }
    ::_exit(0);
  }
  ::close(err[1]);
  std::string message;
  char buf[512];
  for (ssize_t got; (got = ::read(err[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(got));
  ::close(err[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  std::remove(path.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(message.find(path + ": the file shrank while it was being read") != std::string::npos);
}
