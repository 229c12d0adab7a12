#pragma once
// Memory snapshots of real interpreters for the stack walker's unit tests (tests/unit/snapshots/README.md): the
// runtime's addresses, every byte range a walk read, and what the walk found. Text, gzip-compressed:
//   pyfold-snapshot 1
//   python 3.11
//   runtime 0x... code 0x... unicode 0x... bytes 0x... long 0x... pid N
//   thread N NAME                       (one per thread, then its frames, innermost first:)
//   frame 0xADDRESS NAME (FILE:LINE)
//   region 0xADDRESS HEXBYTES           (one per captured range)
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pyfold/frame_text.hpp"
#include "pyfold/io.hpp"
#include "pyfold/record/cpython/python_layout.hpp"
#include "pyfold/record/cpython/python_objects.hpp"
#include "pyfold/record/cpython/stack_walker.hpp"

namespace pyfold::record::testing {

struct Snapshot {
  int minor = 0;
  PythonRuntime runtime;  // layout filled by load_snapshot
  pid_t pid = 0;
  std::string stacks;  // format_stacks of what the capturing walk read
  SnapshotMemory memory;
};

// The stacks as the snapshot file lists them; names: threading's name of each thread ("" when unknown).
inline std::string format_stacks(const std::vector<ThreadStack>& stacks, const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < stacks.size(); ++i) {
    out += "thread " + std::to_string(i) + " " + (i < names.size() ? names[i] : std::string()) + "\n";
    for (const FrameRef& f : stacks[i].frames) {
      char address[32];
      std::snprintf(address, sizeof address, "0x%llx ", static_cast<unsigned long long>(f.address));
      out += std::string("frame ") + address;
      append_frame_text(out, f.code->name, f.code->filename, f.line);
      out += "\n";
    }
  }
  return out;
}

inline std::string hex_of(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += digits[c >> 4], out += digits[c & 15];
  return out;
}

inline void save_snapshot(const std::string& path, const Snapshot& s) {
  auto out = OutputSink::open(path);
  char line[256];
  std::snprintf(line, sizeof line, "pyfold-snapshot 1\npython 3.%d\nruntime 0x%llx code 0x%llx unicode 0x%llx bytes 0x%llx long 0x%llx pid %d\n",
                s.minor, static_cast<unsigned long long>(s.runtime.runtime),
                static_cast<unsigned long long>(s.runtime.code_type), static_cast<unsigned long long>(s.runtime.unicode_type),
                static_cast<unsigned long long>(s.runtime.bytes_type), static_cast<unsigned long long>(s.runtime.long_type),
                static_cast<int>(s.pid));
  out->write(line);
  out->write(s.stacks);
  for (const auto& [address, bytes] : s.memory.regions()) {
    std::snprintf(line, sizeof line, "region 0x%llx ", static_cast<unsigned long long>(address));
    out->write(line);
    out->write(hex_of(bytes));
    out->write("\n");
  }
  out->commit();
}

// Reads a snapshot file and derives its layout (3.8-3.12 from the table, 3.13+ from the captured _Py_DebugOffsets).
// Throws std::runtime_error naming the file and line.
inline Snapshot load_snapshot(const std::string& path) {
  auto in = InputSource::open(path);
  std::string text;
  char buffer[65536];
  for (std::size_t n; (n = in->read(buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  Snapshot s;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  auto bad = [&](const std::string& why) { return std::runtime_error(path + ":" + std::to_string(number) + ": " + why); };
  while (std::getline(lines, line)) {
    ++number;
    std::istringstream words(line);
    std::string word;
    words >> word;
    if (word == "pyfold-snapshot" || word.empty()) continue;
    if (word == "python") {
      std::string version;
      words >> version;
      if (version.rfind("3.", 0) != 0) throw bad("bad python version");
      s.minor = std::stoi(version.substr(2));
    } else if (word == "runtime") {
      std::string name, value;
      words >> value;
      s.runtime.runtime = std::stoull(value, nullptr, 16);
      while (words >> name >> value) {
        std::uint64_t v = std::stoull(value, nullptr, 0);
        if (name == "code") s.runtime.code_type = v;
        else if (name == "unicode") s.runtime.unicode_type = v;
        else if (name == "bytes") s.runtime.bytes_type = v;
        else if (name == "long") s.runtime.long_type = v;
        else if (name == "pid") s.pid = static_cast<pid_t>(v);
      }
    } else if (word == "thread" || word == "frame") {
      s.stacks += line + "\n";
    } else if (word == "region") {
      std::string address, hex;
      words >> address >> hex;
      if (hex.size() % 2) throw bad("odd number of hex digits");
      std::string bytes(hex.size() / 2, '\0');
      for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
      s.memory.add(std::stoull(address, nullptr, 16), bytes.data(), bytes.size());
    } else {
      throw bad("unknown line '" + word + "'");
    }
  }
  if (!s.minor || !s.runtime.runtime) throw bad("no python or runtime line");
  if (s.minor <= 12) {
    s.runtime.layout = layout_for_minor(s.minor);
  } else {
    std::vector<unsigned char> debug(kDebugOffsetsReadSize);
    if (!s.memory.read(s.runtime.runtime, debug.data(), debug.size())) throw bad("no _Py_DebugOffsets captured");
    s.runtime.layout = layout_from_debug_offsets(debug.data(), debug.size());
  }
  return s;
}

}  // namespace pyfold::record::testing
