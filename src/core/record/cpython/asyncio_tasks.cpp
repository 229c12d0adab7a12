// --async from outside (3.14+): task lists, awaited_by sets and coroutine chains, read in batches (one read_many a
// level of the await chains, the task list from the last sample's order), then turned into task stacks.
#include "pyfold/record/cpython/asyncio_tasks.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unordered_set>

#include "pyfold/record/os/elf_symbols.hpp"

namespace pyfold::record {

namespace {

constexpr std::size_t kMaxTasks = 1 << 16;     // a thread's task list
constexpr std::size_t kMaxChain = 256;         // coroutines in one await chain, tasks in one awaiter chain
constexpr std::int64_t kMaxSetSize = 1 << 16;  // awaited_by entries
constexpr std::uint64_t kUserSpaceEnd = std::uint64_t{1} << 47;

std::uint64_t u64_at(const unsigned char* p, std::uint64_t offset) {
  std::uint64_t v;
  std::memcpy(&v, p + offset, 8);
  return v;
}

bool plausible_pointer(std::uint64_t p) { return p != 0 && (p & 7) == 0 && p < kUserSpaceEnd; }

// Reads every range it can: a range that cannot be read is marked, the others are still read.
void read_each(MemoryReader& memory, std::vector<MemoryRange>& ranges, std::vector<bool>& ok) {
  ok.assign(ranges.size(), false);
  for (std::size_t done = 0; done < ranges.size();) {
    std::size_t got = memory.read_many(ranges.data() + done, ranges.size() - done);
    for (std::size_t i = done; i < done + got; ++i) ok[i] = true;
    done += got + (done + got < ranges.size() ? 1 : 0);
  }
}

struct Mapping {
  std::uint64_t start = 0, offset = 0;
  std::string path;
};

std::vector<Mapping> file_mappings(pid_t pid) {
  std::vector<Mapping> maps;
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long start, end, offset;
    char perms[8] = {0};
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &consumed) < 4) continue;
    if (consumed <= 0 || static_cast<std::size_t>(consumed) >= line.size() || line[consumed] != '/') continue;
    maps.push_back({start, offset, line.substr(consumed)});
  }
  return maps;
}

}  // namespace

AsyncioOffsets asyncio_offsets_from(const unsigned char* bytes, std::size_t size) {
  if (size < kAsyncioOffsetsSize) throw std::runtime_error("_Py_AsyncioModuleDebugOffsets: short read");
  std::uint64_t v[13];
  std::memcpy(v, bytes, sizeof v);
  AsyncioOffsets o{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]};
  auto inside = [](std::uint64_t offset, std::uint64_t width, std::uint64_t size) { return offset + width <= size; };
  if (o.task_size == 0 || o.task_size > 4096 || !inside(o.task_name, 8, o.task_size) ||
      !inside(o.task_awaited_by, 8, o.task_size) || !inside(o.task_is_task, 1, o.task_size) ||
      !inside(o.task_awaited_by_is_set, 1, o.task_size) || !inside(o.task_coro, 8, o.task_size) ||
      !inside(o.task_node, 16, o.task_size) || o.tstate_size > 65536 || !inside(o.running_loop, 8, o.tstate_size) ||
      !inside(o.running_task, 8, o.tstate_size) || !inside(o.tstate_tasks_head, 16, o.tstate_size) ||
      o.interp_size > (1u << 24) || !inside(o.interp_tasks_head, 16, o.interp_size))
    throw std::runtime_error("_Py_AsyncioModuleDebugOffsets: an offset out of bounds");
  return o;
}

AsyncioTasks::AsyncioTasks(MemoryReader& memory, const PythonRuntime& runtime, StackWalker& walker, pid_t pid)
    : memory_(memory), rt_(runtime), walker_(walker), objects_(memory, runtime), pid_(pid) {}

bool AsyncioTasks::supported(const PythonRuntime& runtime) { return runtime.layout.coroutines.gen_iframe >= 0; }

