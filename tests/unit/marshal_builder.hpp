#pragma once
// Writes marshal bytes by hand for the marshal and pstats tests (the layout of Python/marshal.c).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace marshal_test {

struct Bytes {
  std::string out;
  Bytes& code(char c, bool flag = false) {
    out.push_back(char(static_cast<unsigned char>(c) | (flag ? 0x80 : 0)));
    return *this;
  }
  Bytes& u8(unsigned v) {
    out.push_back(char(v & 0xff));
    return *this;
  }
  Bytes& i32(std::int64_t v) {
    auto u = static_cast<std::uint32_t>(v);
    for (int k = 0; k < 4; ++k) out.push_back(char((u >> (8 * k)) & 0xff));
    return *this;
  }
  Bytes& raw(const std::string& s) {
    out += s;
    return *this;
  }
  Bytes& integer(std::int32_t v, bool flag = false) { return code('i', flag).i32(v); }
  Bytes& binary_float(double d, bool flag = false) {
    code('g', flag);
    std::uint64_t bits;
    std::memcpy(&bits, &d, 8);
    for (int k = 0; k < 8; ++k) out.push_back(char((bits >> (8 * k)) & 0xff));
    return *this;
  }
  Bytes& short_ascii(const std::string& s, bool flag = false, char c = 'z') { return code(c, flag).u8(unsigned(s.size())).raw(s); }
  Bytes& long_string(char c, const std::string& s, bool flag = false) { return code(c, flag).i32(std::int64_t(s.size())).raw(s); }
  Bytes& small_tuple(unsigned n, bool flag = false) { return code(')', flag).u8(n); }
  Bytes& tuple(std::int64_t n, bool flag = false) { return code('(', flag).i32(n); }
  Bytes& dict(bool flag = false) { return code('{', flag); }
  Bytes& end() { return code('0'); }
  Bytes& ref(std::int64_t index) { return code('r').i32(index); }
};

// A pstats dump the way cProfile writes it in Python 3 (small tuples, short strings, binary floats).
struct Stat {
  std::string file;
  int line;
  std::string name;
  int cc, nc;
  double tt, ct;
  struct Caller {
    std::string file;
    int line;
    std::string name;
    int nc, cc;
    double tt, ct;
  };
  std::vector<Caller> callers;
};

inline void key(Bytes& b, const std::string& file, int line, const std::string& name) {
  b.small_tuple(3).short_ascii(file).integer(line).short_ascii(name, false, 'Z');
}

inline std::string pstats_dump(const std::vector<Stat>& stats) {
  Bytes b;
  b.dict(true);
  for (const Stat& s : stats) {
    key(b, s.file, s.line, s.name);
    b.small_tuple(5).integer(s.cc).integer(s.nc).binary_float(s.tt).binary_float(s.ct).dict();
    for (const auto& c : s.callers) {
      key(b, c.file, c.line, c.name);
      b.small_tuple(4).integer(c.nc).integer(c.cc).binary_float(c.tt).binary_float(c.ct);
    }
    b.end();
  }
  b.end();
  return b.out;
}

inline std::string fixture_dir() {
  const char* dir = std::getenv("PYFOLD_PSTATS_FIXTURES");
  return dir ? dir : "tests/fixtures/pstats";
}

inline std::string read_fixture(const std::string& name) {
  std::ifstream in(fixture_dir() + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// expected.txt: FILE SUM_TOTTIME FUNCTIONS SUM_NC
struct Expected {
  std::string file;
  double tottime;
  int functions;
  long calls;
};
inline std::vector<Expected> expected_dumps() {
  std::ifstream in(fixture_dir() + "/expected.txt");
  std::vector<Expected> out;
  Expected e;
  while (in >> e.file >> e.tottime >> e.functions >> e.calls) out.push_back(e);
  return out;
}

}  // namespace marshal_test
