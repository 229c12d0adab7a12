// The recorder's core: line-table decoders on real code objects' bytes, the layout table, ELF lookup, the stack
// counter and the command line.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <cstring>
#include <fstream>
#include <sched.h>
#include <set>
#include <thread>
#include <sstream>
#include <sys/syscall.h>
#include <unistd.h>

#include "pyfold/io.hpp"
#include "pyfold/record/os/elf_symbols.hpp"
#include "pyfold/record/cpython/line_table.hpp"
#include "pyfold/record/cpython/off_cpu.hpp"
#include "pyfold/record/cpython/python_layout.hpp"
#include "pyfold/record/cpython/python_process.hpp"
#include "pyfold/record/recorder.hpp"
#include "pyfold/record/inprocess/self_sampler.hpp"
#include "pyfold/record/stack_counter.hpp"

using namespace pyfold::record;

namespace {
std::string unhex(const std::string& hex) {
  std::string out;
  if (hex == "-") return out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}
}  // namespace

TEST_CASE("line tables: every instruction of real code objects of 3.8-3.15 (tests/unit/data/line_tables.txt)") {
  std::ifstream in(PYFOLD_UNIT_DATA "/line_tables.txt");
  REQUIRE(in);
  std::string line;
  int vectors = 0, checked = 0;
  std::set<int> minors;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    int minor, first_line;
    std::string hex, pairs;
    fields >> minor >> first_line >> hex >> pairs;
    Layout layout = layout_for_minor(minor < 13 ? minor : 12);
    std::string table = unhex(hex);
    std::istringstream items(pairs);
    std::string item;
    ++vectors;
    minors.insert(minor);
    while (std::getline(items, item, ',')) {
      long offset = std::stol(item.substr(0, item.find(':')));
      int expected = std::stoi(item.substr(item.find(':') + 1));
      INFO("3." << minor << " first line " << first_line << " table " << hex << " offset " << offset);
      CHECK(line_for(layout.line_table, table, first_line, offset) == expected);
      ++checked;
    }
  }
  CHECK(vectors >= 30);
  CHECK(checked > 500);
  CHECK(minors.size() == 8);
}

TEST_CASE("line tables: before the first instruction, empty and truncated tables give the first line") {
  CHECK(line_for(LineTableKind::location_table, "", 7, -2) == 7);
  CHECK(lnotab_line("", 7, 10) == 7);
  CHECK(linetable310_line("", 7, 10) == 7);
  CHECK(location_table_line("", 7, 10) == 7);
  CHECK(location_table_line(std::string("\xf0", 1), 7, 100) == 7);  // a long-form entry cut short
  CHECK(lnotab_line(std::string("\x04", 1), 7, 10) == 7);           // half a pair
}

TEST_CASE("layout table: the generated rows hold the measured offsets of the reference") {
  CHECK(kGeneratedLayoutCount == 5);
  Layout l38 = layout_for_minor(8), l310 = layout_for_minor(10), l311 = layout_for_minor(11), l312 = layout_for_minor(12);
  CHECK(l38.offsets.runtime_tstate_current == 1368);
  CHECK(l38.offsets.frame_instr == 104);
  CHECK(l38.line_table == LineTableKind::lnotab);
  CHECK(l310.offsets.frame_instr == 96);
  CHECK(l310.lasti_in_code_units);
  CHECK(l311.offsets.tstate_frame == 56);
  CHECK(l311.offsets.cframe_current_frame == 8);
  CHECK(l311.offsets.frame_previous == 48);
  CHECK(l311.offsets.code_code == 184);
  CHECK(l311.skip_owner_from == -1);
  CHECK(l312.offsets.interp_threads_head == 72);
  CHECK(l312.offsets.interp_gil_last_holder == 1048);
  CHECK(l312.offsets.code_code == 192);
  CHECK(l312.offsets.unicode_ascii_size == 40);
  CHECK(l312.skip_owner_from == 3);
  CHECK(l38.offsets.dictkeys_kind == -1);  // 3.8-3.10: no kinds of dict keys
  CHECK(l38.offsets.interp_modules == 56);
  CHECK(l311.offsets.dictkeys_kind == 10);
  CHECK(l312.offsets.long_digits == 24);
  CHECK_THROWS_WITH(layout_for_minor(7), Catch::Contains("3.7 is not supported"));
  CHECK_THROWS_WITH(layout_for_minor(13), Catch::Contains("_Py_DebugOffsets"));
  CHECK_THROWS_WITH(layout_for_minor(14), Catch::Contains("_Py_DebugOffsets"));
  CHECK_THROWS_WITH(layout_for_minor(15), Catch::Contains("_Py_DebugOffsets"));
  CHECK_THROWS_WITH(layout_for_minor(16), Catch::Contains("3.16 is not supported (supported: 3.8 to 3.15)"));
}