bool AsyncioTasks::find_offsets() {
  if (found_) return true;
  if (!supported(rt_)) return false;
  // Every call until found (a sample taken after the import but attributed without tasks would be wrong), but each
  // file is opened once.
  for (const Mapping& m : file_mappings(pid_)) {
    std::string base = m.path.substr(m.path.rfind('/') + 1);
    if (m.offset != 0 || (base.find("python") == std::string::npos && base.find("_asyncio") == std::string::npos))
      continue;
    if (!searched_.insert(m.path + "@" + std::to_string(m.start)).second) continue;
    auto elf = ElfFile::open("/proc/" + std::to_string(pid_) + "/root" + m.path);
    if (!elf) continue;
    auto section = elf->section(".AsyncioDebug");
    if (!section || section->size < kAsyncioOffsetsSize) continue;
    std::uint64_t bias = elf->is_executable_type() ? 0 : m.start - elf->first_load_address();
    unsigned char bytes[kAsyncioOffsetsSize];
    if (!memory_.read(bias + section->value, bytes, sizeof bytes)) continue;
    try {
      offsets_ = asyncio_offsets_from(bytes, sizeof bytes);
    } catch (const std::runtime_error&) {
      continue;
    }
    found_ = true;
    walker_.read_thread_words(static_cast<int>(offsets_.running_loop), static_cast<int>(offsets_.running_task));
    return true;
  }
  return false;
}

const char* AsyncioTasks::read(const std::vector<ThreadStack>& stacks, AsyncMode mode, std::vector<ThreadTasks>& out) {
  ++calls_;
  out.assign(stacks.size(), ThreadTasks{});
  tasks_.clear();
  tasks_seen_ = 0;
  if (!found_) return nullptr;
  if (names_.size() > kMaxTasks * 4) names_.clear();
  if (markers_.size() > kMaxTasks * 4) {  // no stack holds a marker between samples
    markers_.clear();
    for (auto& [task, named] : names_) named.marker = nullptr;
  }
  std::vector<std::uint64_t> leaves, ancestors, list, wanted;
  for (std::size_t i = 0; i < stacks.size(); ++i) {
    const ThreadStack& thread = stacks[i];
    std::uint64_t loop = thread.words[0], running = thread.words[1];
    if (!loop) continue;
    ThreadTasks& tasks = out[i];
    tasks.asyncio = true;
    tasks.task_running = running != 0;
    if (running && !plausible_pointer(running)) return "a running task pointer that is not one";
    leaves.clear();
    if (mode == AsyncMode::running) {
      if (running) leaves.push_back(running);
      if (const char* problem = read_tasks(leaves)) return problem;
    } else {
      if (const char* problem = list_thread_tasks(thread.tstate, list)) return problem;
      // The running task is in the list too; a task is a leaf when no task of the list awaits it.
      std::unordered_set<std::uint64_t> awaited;
      for (std::uint64_t t : list) {
        if (const char* problem = read_parents(tasks_[t])) return problem;
        for (std::uint64_t p : tasks_[t].parents) awaited.insert(p);
      }
      for (std::uint64_t t : list)
        if (!awaited.count(t)) leaves.push_back(t);
    }
    // The awaiters of the leaves, level by level (each level read in one go), then every waiting chain at once.
    ancestors.clear();
    std::unordered_set<std::uint64_t> seen(leaves.begin(), leaves.end());
    std::vector<std::uint64_t> level = leaves;
    for (std::size_t depth = 0; !level.empty() && depth < kMaxChain; ++depth) {
      std::vector<std::uint64_t> next;
      for (std::uint64_t t : level) {
        if (!tasks_[t].parents_read)
          if (const char* problem = read_parents(tasks_[t])) return problem;
        for (std::uint64_t p : tasks_[t].parents)
          if (seen.insert(p).second) next.push_back(p);
      }
      if (const char* problem = read_tasks(next)) return problem;
      ancestors.insert(ancestors.end(), next.begin(), next.end());
      level.swap(next);
    }
    wanted.clear();
    for (std::uint64_t t : leaves)
      if (t != running) wanted.push_back(t);
    wanted.insert(wanted.end(), ancestors.begin(), ancestors.end());
    if (running) wanted.push_back(running);  // its chain, should its frame not be on the thread's stack
    if (const char* problem = read_chains(wanted)) return problem;
    for (std::uint64_t t : leaves) {
      tasks.stacks.emplace_back();
      if (const char* problem = build(t, t == running ? &thread : nullptr, tasks.stacks.back())) return problem;
    }
  }
  tasks_seen_ = tasks_.size();
  return nullptr;
}

