// The stack walker on memory captured from real interpreters (tests/unit/data/snapshots, made by
// tests/unit/snapshots/make.sh): the same stacks as the live walk that captured them, and a walk that does not reach
// the thread's first frame (a generator's frame whose caller link is gone, as right after it yields) is never
// written, on every version.
#include <catch2/catch.hpp>
#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "pyfold/record/cpython/thread_names.hpp"
#include "snapshot_file.hpp"

using namespace pyfold::record;

namespace {

std::vector<std::string> snapshot_files() {
  std::vector<std::string> files;
  std::string dir = std::string(PYFOLD_UNIT_DATA) + "/snapshots";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 8 && name.compare(name.size() - 8, 8, ".snap.gz") == 0) files.push_back(dir + "/" + name);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string walk(testing::Snapshot& s, StackWalker::Read* result = nullptr, std::string* reason = nullptr) {
  StackWalker walker(s.memory, s.runtime, s.pid);
  std::vector<ThreadStack> stacks;
  StackWalker::Read r = walker.read_stacks(stacks);
  if (result) *result = r;
  if (reason) *reason = walker.last_torn_reason();
  ThreadNames names(s.memory, s.runtime);
  names.update(stacks);
  std::vector<std::string> thread_names;
  for (const ThreadStack& t : stacks) thread_names.push_back(names.name(t));
  return r == StackWalker::Read::ok ? testing::format_stacks(stacks, thread_names) : std::string();
}

}  // namespace

TEST_CASE("stack walker: snapshots of 3.8-3.13 give the stacks the live walk read") {
  auto files = snapshot_files();
  REQUIRE(files.size() >= 7);
  for (const std::string& file : files) {
    INFO(file);
    testing::Snapshot s = testing::load_snapshot(file);
    StackWalker::Read result;
    CHECK(walk(s, &result) == s.stacks);
    CHECK(result == StackWalker::Read::ok);
    // What the target was doing, by design (target.py): generators, a C call re-entering Python, a coroutine in a
    // named thread.
    CHECK(s.stacks.find("walk (") != std::string::npos);
    CHECK(s.stacks.find("spin_key (") != std::string::npos);
    CHECK(s.stacks.find("thread 0 w\xc3\xb6rker") != std::string::npos);
    CHECK(s.stacks.find("consumer (") != std::string::npos);
  }
}

TEST_CASE("stack walker: a walk cut short at a generator is read again, then reported, never written") {
  for (const std::string& file : snapshot_files()) {
    INFO(file);
    testing::Snapshot s = testing::load_snapshot(file);
    // The innermost `walk` generator frame loses its link to its caller, as it does when the generator yields.
    auto at = s.stacks.find("frame 0x");
    std::uint64_t address = 0;
    for (std::size_t pos = at; pos != std::string::npos; pos = s.stacks.find("frame 0x", pos + 1)) {
      auto end = s.stacks.find('\n', pos);
      std::string line = s.stacks.substr(pos, end - pos);
      if (line.find(" walk (") != std::string::npos) {
        address = std::stoull(line.substr(6), nullptr, 16);
        break;
      }
    }
    REQUIRE(address != 0);
    std::uint64_t zero = 0;
    s.memory.add(address + static_cast<std::uint64_t>(s.runtime.layout.offsets.frame_previous), &zero, sizeof zero);
    StackWalker::Read result;
    std::string reason;
    CHECK(walk(s, &result, &reason).empty());
    CHECK(result == StackWalker::Read::torn);
    CHECK(reason == "the walk did not reach the thread's first frame");
  }
}

TEST_CASE("stack walker: a frame that leads nowhere is torn, with its reason") {
  for (const std::string& file : snapshot_files()) {
    INFO(file);
    testing::Snapshot s = testing::load_snapshot(file);
    auto pos = s.stacks.find("frame 0x");
    REQUIRE(pos != std::string::npos);
    std::uint64_t address = std::stoull(s.stacks.substr(pos + 6), nullptr, 16);
    std::uint64_t nowhere = 0x10;  // a previous-frame pointer into unmapped memory
    s.memory.add(address + static_cast<std::uint64_t>(s.runtime.layout.offsets.frame_previous), &nowhere, sizeof nowhere);
    StackWalker::Read result;
    std::string reason;
    CHECK(walk(s, &result, &reason).empty());
    CHECK(result == StackWalker::Read::torn);
    CHECK(reason == "frame unreadable");
  }
}