namespace {
// A synthetic _Py_DebugOffsets: the cookie, a PY_VERSION_HEX and the offsets given, at one version's field positions.
struct DebugOffsetsBlob {
  std::vector<unsigned char> bytes = std::vector<unsigned char>(kDebugOffsetsReadSize, 0);
  explicit DebugOffsetsBlob(std::uint64_t version) {
    std::memcpy(bytes.data(), "xdebugpy", 8);
    put(kDebugOffsetsVersionAt, version);
  }
  void put(int position, std::uint64_t value) { std::memcpy(bytes.data() + position, &value, 8); }
  Layout read() const { return layout_from_debug_offsets(bytes.data(), bytes.size()); }
};
}  // namespace

TEST_CASE("layout from _Py_DebugOffsets: version and build flavour sit at the same place in every version") {
  CHECK(kDebugOffsets313.version == kDebugOffsetsVersionAt);
  CHECK(kDebugOffsets314.version == kDebugOffsetsVersionAt);
  CHECK(kDebugOffsets315.version == kDebugOffsetsVersionAt);
  CHECK(kDebugOffsets313.free_threaded == kDebugOffsetsFreeThreadedAt);
  CHECK(kDebugOffsets314.free_threaded == kDebugOffsetsFreeThreadedAt);
  CHECK(kDebugOffsets315.free_threaded == kDebugOffsetsFreeThreadedAt);
  // 3.14 added fields in the middle of the struct: the positions differ, so reading 3.14 as 3.13 would be wrong.
  CHECK(kDebugOffsets314.frame_owner != kDebugOffsets313.frame_owner);
  CHECK(kDebugOffsets314.code_code_adaptive != kDebugOffsets313.code_code_adaptive);
  // So did 3.15 (thread_state.base_frame, last_profiled_frame... before thread_id).
  CHECK(kDebugOffsets315.tstate_thread_id != kDebugOffsets314.tstate_thread_id);
  CHECK(kDebugOffsets315.frame_owner != kDebugOffsets314.frame_owner);
  // Every field read lies inside the bytes read.
  for (const DebugOffsetsFields* f : {&kDebugOffsets313, &kDebugOffsets314, &kDebugOffsets315})
    for (int position : {f->type_flags, f->unicode_ascii_size, f->long_digits, f->dict_values})
      CHECK(position + 8 <= static_cast<int>(kDebugOffsetsReadSize));
}

