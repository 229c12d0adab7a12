// pyflame-pprof's encoder and builder: wire bytes from the protobuf spec's own examples, de-duplication, root labels.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "pyfold/io.hpp"
#include "pyfold/render/pprof.hpp"
#include "pyfold/render/pprof_cli.hpp"
#include "pyfold/render/proto_writer.hpp"

using namespace pyfold;

namespace {

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += std::string{digits[c >> 4], digits[c & 15]};
  return out;
}

std::string read_all(InputSource& source) {
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = source.read(buffer, sizeof buffer)) > 0;) out.append(buffer, n);
  return out;
}

}  // namespace

TEST_CASE("ProtoWriter writes the encoding guide's examples") {
  ProtoWriter w;
  w.int_field(1, 150);  // "08 96 01" (protobuf.dev, encoding: a simple message)
  CHECK(hex(w.bytes()) == "089601");
  w.clear();
  w.bytes_field(2, "testing");  // "12 07 74 65 73 74 69 6e 67"
  CHECK(hex(w.bytes()) == "120774657374696e67");
  w.clear();
  w.int_field(1, -2);  // int64 negatives: ten bytes, two's complement
  CHECK(hex(w.bytes()) == "08feffffffffffffffff01");
  w.clear();
  w.int_field(3, 0);  // proto3 default: left out
  CHECK(w.bytes().empty());
  CHECK(varint_size(127) == 1);
  CHECK(varint_size(128) == 2);
  CHECK(varint_size(~0ull) == 10);
}

TEST_CASE("PprofBuilder: one function per (name, file), one location per (function, line), roots as labels") {
  PprofBuilder builder{PprofOptions{}};
  builder.add("process 7:\"python3 app.py\";thread (12): MainThread;main (app.py:1);work (app.py:5)", 3);
  builder.add("thread (13): Worker;main (app.py:1);work (app.py:6)", 2);
  builder.add("main (app.py:1);work (app.py:5);<built-in method time.sleep>", 1);
  CHECK(builder.function_count() == 3);  // main, work, the built-in (no file); roots are not functions
  CHECK(builder.location_count() == 4);  // main:1, work:5, work:6, the built-in
  CHECK(builder.total_count() == 6);
  std::string proto = builder.encode();
  CHECK(proto.find("python3 app.py") != std::string::npos);  // the labels' texts are in the string table
  CHECK(proto.find("thread (13): Worker") != std::string::npos);
  CHECK(proto.find("samples") != std::string::npos);
  CHECK(proto.find("count") != std::string::npos);
  CHECK(!builder.rounded());
}

TEST_CASE("PprofBuilder: --interval makes cpu/nanoseconds; fractional values are rounded and said so") {
  PprofOptions options;
  options.interval = parse_interval("1ms");
  PprofBuilder timed(options);
  timed.add("a;b", 2);
  std::string proto = timed.encode();
  CHECK(proto.find("nanoseconds") != std::string::npos);
  CHECK(proto.find("cpu") != std::string::npos);
  CHECK(proto.find(std::string("\x12\x03\x80\x89\x7a")) != std::string::npos);  // Sample.value [2000000], packed
  PprofBuilder plain{PprofOptions{}};
  plain.add("a", 1.5);
  CHECK(plain.rounded());
}

TEST_CASE("gzip_compress is read back by our own gzip reader") {
  std::string text(100000, 'x');
  text += "end";
  std::string packed = gzip_compress(text);
  REQUIRE(packed.size() > 2);
  CHECK(static_cast<unsigned char>(packed[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(packed[1]) == 0x8b);
  CHECK(packed.size() < text.size() / 10);
  // InputSource::open recognises gzip by its magic bytes (from_string does not decompress).
  std::string path = "pprof_test_" + std::to_string(::getpid()) + ".gz";
  std::ofstream(path, std::ios::binary) << packed;
  auto source = InputSource::open(path);
  CHECK(read_all(*source) == text);
  std::remove(path.c_str());
}

TEST_CASE("pyflame-pprof: no arguments give the default options") {
  const char* argv[] = {"pyflame-pprof"};
  PprofCommandLine cli = parse_pprof_command_line(1, argv);
  CHECK(cli.options.interval.nanoseconds == PprofOptions{}.interval.nanoseconds);
  CHECK(cli.options.strict == PprofOptions{}.strict);
  CHECK(cli.inputs.empty());
  CHECK(cli.output.empty());
  const char* timed[] = {"pyflame-pprof", "--interval", "250us", "--strict", "-o", "x.pb.gz", "in.folded"};
  cli = parse_pprof_command_line(7, timed);
  CHECK(cli.options.interval.nanoseconds == 250000);
  CHECK(cli.options.strict);
  CHECK(cli.output == "x.pb.gz");
  CHECK(cli.inputs == std::vector<std::string>{"in.folded"});
}