// Reads the task objects not read yet in this call, in one go.
const char* AsyncioTasks::read_tasks(const std::vector<std::uint64_t>& addresses) {
  std::vector<std::uint64_t> fresh;
  for (std::uint64_t a : addresses)
    if (!tasks_.count(a)) fresh.push_back(a);
  if (fresh.empty()) return nullptr;
  const std::size_t size = offsets_.task_size;
  buffer_.resize(fresh.size() * size);
  ranges_.clear();
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    if (!plausible_pointer(fresh[i])) return "a task pointer that is not one";
    ranges_.push_back({fresh[i], buffer_.data() + i * size, size});
  }
  std::vector<bool> ok;
  read_each(memory_, ranges_, ok);
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    if (!ok[i]) return "task object unreadable";
    const unsigned char* b = buffer_.data() + i * size;
    Task t;
    t.coro = u64_at(b, offsets_.task_coro);
    t.name = u64_at(b, offsets_.task_name);
    t.awaited_by = u64_at(b, offsets_.task_awaited_by);
    t.next_node = u64_at(b, offsets_.task_node + static_cast<std::uint64_t>(rt_.layout.coroutines.llist_next));
    t.is_task = b[offsets_.task_is_task] != 0;
    t.awaited_by_is_set = b[offsets_.task_awaited_by_is_set] != 0;
    tasks_[fresh[i]] = std::move(t);
  }
  return nullptr;
}

// The tasks of a thread's list (tstate->asyncio_tasks_head, linked through each task's task_node). The tasks of the
// last call's list are read first in one go; the walk then follows each task's own next pointer, reading what it
// did not expect one by one.
const char* AsyncioTasks::list_thread_tasks(std::uint64_t tstate, std::vector<std::uint64_t>& list) {
  list.clear();
  std::vector<std::uint64_t>& expected = order_[tstate];
  if (const char* problem = read_tasks(expected)) {  // freed since: walk live
    (void)problem;
    for (std::uint64_t t : expected) tasks_.erase(t);
  }
  const std::uint64_t head = tstate + offsets_.tstate_tasks_head;
  std::uint64_t node = 0;
  if (!memory_.read_value(head + static_cast<std::uint64_t>(rt_.layout.coroutines.llist_next), node))
    return "task list unreadable";
  while (node != head) {
    if (list.size() >= kMaxTasks) return "more than 65536 tasks on one thread";
    if (!plausible_pointer(node) || node < offsets_.task_node) return "a broken task list";
    std::uint64_t task = node - offsets_.task_node;
    if (!tasks_.count(task))
      if (const char* problem = read_tasks({task})) return problem;
    const Task& t = tasks_[task];
    if (!t.is_task) return "a task list entry that is not a task";
    list.push_back(task);
    node = t.next_node;
  }
  expected = list;
  return nullptr;
}

// The tasks awaiting this one: task_awaited_by is one task, or a set of them.
const char* AsyncioTasks::read_parents(Task& task) {
  task.parents.clear();
  task.parents_read = true;
  if (!task.awaited_by) return nullptr;
  if (!plausible_pointer(task.awaited_by)) return "an awaited_by pointer that is not one";
  if (!task.awaited_by_is_set) {
    task.parents.push_back(task.awaited_by);
    return nullptr;
  }
  const Layout::Coroutines& c = rt_.layout.coroutines;
  const int header = std::max({c.set_used, c.set_mask, c.set_table}) + 8;
  unsigned char h[256];
  if (header > static_cast<int>(sizeof h) || !memory_.read(task.awaited_by, h, static_cast<std::size_t>(header)))
    return "awaited_by set unreadable";
  std::int64_t used, mask;
  std::memcpy(&used, h + c.set_used, 8);
  std::memcpy(&mask, h + c.set_mask, 8);
  std::uint64_t table = u64_at(h, static_cast<std::uint64_t>(c.set_table));
  if (mask < 0 || mask >= kMaxSetSize || used < 0 || used > mask + 1) return "a broken awaited_by set";
  std::vector<std::uint64_t> entries(2 * static_cast<std::size_t>(mask + 1));  // (key, hash)
  if (!memory_.read(table, entries.data(), entries.size() * 8)) return "awaited_by set unreadable";
  for (std::size_t i = 0; i < entries.size(); i += 2)
    if (plausible_pointer(entries[i])) task.parents.push_back(entries[i]);
  // A removed entry holds the set's dummy key: keep the entries that are tasks.
  if (const char* problem = read_tasks(task.parents)) return problem;
  task.parents.erase(std::remove_if(task.parents.begin(), task.parents.end(),
                                    [&](std::uint64_t p) { return !tasks_[p].is_task; }),
                     task.parents.end());
  std::sort(task.parents.begin(), task.parents.end());
  return nullptr;
}