TEST_CASE("layout from _Py_DebugOffsets: 3.13 read, other versions and free-threaded builds refused") {
  DebugOffsetsBlob blob(0x030d00f0);
  const DebugOffsetsFields& f = kDebugOffsets313;
  blob.put(f.interpreters_head, 632);
  blob.put(f.interp_threads_head, 7344);
  blob.put(f.frame_executable, 0);
  blob.put(f.frame_owner, 70);
  blob.put(f.unicode_ascii_size, 40);
  blob.put(f.code_code_adaptive, 200);
  Layout layout = blob.read();
  CHECK(layout.offsets.minor == 13);
  CHECK(layout.offsets.runtime_interpreters_head == 632);
  CHECK(layout.offsets.interp_threads_head == 7344);
  CHECK(layout.offsets.frame_owner == 70);
  CHECK(layout.offsets.unicode_compact_size == 56);
  CHECK(layout.offsets.code_code == 200);
  CHECK(layout.skip_owner_from == 3);
  CHECK(layout.code_pointer_mask == ~std::uint64_t{0});  // f_executable is a plain PyObject*
  CHECK(kDebugOffsets313.tstate_base_frame == -1);  // no base_frame in 3.13's _Py_DebugOffsets
  CHECK(layout.tstate_base_frame == -1);
  CHECK(layout.line_table == LineTableKind::location_table);
  CHECK(layout.offsets.dictkeys_indices == kConstants313.dictkeys_indices);  // not in _Py_DebugOffsets
  CHECK(layout.offsets.dictkeys_indices == 32);
  CHECK(layout.offsets.dictvalues_values == 8);
  blob.put(f.free_threaded, 1);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("3.13 free-threaded builds (python3.13t) are not supported"));
  blob.put(f.free_threaded, 0);
  blob.put(f.version, 0x031000a1);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("CPython 3.16 is not supported (supported: 3.8 to 3.15)"));
  blob.put(f.version, 0x040000f0);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("CPython 4.0 is not supported"));
  blob.put(f.version, 0x030d00f0);
  blob.put(f.interp_threads_head, 1ull << 40);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("out of bounds"));
  blob.bytes[0] = 'y';
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("cookie"));
}

TEST_CASE("layout from _Py_DebugOffsets: 3.14 read at its own field positions, tagged f_executable, owners") {
  // Values as in CPython 3.14's GIL build (reference table): interpreters.head 808, threads.head 7344, owner 74.
  DebugOffsetsBlob blob(0x030e07f0);
  const DebugOffsetsFields& f = kDebugOffsets314;
  blob.put(f.interpreters_head, 808);
  blob.put(f.interp_next, 7272);
  blob.put(f.interp_threads_head, 7344);
  blob.put(f.tstate_current_frame, 72);
  blob.put(f.frame_previous, 8);
  blob.put(f.frame_executable, 0);
  blob.put(f.frame_instr_ptr, 56);
  blob.put(f.frame_owner, 74);
  blob.put(f.unicode_ascii_size, 40);
  blob.put(f.code_code_adaptive, 208);
  blob.put(f.interp_modules, 968);
  Layout layout = blob.read();
  CHECK(layout.offsets.minor == 14);
  CHECK(layout.offsets.runtime_interpreters_head == 808);
  CHECK(layout.offsets.interp_next == 7272);
  CHECK(layout.offsets.interp_threads_head == 7344);
  CHECK(layout.offsets.tstate_frame == 72);
  CHECK(layout.offsets.cframe_current_frame == -1);
  CHECK(layout.offsets.frame_previous == 8);
  CHECK(layout.offsets.frame_instr == 56);
  CHECK(layout.offsets.frame_owner == 74);
  CHECK(layout.offsets.code_code == 208);
  CHECK(layout.offsets.unicode_compact_size == 56);
  CHECK(layout.offsets.interp_modules == 968);
  CHECK(layout.offsets.dictkeys_indices == kConstants314.dictkeys_indices);  // not in _Py_DebugOffsets
  CHECK(layout.offsets.heaptype_cached_keys == kConstants314.heaptype_cached_keys);
  CHECK(layout.interpreter_frames);
  CHECK(layout.line_table == LineTableKind::location_table);
  // FRAME_OWNED_BY_INTERPRETER = 3 (entry frames, f_executable None) and FRAME_OWNED_BY_CSTACK = 4 are skipped;
  // THREAD 0, GENERATOR 1 and FRAME_OBJECT 2 hold Python code.
  CHECK(layout.skip_owner_from == 3);
  // f_executable is a _PyStackRef: a deferred or immortal reference has tag bits set (Py_TAG_REFCNT = 1).
  const std::uint64_t code = 0x7f3a12345670;
  CHECK(((code | 1) & layout.code_pointer_mask) == code);
  CHECK(((code | 3) & layout.code_pointer_mask) == code);
  CHECK((code & layout.code_pointer_mask) == code);
  blob.put(f.free_threaded, 1);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("3.14 free-threaded builds (python3.14t) are not supported"));
  blob.put(f.free_threaded, 0);
  blob.put(f.frame_owner, 1ull << 32);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("out of bounds"));
}

