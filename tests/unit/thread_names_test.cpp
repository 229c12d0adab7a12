// Thread names on fake memory laid out as CPython 3.10 lays out its objects: sys.modules -> threading -> _active
// and _limbo -> Thread -> _name, _ident, _native_id. A new thread that reuses an ended one's ident and thread state
// takes its own name, never the ended one's; a thread not yet in _active is found in _limbo; a rename is seen
// without a new lookup; a thread threading does not know is looked up less and less often; a Thread's attributes
// cost five reads.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pyfold/record/cpython/thread_names.hpp"

using namespace pyfold::record;

namespace {

// Objects written into a SnapshotMemory, each at an address of its own.
class FakeHeap {
 public:
  FakeHeap() : layout_(layout_for_minor(10)) {
    rt.layout = layout_;
    rt.unicode_type = 0x1000, rt.long_type = 0x1100, rt.code_type = 0x1200, rt.bytes_type = 0x1300;
    rt.runtime = 0x2000;
  }
  SnapshotMemory memory;
  PythonRuntime rt;

  std::uint64_t str(const std::string& text) {
    const GeneratedLayout& o = layout_.offsets;
    // (at least the compact header: a reader reads that much before it knows the string is ASCII)
    std::vector<unsigned char> b(std::max<std::size_t>(static_cast<std::size_t>(o.unicode_ascii_size) + text.size() + 1,
                                                       static_cast<std::size_t>(o.unicode_compact_size)), 0);
    put(b, rt.layout.object_type, rt.unicode_type);
    put(b, o.unicode_length, text.size());
    std::uint32_t state = (1u << 2) | (1u << 5) | (1u << 6);  // kind 1, compact, ascii
    std::memcpy(b.data() + o.unicode_state, &state, 4);
    std::memcpy(b.data() + o.unicode_ascii_size, text.data(), text.size());
    return place(b);
  }
  std::uint64_t integer(std::uint64_t value) {
    const GeneratedLayout& o = layout_.offsets;
    std::vector<unsigned char> b(static_cast<std::size_t>(o.long_digits) + 12, 0);
    put(b, rt.layout.object_type, rt.long_type);
    std::uint32_t digits[3] = {static_cast<std::uint32_t>(value & 0x3fffffff),
                               static_cast<std::uint32_t>((value >> 30) & 0x3fffffff),
                               static_cast<std::uint32_t>(value >> 60)};
    int n = digits[2] ? 3 : digits[1] ? 2 : 1;
    put(b, o.long_size, static_cast<std::uint64_t>(n));
    std::memcpy(b.data() + o.long_digits, digits, 12);
    return place(b);
  }
  // A combined-table dict; returns the dict, and (values) where each value's pointer is.
  std::uint64_t dict(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& items,
                     std::vector<std::uint64_t>* values = nullptr) {
    const GeneratedLayout& o = layout_.offsets;
    const std::uint64_t size = 16;
    std::vector<unsigned char> keys(static_cast<std::size_t>(o.dictkeys_indices + size + 24 * items.size()), 0);
    put(keys, o.dictkeys_size, size);
    put(keys, o.dictkeys_nentries, items.size());
    const std::uint64_t keys_at = next_;
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::size_t entry = static_cast<std::size_t>(o.dictkeys_indices + size + 24 * i);
      put(keys, static_cast<int>(entry + 8), items[i].first);
      put(keys, static_cast<int>(entry + 16), items[i].second);
      if (values) values->push_back(keys_at + entry + 16);
    }
    place(keys);
    std::vector<unsigned char> d(64, 0);
    put(d, o.dict_keys, keys_at);
    put(d, o.dict_values, 0);
    return place(d);
  }
  // A threading.Thread: an instance whose dict (at tp_dictoffset) holds _name, _ident, _native_id. Returns the
  // object; name_slot: where its _name pointer is.
  std::uint64_t thread(const std::string& name, std::uint64_t ident, std::uint64_t native_id,
                       std::uint64_t* name_slot = nullptr, bool ident_set = true) {
    const GeneratedLayout& o = layout_.offsets;
    if (!thread_type_) {
      std::vector<unsigned char> t(static_cast<std::size_t>(o.heaptype_cached_keys + 8), 0);
      put(t, o.type_dictoffset, 16);
      thread_type_ = place(t);
    }
    std::vector<std::uint64_t> slots;
    std::uint64_t d = dict({{str("_name"), str(name)}, {str("_ident"), ident_set ? integer(ident) : str("None")},
                            {str("_native_id"), integer(native_id)}}, &slots);
    if (name_slot) *name_slot = slots[0];
    std::vector<unsigned char> b(32, 0);
    put(b, rt.layout.object_type, thread_type_);
    put(b, 16, d);
    return place(b);
  }
  // sys.modules["threading"] with _active and _limbo as given (replaced on each call).
  void threading(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& active,
                 const std::vector<std::uint64_t>& limbo) {
    const GeneratedLayout& o = layout_.offsets;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> active_items, limbo_items;
    for (const auto& [ident, thread] : active) active_items.emplace_back(integer(ident), thread);
    for (std::uint64_t t : limbo) limbo_items.emplace_back(t, t);
    if (!globals_) {  // found once by ThreadNames: later calls rewrite the same dicts' contents
      active_ = dict({}), limbo_ = dict({});
      globals_ = dict({{str("_active"), active_}, {str("_limbo"), limbo_}});
      std::vector<unsigned char> module(64, 0);
      put(module, o.module_dict, globals_);
      std::uint64_t modules = dict({{str("threading"), place(module)}});
      std::vector<unsigned char> interp(static_cast<std::size_t>(o.interp_modules + 8), 0);
      put(interp, o.interp_modules, modules);
      interp_ = place(interp);
      std::vector<unsigned char> runtime(static_cast<std::size_t>(o.runtime_interpreters_head + 8), 0);
      put(runtime, o.runtime_interpreters_head, interp_);
      memory.add(rt.runtime, runtime.data(), runtime.size());
    }
    repoint(active_, active_items);
    repoint(limbo_, limbo_items);
  }
  void set_pointer(std::uint64_t address, std::uint64_t value) { memory.add(address, &value, 8); }
  std::uint64_t interp() const { return interp_; }