// The await chains of these tasks, from each task's coroutine: the coroutine's frame, then, while it is suspended in
// an `await`, the object it awaits (a slot below its frame's stack pointer) when that is a coroutine or generator.
// Each step reads every chain's next object in one go.
const char* AsyncioTasks::read_chains(const std::vector<std::uint64_t>& tasks) {
  const Layout& layout = rt_.layout;
  const GeneratedLayout& o = layout.offsets;
  const Layout::Coroutines& c = layout.coroutines;
  const std::uint64_t frame_end =
      static_cast<std::uint64_t>(std::max({o.frame_code, o.frame_instr, o.frame_owner, c.frame_stackpointer}) + 8);
  const std::uint64_t size = static_cast<std::uint64_t>(std::max(c.gen_iframe, c.gen_frame_state)) + frame_end;
  struct Cursor {
    std::uint64_t task, object;
    std::vector<StackWalker::RawFrame> raw;  // outermost first
  };
  std::vector<Cursor> cursors, next;
  for (std::uint64_t t : tasks) {
    Task& task = tasks_[t];
    if (task.chain_read) continue;
    task.chain_read = true;
    if (task.coro) cursors.push_back({t, task.coro, {}});
  }
  std::vector<Cursor> finished;
  std::vector<bool> ok;
  for (std::size_t depth = 0; !cursors.empty(); ++depth) {
    if (depth >= kMaxChain) return "an await chain deeper than 256";
    buffer_.resize(cursors.size() * size);
    ranges_.clear();
    for (std::size_t i = 0; i < cursors.size(); ++i) ranges_.push_back({cursors[i].object, buffer_.data() + i * size, size});
    read_each(memory_, ranges_, ok);
    std::vector<std::uint64_t> slots(cursors.size(), 0);
    std::vector<MemoryRange> slot_ranges;
    next.clear();
    for (std::size_t i = 0; i < cursors.size(); ++i) {
      Cursor& cur = cursors[i];
      const unsigned char* g = buffer_.data() + i * size;
      std::uint64_t type = ok[i] ? u64_at(g, static_cast<std::uint64_t>(layout.object_type)) : 0;
      bool coroutine = ok[i] && (type == rt_.coro_type || type == rt_.gen_type);
      if (!coroutine) {  // a future, an iterator: the chain ends (the task's own coroutine must be one)
        if (cur.raw.empty()) return "a task's coroutine that is not one";
        finished.push_back(std::move(cur));
        continue;
      }
      auto state = static_cast<std::int8_t>(g[c.gen_frame_state]);
      const unsigned char* f = g + c.gen_iframe;
      if (state > c.executing) {  // completed or cleared (the states after executing, in 3.14 and 3.15): no frame
        finished.push_back(std::move(cur));
        continue;
      }
      if (f[o.frame_owner] != 1) return "a coroutine that does not own its frame";  // FRAME_OWNED_BY_GENERATOR
      cur.raw.push_back({u64_at(f, static_cast<std::uint64_t>(o.frame_code)) & layout.code_pointer_mask,
                         u64_at(f, static_cast<std::uint64_t>(o.frame_instr)), cur.object + c.gen_iframe});
      std::uint64_t stackpointer = u64_at(f, static_cast<std::uint64_t>(c.frame_stackpointer));
      if ((state == c.yield_from || state == c.yield_from_locked) && plausible_pointer(stackpointer)) {
        slot_ranges.push_back({stackpointer - 8 * static_cast<std::uint64_t>(c.awaited_slot), nullptr, 8});
        next.push_back(std::move(cur));
      } else {
        finished.push_back(std::move(cur));
      }
    }
    // The awaited objects, in one go; the tag bits of a stack reference (3.14+) cleared.
    for (std::size_t k = 0; k < slot_ranges.size(); ++k) slot_ranges[k].out = &slots[k];
    read_each(memory_, slot_ranges, ok);
    cursors.clear();
    for (std::size_t k = 0; k < next.size(); ++k) {
      std::uint64_t awaited = ok[k] ? slots[k] & ~std::uint64_t{7} : 0;
      if (plausible_pointer(awaited)) {
        next[k].object = awaited;
        cursors.push_back(std::move(next[k]));
      } else {
        finished.push_back(std::move(next[k]));
      }
    }
  }
  for (Cursor& cur : finished) {
    std::reverse(cur.raw.begin(), cur.raw.end());  // innermost first
    Task& task = tasks_[cur.task];
    if (const char* problem = walker_.resolve_frames(cur.raw, task.chain)) return problem;
  }
  return nullptr;
}