TEST_CASE("layout from _Py_DebugOffsets: 3.15 read at its own field positions, tagged f_executable, owners") {
  // Values as in Debian's CPython 3.15.2 (offsetof on its headers): interpreters.head 936, threads.head 7336.
  DebugOffsetsBlob blob(0x030f02f0);
  const DebugOffsetsFields& f = kDebugOffsets315;
  blob.put(f.interpreters_head, 936);
  blob.put(f.interp_next, 7264);
  blob.put(f.interp_threads_head, 7336);
  blob.put(f.tstate_current_frame, 72);
  blob.put(f.tstate_native_thread_id, 184);
  blob.put(f.frame_previous, 8);
  blob.put(f.frame_instr_ptr, 56);
  blob.put(f.frame_owner, 74);
  blob.put(f.unicode_ascii_size, 40);
  blob.put(f.code_code_adaptive, 208);
  blob.put(f.interp_modules, 7592);
  blob.put(f.tstate_base_frame, 216);
  Layout layout = blob.read();
  CHECK(layout.tstate_base_frame == 216);  // every walk must end at tstate->base_frame
  CHECK(layout.offsets.minor == 15);
  CHECK(layout.offsets.runtime_interpreters_head == 936);
  CHECK(layout.offsets.interp_threads_head == 7336);
  CHECK(layout.offsets.tstate_native_thread_id == 184);
  CHECK(layout.offsets.frame_owner == 74);
  CHECK(layout.offsets.code_code == 208);
  CHECK(layout.offsets.interp_modules == 7592);
  CHECK(layout.offsets.unicode_compact_size == 56);
  CHECK(layout.offsets.dictkeys_indices == kConstants315.dictkeys_indices);  // not in _Py_DebugOffsets
  CHECK(layout.line_table == LineTableKind::location_table);
  // 3.15's _frameowner ends at FRAME_OWNED_BY_INTERPRETER = 3 (entry frames and the thread's base frame).
  CHECK(layout.skip_owner_from == 3);
  const std::uint64_t code = 0x7f3a12345670;
  CHECK(((code | 1) & layout.code_pointer_mask) == code);  // Py_TAG_REFCNT
  CHECK(((code | 3) & layout.code_pointer_mask) == code);  // Py_TAG_BITS
  blob.put(f.free_threaded, 1);
  CHECK_THROWS_WITH(blob.read(), Catch::Contains("3.15 free-threaded builds (python3.15t) are not supported"));
}

extern "C" {
int pyfold_elf_test_symbol = 42;  // looked up in this test binary's own symbol table
}

TEST_CASE("ELF lookup: a symbol of this binary, sections, and a non-ELF file") {
  auto self = ElfFile::open("/proc/self/exe");
  REQUIRE(self);
  auto symbol = self->symbol("pyfold_elf_test_symbol");
  REQUIRE(symbol);
  CHECK(symbol->size == sizeof(int));
  CHECK(self->section(".text"));
  CHECK_FALSE(self->section(".PyRuntime"));
  CHECK_FALSE(self->symbol("no_such_symbol_anywhere"));
  // The symbol's link-time address plus the load bias is where it really is.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::uint64_t start = 0;
  char self_path[4096] = {0};
  REQUIRE(readlink("/proc/self/exe", self_path, sizeof self_path - 1) > 0);
  while (std::getline(maps, line))
    if (line.find(self_path) != std::string::npos && line.find(" 00000000 ") != std::string::npos) {
      start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
      break;
    }
  REQUIRE(start != 0);
  std::uint64_t bias = self->is_executable_type() ? 0 : start - self->first_load_address();
  CHECK(bias + symbol->value == reinterpret_cast<std::uint64_t>(&pyfold_elf_test_symbol));
  CHECK_FALSE(ElfFile::open(PYFOLD_UNIT_DATA "/line_tables.txt"));
  CHECK_FALSE(ElfFile::open("/no/such/file"));
}