 private:
  void repoint(std::uint64_t dict_at, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& items) {
    std::uint64_t fresh = dict(items), keys = 0;
    memory.read_value(fresh + layout_.offsets.dict_keys, keys);
    set_pointer(dict_at + layout_.offsets.dict_keys, keys);
  }
  static void put(std::vector<unsigned char>& b, int at, std::uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
  std::uint64_t place(const std::vector<unsigned char>& b) {
    std::uint64_t at = next_;
    memory.add(at, b.data(), b.size());
    next_ += (b.size() + 15) / 16 * 16 + 64;  // a gap: no two objects merge into one readable span by accident
    return at;
  }
  Layout layout_;
  std::uint64_t next_ = 0x100000, thread_type_ = 0, globals_ = 0, active_ = 0, limbo_ = 0, interp_ = 0;
};

ThreadStack stack(FakeHeap& heap, std::uint64_t tstate, std::uint64_t serial, std::uint64_t ident, pid_t tid) {
  ThreadStack t;
  t.tstate = tstate, t.interp = heap.interp(), t.serial = serial, t.thread_id = ident, t.tid = tid;
  t.frames.push_back(FrameRef{nullptr, 1});
  return t;
}

}  // namespace

TEST_CASE("thread names: threading's name of each thread, from _active", "[thread_names]") {
  FakeHeap heap;
  std::uint64_t main = heap.thread("MainThread", 0x7f00, 100), worker = heap.thread("worker", 0x7e00, 101);
  heap.threading({{0x7f00, main}, {0x7e00, worker}}, {});
  ThreadNames names(heap.memory, heap.rt);
  std::vector<ThreadStack> stacks = {stack(heap, 0xa000, 1, 0x7f00, 100), stack(heap, 0xb000, 2, 0x7e00, 101),
                                     stack(heap, 0xc000, 3, 0x7d00, 102)};
  names.update(stacks);
  CHECK(names.name(stacks[0]) == "MainThread");
  CHECK(names.name(stacks[1]) == "worker");
  CHECK(names.name(stacks[2]).empty());  // not threading's
}

TEST_CASE("thread names: a new thread with an ended one's ident and thread state takes its own name",
          "[thread_names]") {
  FakeHeap heap;
  std::uint64_t first = heap.thread("churn-0", 0x7e00, 200);
  heap.threading({{0x7e00, first}}, {});
  ThreadNames names(heap.memory, heap.rt);
  std::vector<ThreadStack> stacks = {stack(heap, 0xb000, 2, 0x7e00, 200)};
  names.update(stacks);
  CHECK(names.name(stacks[0]) == "churn-0");
  // churn-0 ended; churn-1 runs on the same thread state and pthread (ident), but _active still holds churn-0's
  // Thread when it is read (or the read came late): the native id tells them apart. churn-1 is in _limbo.
  std::uint64_t second = heap.thread("churn-1", 0x7e00, 201);
  heap.threading({{0x7e00, first}}, {second});
  stacks = {stack(heap, 0xb000, 3, 0x7e00, 201)};
  names.update(stacks);
  CHECK(names.name(stacks[0]) == "churn-1");
  // Registered in _active, then ended; churn-2 comes before threading registers it, its _ident not yet set.
  heap.threading({{0x7e00, second}}, {});
  std::uint64_t third = heap.thread("churn-2", 0, 0);
  heap.threading({}, {third});
  stacks = {stack(heap, 0xb000, 4, 0x7e00, 202)};
  names.update(stacks);
  CHECK(names.name(stacks[0]).empty());  // never churn-1
  // Then registered: named at the next update.
  std::uint64_t registered = heap.thread("churn-2", 0x7e00, 202);
  heap.threading({{0x7e00, registered}}, {});
  names.update(stacks);
  CHECK(names.name(stacks[0]) == "churn-2");
  // The ended threads' stacks ask in vain: their serials are theirs.
  ThreadStack ended = stack(heap, 0xb000, 2, 0x7e00, 200);
  CHECK(names.name(ended) == "churn-0");
}