TEST_CASE("stack walker: <= 3.10, a frame object already freed (on the free list, linked by f_back) is torn") {
  int tested = 0;
  for (const std::string& file : snapshot_files()) {
    INFO(file);
    testing::Snapshot s = testing::load_snapshot(file);
    if (s.runtime.layout.interpreter_frames) continue;  // 3.11+: frames are not objects
    auto pos = s.stacks.find(" spin_key (");
    REQUIRE(pos != std::string::npos);
    pos = s.stacks.rfind("frame 0x", pos);
    std::uint64_t address = std::stoull(s.stacks.substr(pos + 6), nullptr, 16);
    std::int64_t freed = 0;  // ob_refcnt of a frame its function has returned from
    s.memory.add(address, &freed, sizeof freed);
    StackWalker::Read result;
    std::string reason;
    CHECK(walk(s, &result, &reason).empty());
    CHECK(result == StackWalker::Read::torn);
    CHECK(reason == "a frame that was freed");
    ++tested;
  }
  CHECK(tested >= 3);
}

TEST_CASE("stack walker: 3.11, 3.12, a thread entering an eval call (its new cframe not yet set) has its caller's stack") {
  int tested = 0;
  for (const std::string& file : snapshot_files()) {
    INFO(file);
    testing::Snapshot s = testing::load_snapshot(file);
    const GeneratedLayout& o = s.runtime.layout.offsets;
    if (o.cframe_current_frame < 0) continue;  // 3.11 and 3.12 only
    StackWalker before(s.memory, s.runtime, s.pid);
    std::vector<ThreadStack> stacks;
    REQUIRE(before.read_stacks(stacks) == StackWalker::Read::ok);
    std::uint64_t fake_cframe = 0x7f0000000000;  // the captures hold no cframe.previous: one is made up per thread
    for (const ThreadStack& t : stacks) {
      if (t.frames.empty()) continue;
      // The moment between `tstate->cframe = &cframe` and `cframe.current_frame = frame`: the word is C-stack junk,
      // and cframe.previous leads to the caller's cframe, whose current frame is the one below the new eval call's.
      std::uint64_t cframe = 0, junk = 4;
      REQUIRE(s.memory.read_value(t.tstate + static_cast<std::uint64_t>(o.tstate_frame), cframe));
      s.memory.add(cframe + static_cast<std::uint64_t>(o.cframe_current_frame), &junk, sizeof junk);
      auto first = std::find_if(t.frames.begin(), t.frames.end(), [](const FrameRef& r) { return r.entry; });
      std::uint64_t caller = first == t.frames.end() || first + 1 == t.frames.end() ? 0 : (first + 1)->address;
      fake_cframe += 64;
      s.memory.add(cframe + static_cast<std::uint64_t>(o.cframe_previous), &fake_cframe, sizeof fake_cframe);
      s.memory.add(fake_cframe + static_cast<std::uint64_t>(o.cframe_current_frame), &caller, sizeof caller);
    }
    StackWalker walker(s.memory, s.runtime, s.pid);
    std::vector<ThreadStack> entering;
    StackWalker::Read r = walker.read_stacks(entering);
    INFO(walker.last_torn_reason());
    REQUIRE(r == StackWalker::Read::ok);
    REQUIRE(entering.size() == stacks.size());
    for (std::size_t i = 0; i < stacks.size(); ++i) {
      // Expected: the frames below the innermost eval call's first frame (nothing if that was the only one).
      std::vector<std::uint64_t> want, got;
      const auto& f = stacks[i].frames;
      auto first = std::find_if(f.begin(), f.end(), [](const FrameRef& r) { return r.entry; });
      for (auto it = first == f.end() ? f.end() : first + 1; it != f.end(); ++it) want.push_back(it->address);
      for (const FrameRef& r : entering[i].frames) got.push_back(r.address);
      CHECK(got == want);
      tested += !want.empty();
    }
  }
  CHECK(tested >= 2);
}