TEST_CASE("ELF lookup: Debian's static python3.11 has _PyRuntime in .dynsym and a .PyRuntime section") {
  auto python = ElfFile::open("/usr/bin/python3.11");
  if (!python) {
    WARN("skipped: /usr/bin/python3.11 is not installed");
    return;
  }
  auto runtime = python->symbol("_PyRuntime");
  auto section = python->section(".PyRuntime");
  REQUIRE(runtime);
  REQUIRE(section);
  CHECK(runtime->value == section->value);
  CHECK(python->symbol("PyCode_Type"));
  CHECK(python->symbol("Py_Version"));
}

TEST_CASE("stack counter: merged and sorted, or in time order with repeats merged") {
  for (bool timeline : {false, true}) {
    StackCounter counter(timeline);
    auto a = counter.intern("main (a.py:1)"), b = counter.intern("f (a.py:2)"), c = counter.intern("g (a.py:3)");
    CHECK(counter.intern("main (a.py:1)") == a);
    counter.add({a, c});
    counter.add({a, b});
    counter.add({a, b});
    counter.add({a, c});
    CHECK(counter.total() == 4);
    char path[] = "/tmp/pyfold-counter-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    auto out = pyfold::OutputSink::open(path);
    counter.write(*out);
    out->commit();
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    unlink(path);
    if (timeline) {
      CHECK(text == "main (a.py:1);g (a.py:3) 1\nmain (a.py:1);f (a.py:2) 2\nmain (a.py:1);g (a.py:3) 1\n");
    } else {
      CHECK(text == "main (a.py:1);f (a.py:2) 2\nmain (a.py:1);g (a.py:3) 2\n");
    }
  }
}

TEST_CASE("record command line: defaults, and options end at the program") {
  const char* script[] = {"pyfold-record", "app.py", "--rate", "5"};
  auto cli = parse_record_command_line(4, script);
  RecordOptions defaults;
  CHECK(cli.options.rate == defaults.rate);
  CHECK(cli.options.rate == 1000);
  CHECK(cli.options.mode == SampleMode::wall);
  CHECK(cli.options.python == "python3");
  CHECK(cli.target.command == std::vector<std::string>{"python3", "app.py", "--rate", "5"});

  const char* module[] = {"pyfold-record", "-r", "50", "--python", "/x/python", "-m", "http.server", "-h"};
  cli = parse_record_command_line(8, module);
  CHECK(cli.options.rate == 50);
  CHECK(cli.target.command == std::vector<std::string>{"/x/python", "-m", "http.server", "-h"});

  const char* command[] = {"pyfold-record", "--mode=cpu", "--threads", "--", "sh", "-c", "exec python3 x.py"};
  cli = parse_record_command_line(7, command);
  CHECK(cli.options.mode == SampleMode::cpu);
  CHECK(cli.options.threads);
  CHECK(cli.target.command == std::vector<std::string>{"sh", "-c", "exec python3 x.py"});

  const char* pid[] = {"pyfold-record", "--pid", "123", "-d", "2"};
  cli = parse_record_command_line(5, pid);
  CHECK(cli.target.pid == 123);
  CHECK(cli.options.duration == 2);

  const char* nothing[] = {"pyfold-record"};
  CHECK_THROWS_WITH(parse_record_command_line(1, nothing), Catch::Contains("nothing to record"));
  const char* both[] = {"pyfold-record", "--pid", "1", "app.py"};
  CHECK_THROWS(parse_record_command_line(4, both));
  const char* bad_mode[] = {"pyfold-record", "--mode", "gpu", "app.py"};
  CHECK_THROWS_WITH(parse_record_command_line(4, bad_mode), Catch::Contains("wall, cpu or gil"));
  const char* exclusive[] = {"pyfold-record", "--function", "--nolineno", "app.py"};
  CHECK_THROWS(parse_record_command_line(4, exclusive));
}