// A leaf task's stack, innermost first: its own frames (the thread's, down to its coroutine's frame, when it runs),
// its marker, then each awaiting task's chain and marker, up to a task nothing awaits. A task awaited by several
// goes under the one at the lowest address, its marker saying how many await it.
const char* AsyncioTasks::build(std::uint64_t leaf, const ThreadStack* running_on, std::vector<FrameRef>& out) {
  out.clear();
  const Task& task = tasks_[leaf];
  bool own = false;
  if (running_on && task.coro) {
    const std::uint64_t frame = task.coro + static_cast<std::uint64_t>(rt_.layout.coroutines.gen_iframe);
    for (std::size_t i = 0; i < running_on->frames.size(); ++i) {
      if (running_on->frames[i].address != frame) continue;
      out.assign(running_on->frames.begin(), running_on->frames.begin() + static_cast<long>(i) + 1);
      own = true;
      break;
    }
  }
  // Not on the stack: between its step's start and its coroutine's first instruction; its suspended chain is where
  // it is.
  if (!own) out.insert(out.end(), task.chain.begin(), task.chain.end());
  visited_.assign(1, leaf);
  std::uint64_t current = leaf;
  for (std::size_t depth = 0;; ++depth) {
    const Task& t = tasks_[current];
    out.push_back(task_frame(current, t.parents.size()));
    if (t.parents.empty() || depth >= kMaxChain) break;
    std::uint64_t parent = t.parents.front();
    if (std::find(visited_.begin(), visited_.end(), parent) != visited_.end()) break;  // a cycle: stop there
    visited_.push_back(parent);
    const Task& p = tasks_[parent];
    out.insert(out.end(), p.chain.begin(), p.chain.end());
    current = parent;
  }
  return nullptr;
}

FrameRef AsyncioTasks::task_frame(std::uint64_t task, std::size_t parents) {
  Named& named = task_name(task);
  if (named.marker && named.marker_parents == parents) return FrameRef{named.marker, 0, 0};
  std::string text = "<task> " + named.text;
  if (parents > 1) text += " (awaited by " + std::to_string(parents) + ")";
  auto& slot = markers_[text];
  if (!slot) {
    slot = std::make_unique<CodeInfo>();
    slot->name = text;
  }
  named.marker = slot.get();
  named.marker_parents = parents;
  return FrameRef{slot.get(), 0, 0};
}

// A task's name: its str, or Task-N for the number a nameless task keeps (3.14+ name tasks lazily).
AsyncioTasks::Named& AsyncioTasks::task_name(std::uint64_t task) {
  const Task& t = tasks_[task];
  Named& named = names_[task];
  std::string& text = named.text;
  if (named.object == t.name && !text.empty()) return named;
  named.object = t.name;
  named.marker = nullptr;
  std::uint64_t number = 0, type = 0;
  if (memory_.read_value(t.name + static_cast<std::uint64_t>(rt_.layout.object_type), type) && type == rt_.long_type &&
      objects_.read_int(t.name, number)) {
    text = "Task-" + std::to_string(number);
  } else if (!objects_.read_string(t.name, text)) {
    text = "?";
  }
  if (text.empty()) text = "\"\"";
  return named;
}

}  // namespace pyfold::record