TEST_CASE("thread names: a rename is seen without a new lookup; a known thread costs none", "[thread_names]") {
  FakeHeap heap;
  std::uint64_t slot = 0, t = heap.thread("Thread-1 (work)", 0x7e00, 300, &slot);
  heap.threading({{0x7e00, t}}, {});
  ThreadNames names(heap.memory, heap.rt);
  std::vector<ThreadStack> stacks = {stack(heap, 0xb000, 2, 0x7e00, 300)};
  names.update(stacks);
  CHECK(names.name(stacks[0]) == "Thread-1 (work)");
  const std::uint64_t lookups = names.lookups();
  for (int i = 0; i < 10; ++i) names.update(stacks);
  CHECK(names.lookups() == lookups);
  heap.set_pointer(slot, heap.str("request-42"));  // thread.name = "request-42"
  for (int i = 0; i < 4; ++i) names.update(stacks);  // checked every 4 updates
  CHECK(names.name(stacks[0]) == "request-42");
  CHECK(names.lookups() == lookups);
}

TEST_CASE("thread names: a thread threading never knows is looked up less and less often", "[thread_names]") {
  FakeHeap heap;
  heap.threading({}, {});
  ThreadNames names(heap.memory, heap.rt);
  std::vector<ThreadStack> stacks = {stack(heap, 0xb000, 2, 0x7e00, 400)};
  for (int i = 0; i < 1000; ++i) names.update(stacks);
  CHECK(names.name(stacks[0]).empty());
  CHECK(names.lookups() >= 16);   // every update while the thread is young
  CHECK(names.lookups() < 50);    // then at most every 64 updates
}

TEST_CASE("thread names: a thread that waits long to start is still looked up at every update", "[thread_names]") {
  // On a loaded machine a new thread can wait many samples for the GIL: first without frames, then in _bootstrap
  // with its Thread in _limbo, ident not set yet. Neither counts as a miss, so it is named as soon as it registers.
  FakeHeap heap;
  heap.threading({}, {});
  ThreadNames names(heap.memory, heap.rt);
  std::vector<ThreadStack> stacks = {stack(heap, 0xb000, 2, 0x7e00, 500)};
  stacks[0].frames.clear();
  for (int i = 0; i < 200; ++i) names.update(stacks);
  stacks[0].frames.push_back(FrameRef{nullptr, 1});
  std::uint64_t other = heap.thread("other", 0x7d00, 501, nullptr, false);  // another thread, just starting
  heap.threading({}, {other});
  for (int i = 0; i < 200; ++i) names.update(stacks);
  const std::uint64_t lookups = names.lookups();
  heap.threading({{0x7e00, heap.thread("late", 0x7e00, 500)}}, {});
  names.update(stacks);
  CHECK(names.name(stacks[0]) == "late");
  CHECK(names.lookups() == lookups + 1);
}

TEST_CASE("attributes: an instance's attributes from one walk of its dict, in five reads", "[thread_names]") {
  FakeHeap heap;
  std::uint64_t name_slot = 0, t = heap.thread("worker", 0x7e00, 101, &name_slot);
  // A live heap has no gaps between its objects: filled, so that a read spanning several objects succeeds here too.
  const auto& regions = heap.memory.regions();
  const std::uint64_t from = regions.begin()->first - 64,
                      to = regions.rbegin()->first + regions.rbegin()->second.size() + 1024;
  std::vector<unsigned char> filled(to - from, 0);
  for (const auto& [at, bytes] : regions) std::memcpy(filled.data() + (at - from), bytes.data(), bytes.size());
  heap.memory.add(from, filled.data(), filled.size());
  RecordingMemory counted(heap.memory);  // counts as ProcessMemory does: a batched read is one process_vm_readv
  PythonObjects objects(counted, heap.rt);
  const std::string_view names[] = {"_ident", "_name", "_missing"};
  std::uint64_t values[3], slots[3] = {0, 0, 0};
  CHECK(objects.attributes(t, names, 3, values, slots) == 2);
  // The object's words, its type's fields, the dict, its keys object with its entries, the keys' texts at once.
  CHECK(counted.read_count() == 5);
  std::string text;
  std::uint64_t ident = 0;
  CHECK((objects.read_int(values[0], ident) && ident == 0x7e00));
  CHECK((objects.read_string(values[1], text) && text == "worker"));
  CHECK(values[2] == 0);
  CHECK(slots[1] == name_slot);
}