TEST_CASE("version from the sys.version text in memory, the last resort of version detection") {
  using namespace std::string_literals;
  CHECK(minor_from_version_text("\0\0003.10.13 (main, May  9 2026, 07:33:04) [GCC 12.2.0]\0"s) == 10);
  CHECK(minor_from_version_text("\0003.8.18 (default, May  9 2026, 07:33:04) \n[GCC 12.2.0]"s) == 8);
  CHECK(minor_from_version_text("\0003.9.18+ (heads/3.9:abc, Jan 1 2026) [GCC]"s) == 9);
  CHECK(minor_from_version_text("libfoo 3.2.0\0"s) == 0);           // no parenthesis: not sys.version
  CHECK(minor_from_version_text("x3.10.1 (main)"s) == 0);           // not at a string's start
  CHECK(minor_from_version_text("\0003.10.1\0 (main)"s) == 0);      // the parenthesis is in another string
  CHECK(minor_from_version_text(""s) == 0);
}

TEST_CASE("thread state from /proc/PID/task/TID/stat through a kept descriptor") {
  ThreadStatReader reader(getpid());
  pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  CHECK(reader.state(self) == 'R');  // reading it, so running
  CHECK(reader.state(self) == 'R');  // the same descriptor again
  CHECK(reader.state(999999999) == '?');
  CHECK_FALSE(thread_name(getpid(), self).empty());
}

TEST_CASE("thread state: descriptors of threads that came and went stay bounded (the in-process sampler's are the "
          "program's)") {
  auto open_fds = [] {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
      while (readdir(d)) ++n;
      closedir(d);
    }
    return n;
  };
  ThreadStatReader reader(getpid());
  const int before = open_fds();
  for (int i = 0; i < 3 * static_cast<int>(ThreadStatReader::kMaxKept); ++i) {
    char state = '?';
    std::thread([&] { state = reader.state(static_cast<pid_t>(syscall(SYS_gettid))); }).join();
    CHECK(state == 'R');
  }
  CHECK(open_fds() - before <= static_cast<int>(ThreadStatReader::kMaxKept));
}

TEST_CASE("off-CPU reads: a thread that slept throughout held still; one that woke in between did not") {
  for (OffCpuReads::Check check : {OffCpuReads::Check::task_clock, OffCpuReads::Check::proc}) {
    const bool clock = check == OffCpuReads::Check::task_clock;
    INFO((clock ? "by the thread's task clock" : "by /proc"));
    int wake[2], woke[2];
    REQUIRE(pipe(wake) == 0);
    REQUIRE(pipe(woke) == 0);
    pid_t sleeper = 0;
    std::thread thread([&] {
      sleeper = static_cast<pid_t>(syscall(SYS_gettid));
      char c;
      for (;;) {
        if (write(woke[1], "x", 1) != 1 || read(wake[0], &c, 1) != 1 || c == 'q') return;  // asleep in read
      }
    });
    char c;
    REQUIRE(read(woke[0], &c, 1) == 1);
    usleep(20000);  // in its read by now
    OffCpuReads reads(getpid(), check);
    reads.before(sleeper);
    if (clock && reads.check() != OffCpuReads::Check::task_clock) {
      WARN("SKIP: the kernel refuses a perf task-clock counter here; /proc is used instead");
    } else {
      CHECK(reads.check() == check);
      usleep(2000);
      CHECK(reads.held_still(sleeper));
      CHECK_FALSE(reads.held_still(static_cast<pid_t>(syscall(SYS_gettid))));  // not the thread noted before

      reads.before(sleeper);
      REQUIRE(write(wake[1], "w", 1) == 1);  // it runs, and sleeps again
      REQUIRE(read(woke[0], &c, 1) == 1);
      usleep(20000);
      CHECK_FALSE(reads.held_still(sleeper));

      pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
      reads.before(self);
      if (clock) {
        // The sampler itself runs between the two reads of its clock: it did not hold still.
        CHECK_FALSE(reads.held_still(self));
      } else {
        // Runnable on the sampler's own CPU: waiting for the sampler, so off its CPU (here, the sampler itself).
        CHECK(reads.held_still(self));
      }
    }
    REQUIRE(write(wake[1], "q", 1) == 1);
    thread.join();
    for (int fd : {wake[0], wake[1], woke[0], woke[1]}) close(fd);
  }
}