TEST_CASE("stack walker: 3.11, a frame caught entering its eval call before `is_entry = true` begins an eval call") {
  int tested = 0;
  for (const std::string& file : snapshot_files()) {
    INFO(file);
    testing::Snapshot s = testing::load_snapshot(file);
    const GeneratedLayout& o = s.runtime.layout.offsets;
    const int is_entry = s.runtime.layout.frame_is_entry;
    if (is_entry < 0) continue;  // 3.11 only
    StackWalker before(s.memory, s.runtime, s.pid);
    std::vector<ThreadStack> stacks;
    REQUIRE(before.read_stacks(stacks) == StackWalker::Read::ok);
    for (const ThreadStack& t : stacks) {
      // The moment the thread's innermost eval call began: cframe.current_frame is its first frame, whose
      // is_entry byte is not yet set and whose prev_instr is still _PyCode_CODE(code) - 1.
      auto first = std::find_if(t.frames.begin(), t.frames.end(), [](const FrameRef& r) { return r.entry; });
      if (first == t.frames.end()) continue;
      const std::vector<FrameRef> want(first, t.frames.end());
      std::uint64_t cframe = 0, code = 0;
      REQUIRE(s.memory.read_value(t.tstate + static_cast<std::uint64_t>(o.tstate_frame), cframe));
      s.memory.add(cframe + static_cast<std::uint64_t>(o.cframe_current_frame), &want[0].address, 8);
      REQUIRE(s.memory.read_value(want[0].address + static_cast<std::uint64_t>(o.frame_code), code));
      const unsigned char not_yet = 0;
      s.memory.add(want[0].address + static_cast<std::uint64_t>(is_entry), &not_yet, 1);
      std::uint64_t before_first = code + static_cast<std::uint64_t>(o.code_code) - 2;
      s.memory.add(want[0].address + static_cast<std::uint64_t>(o.frame_instr), &before_first, 8);

      StackWalker walker(s.memory, s.runtime, s.pid);
      std::vector<ThreadStack> now;
      REQUIRE(walker.read_stacks(now) == StackWalker::Read::ok);
      auto it = std::find_if(now.begin(), now.end(), [&](const ThreadStack& n) { return n.tstate == t.tstate; });
      REQUIRE(it != now.end());
      REQUIRE(it->frames.size() == want.size());
      CHECK(it->frames[0].entry);
      CHECK(it->frames[0].line == want[0].code->first_line);
      for (std::size_t i = 1; i < want.size(); ++i) {
        CHECK(it->frames[i].address == want[i].address);
        CHECK(it->frames[i].entry == want[i].entry);
      }
      // Once it runs, the byte says so (and a frame that ran an instruction is never guessed to be an entry).
      s.memory.add(want[0].address + static_cast<std::uint64_t>(is_entry), &not_yet, 1);
      std::uint64_t started = code + static_cast<std::uint64_t>(o.code_code);
      s.memory.add(want[0].address + static_cast<std::uint64_t>(o.frame_instr), &started, 8);
      StackWalker again(s.memory, s.runtime, s.pid);
      REQUIRE(again.read_stacks(now) == StackWalker::Read::ok);
      it = std::find_if(now.begin(), now.end(), [&](const ThreadStack& n) { return n.tstate == t.tstate; });
      REQUIRE(it != now.end());
      CHECK_FALSE(it->frames[0].entry);
      ++tested;
    }
  }
  CHECK(tested >= 2);
}

TEST_CASE("snapshot memory: regions merge, reads inside succeed, reads across a gap fail") {
  SnapshotMemory m;
  m.add(100, "abcd", 4);
  m.add(104, "efgh", 4);
  m.add(102, "XY", 2);
  char out[8];
  REQUIRE(m.read(100, out, 8));
  CHECK(std::string(out, 8) == "abXYefgh");
  CHECK(m.regions().size() == 1);
  m.add(200, "z", 1);
  CHECK_FALSE(m.read(107, out, 2));
  CHECK(m.last_error() == EFAULT);
  MemoryRange ranges[2] = {{100, out, 2}, {150, out + 2, 1}};
  CHECK(m.read_many(ranges, 2) == 1);
}