TEST_CASE("off-CPU reads: the sampler moves onto the CPU the thread last ran on") {
  cpu_set_t all;
  REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
  if (CPU_COUNT(&all) < 2) {
    WARN("one CPU: nowhere to move");
    return;
  }
  int first = -1, second = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE && second < 0; ++cpu)
    if (CPU_ISSET(cpu, &all)) (first < 0 ? first : second) = cpu;
  pid_t other = 0;
  bool pinned = false;
  int go[2];
  REQUIRE(pipe(go) == 0);
  std::thread thread([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(second, &one);
    pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    other = static_cast<pid_t>(syscall(SYS_gettid));
    char c;
    if (read(go[0], &c, 1) != 1) return;
  });
  while (other == 0) usleep(1000);
  usleep(20000);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  REQUIRE(pinned);
  OffCpuReads reads(getpid());
  CHECK(reads.follow(other));
  CHECK(sched_getcpu() == second);
  CHECK_FALSE(reads.follow(other));  // already there
  CHECK(reads.moves() == 1);
  REQUIRE(write(go[1], "q", 1) == 1);
  thread.join();
  REQUIRE(sched_setaffinity(0, sizeof all, &all) == 0);
}

TEST_CASE("in-process native sampler: the bootstrap's settings text, and what it refuses") {
  using pyfold::record::parse_self_sampler_settings;
  using Lines = pyfold::record::SelfSamplerSettings::Lines;
  auto s = parse_self_sampler_settings("fd=3;rate=250;mode=cpu;threads=1;lines=function;startup=1;async=off;"
                                       "agent=/proc/self/fd/4");
  CHECK(s.rate == 250);
  CHECK(s.mode == pyfold::record::SelfSamplerSettings::Mode::cpu);
  CHECK(s.threads);
  CHECK(s.lines == Lines::function);
  CHECK(s.keep_startup);
  auto d = parse_self_sampler_settings("");
  CHECK(d.rate == 1000);
  CHECK(d.mode == pyfold::record::SelfSamplerSettings::Mode::wall);
  CHECK_FALSE(d.threads);
  CHECK(d.lines == Lines::line);
  CHECK_FALSE(d.keep_startup);
  CHECK(parse_self_sampler_settings("lines=none;mode=wall").lines == Lines::none);
  CHECK_THROWS_AS(parse_self_sampler_settings("rate=0"), std::invalid_argument);
  CHECK_THROWS_AS(parse_self_sampler_settings("rate=fast"), std::invalid_argument);
  CHECK(parse_self_sampler_settings("mode=gil").mode == pyfold::record::SelfSamplerSettings::Mode::gil);
  CHECK_THROWS_AS(parse_self_sampler_settings("mode=all"), std::invalid_argument);
  CHECK_THROWS_AS(parse_self_sampler_settings("lines=some"), std::invalid_argument);
}
