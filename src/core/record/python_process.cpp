// Finding CPython in a process and walking runtime -> interpreters -> thread states -> frames -> code objects.
#include "pyfold/record/python_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "pyfold/record/elf_symbols.hpp"
#include "pyfold/record/line_table.hpp"

namespace pyfold::record {

namespace {

constexpr std::size_t kMaxDepth = 1 << 16;      // frames per thread
constexpr std::size_t kMaxThreads = 4096;        // thread states per interpreter
constexpr std::size_t kMaxInterpreters = 256;
constexpr std::uint64_t kMaxStringLength = 1 << 16;
constexpr std::uint64_t kMaxTableLength = 1 << 22;
constexpr std::size_t kMaxCodeCache = 1 << 16;

struct Mapping {
  std::uint64_t start = 0, end = 0, offset = 0;
  bool writable = false;
  std::string path;
};

std::vector<Mapping> read_maps(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/maps";
  std::ifstream in(path);
  if (!in) {
    int e = errno;
    if (e == ENOENT || access(("/proc/" + std::to_string(pid)).c_str(), F_OK) != 0)
      throw AttachError(AttachError::Kind::no_process, "no process with PID " + std::to_string(pid));
    if (e == EACCES || e == EPERM) throw AttachError(AttachError::Kind::permission, permission_advice(pid));
    throw AttachError(AttachError::Kind::other, "cannot read " + path + ": " + std::strerror(e));
  }
  std::vector<Mapping> maps;
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    char perms[8] = {0};
    unsigned long long start, end, offset;
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &consumed) < 4)
      continue;
    m.start = start, m.end = end, m.offset = offset;
    m.writable = perms[1] == 'w';
    if (consumed > 0 && static_cast<std::size_t>(consumed) < line.size()) m.path = line.substr(consumed);
    if (!m.path.empty() && m.path[0] == '/') maps.push_back(std::move(m));
  }
  if (maps.empty() && in.bad())
    throw AttachError(AttachError::Kind::permission, permission_advice(pid));
  return maps;
}

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "3.X" from a name such as libpython3.10.so.1.0 or python3.9 (0 when absent); flags debug/free-threaded names.
int minor_from_name(const std::string& name, char& flavour) {
  auto at = name.find("python3.");
  if (at == std::string::npos) return 0;
  std::size_t i = at + 8;
  int minor = 0;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) minor = minor * 10 + (name[i++] - '0');
  flavour = i < name.size() && (name[i] == 'd' || name[i] == 't') ? name[i] : 0;
  return minor;
}

}  // namespace

int minor_from_version_text(std::string_view memory) {
  // "3.10.13 (main, May  9 2026, 07:33:04) [GCC 12.2.0]": "3.", a minor, ".", a micro, then " (" soon after.
  for (std::size_t at = memory.find("3."); at != std::string_view::npos; at = memory.find("3.", at + 1)) {
    if (at > 0 && memory[at - 1] != '\0') continue;  // sys.version starts its buffer
    std::size_t i = at + 2;
    int minor = 0, digits = 0;
    while (i < memory.size() && std::isdigit(static_cast<unsigned char>(memory[i])) && digits < 3)
      minor = minor * 10 + (memory[i++] - '0'), ++digits;
    if (!digits || i >= memory.size() || memory[i] != '.') continue;
    std::size_t micro = ++i;
    while (i < memory.size() && std::isdigit(static_cast<unsigned char>(memory[i]))) ++i;
    if (i == micro) continue;
    std::size_t paren = memory.find(" (", i);
    if (paren != std::string_view::npos && paren - i <= 12 && memory.find('\0', i) > paren) return minor;
  }
  return 0;
}

namespace {

std::uint64_t u64_at(const unsigned char* p, int offset) {
  std::uint64_t v;
  std::memcpy(&v, p + offset, 8);
  return v;
}
int max_offset(std::initializer_list<int> offsets) {
  int m = 0;
  for (int o : offsets) m = std::max(m, o);
  return m + 8;
}

}  // namespace

std::unique_ptr<PythonProcess> PythonProcess::attach(pid_t pid) {
  std::vector<Mapping> maps = read_maps(pid);
  std::string exe;
  {
    char buf[4096];
    ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
    if (n > 0) exe.assign(buf, static_cast<std::size_t>(n));
  }
  // Candidates: files named like python first (libpython, python3.X), then the executable.
  std::vector<const Mapping*> candidates;
  for (const Mapping& m : maps) {
    if (m.offset != 0) continue;
    bool seen = std::any_of(candidates.begin(), candidates.end(), [&](const Mapping* c) { return c->path == m.path; });
    if (!seen && basename_of(m.path).find("python") != std::string::npos) candidates.push_back(&m);
  }
  for (const Mapping& m : maps)
    if (m.offset == 0 && m.path == exe &&
        std::none_of(candidates.begin(), candidates.end(), [&](const Mapping* c) { return c->path == m.path; }))
      candidates.push_back(&m);

  std::unique_ptr<PythonProcess> process(new PythonProcess(pid));
  for (const Mapping* m : candidates) {
    std::string path = m->path;
    const std::string deleted = " (deleted)";
    if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0) {
      char range[64];
      std::snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(m->start),
                    static_cast<unsigned long long>(m->end));
      path = "/proc/" + std::to_string(pid) + "/map_files/" + range;
    } else {
      path = "/proc/" + std::to_string(pid) + "/root" + path;
    }
    auto elf = ElfFile::open(path);
    if (!elf) continue;
    auto runtime = elf->symbol("_PyRuntime");
    if (!runtime) runtime = elf->section(".PyRuntime");
    if (!runtime) {
      if (elf->symbol("Py_Initialize"))  // an interpreter, but one from before _PyRuntime (3.7)
        throw AttachError(AttachError::Kind::unsupported,
                          m->path + " is a Python older than 3.7 (no _PyRuntime): not supported (supported: " +
                              kSupportedPythons + ")");
      continue;
    }
    std::uint64_t bias = elf->is_executable_type() ? 0 : m->start - elf->first_load_address();
    process->runtime_ = bias + runtime->value;
    process->runtime_file_ = m->path;
    // A program started through the dynamic loader (ld-linux-x86-64.so.2 python3.X, as tests/pythons/fetch.sh's
    // wrappers do) is mapped by the loader, which first maps the whole file read-only over the span of all its
    // segments, then maps the writable data over it. In between, _PyRuntime's address shows unrelated file bytes
    // (no _Py_DebugOffsets cookie, a wrong version): not Python yet, so a launched program is polled again.
    for (const Mapping& data : maps)
      if (data.start <= process->runtime_ && process->runtime_ < data.end && !data.writable)
        throw AttachError(AttachError::Kind::not_python,
                          "PID " + std::to_string(pid) + ": _PyRuntime in " + m->path + " is not mapped yet");
    auto code_type = elf->symbol("PyCode_Type");
    auto unicode_type = elf->symbol("PyUnicode_Type");
    auto bytes_type = elf->symbol("PyBytes_Type");
    if (!code_type || !unicode_type || !bytes_type)
      throw AttachError(AttachError::Kind::unsupported,
                        m->path + " has _PyRuntime but no PyCode_Type/PyUnicode_Type/PyBytes_Type symbols");
    process->code_type_ = bias + code_type->value;
    process->unicode_type_ = bias + unicode_type->value;
    process->bytes_type_ = bias + bytes_type->value;
    if (auto long_type = elf->symbol("PyLong_Type")) process->long_type_ = bias + long_type->value;
    if (elf->symbol("_Py_RefTotal"))
      throw AttachError(AttachError::Kind::unsupported,
                        m->path + " is a debug build of CPython (Py_REF_DEBUG): not supported");

    // Version: _Py_DebugOffsets, then Py_Version, then the file name.
    std::vector<unsigned char> debug(kDebugOffsetsReadSize);
    if (!process->memory_.read(process->runtime_, debug.data(), debug.size())) {
      int e = process->memory_.last_error();
      if (e == EPERM || e == EACCES) throw AttachError(AttachError::Kind::permission, permission_advice(pid));
      if (e == ESRCH) throw AttachError(AttachError::Kind::no_process, "no process with PID " + std::to_string(pid));
      debug.assign(kDebugOffsetsReadSize, 0);
    }
    int minor = 0;
    if (std::memcmp(debug.data(), "xdebugpy", 8) == 0) {
      try {
        process->layout_ = layout_from_debug_offsets(debug.data(), debug.size());
      } catch (const std::runtime_error& e) {
        throw AttachError(AttachError::Kind::unsupported, e.what() + std::string(" (found in ") + m->path + ")");
      }
      minor = process->layout_.offsets.minor;
    } else {
      if (auto version = elf->symbol("Py_Version")) {
        std::uint64_t hex = 0;
        if (process->memory_.read(bias + version->value, &hex, 4)) {
          if (((hex >> 24) & 0xff) != 3)
            throw AttachError(AttachError::Kind::unsupported, "unexpected Py_Version in " + m->path);
          minor = static_cast<int>((hex >> 16) & 0xff);
        }
      }
      char flavour = 0;
      int named = minor_from_name(basename_of(m->path), flavour);
      if (!minor) minor = named;
      if (!minor) {  // last resort: the sys.version text Py_GetVersion() keeps in the file's .bss
        if (auto bss = elf->section(".bss"); bss && bss->size < (64u << 20)) {
          std::string text(bss->size, '\0');
          if (process->memory_.read(bias + bss->value, text.data(), text.size())) minor = minor_from_version_text(text);
        }
      }
      if (flavour == 'd' || flavour == 't')
        throw AttachError(AttachError::Kind::unsupported,
                          m->path + (flavour == 'd' ? " is a debug build" : " is a free-threaded build") +
                              " of CPython: not supported");
      if (!minor)
        throw AttachError(AttachError::Kind::unsupported, "cannot tell the Python version of " + m->path);
      if (minor >= 13)
        throw AttachError(AttachError::Kind::unsupported,
                          "CPython 3." + std::to_string(minor) + " without _Py_DebugOffsets in " + m->path);
      try {
        process->layout_ = layout_for_minor(minor);
      } catch (const std::exception& e) {
        throw AttachError(AttachError::Kind::unsupported, e.what() + std::string(" (found in ") + m->path + ")");
      }
    }
    process->version_ = "3." + std::to_string(minor);
    const GeneratedLayout& o = process->layout_.offsets;
    process->frame_read_size_ = max_offset({o.frame_previous, o.frame_code, o.frame_instr, o.frame_owner});
    process->code_read_size_ = max_offset({process->layout_.object_type, o.code_firstlineno, o.code_filename,
                                           o.code_name, o.code_qualname, o.code_linetable});
    process->tstate_read_size_ = max_offset({o.tstate_next, o.tstate_interp, o.tstate_frame, o.tstate_thread_id,
                                             o.tstate_native_thread_id, process->layout_.tstate_base_frame});
    process->buffer_.resize(4096);
    // The fixed buffers the walker reads into must hold what the layout asks for (3.13+: offsets come from the
    // target itself).
    if (process->frame_read_size_ > 4096 || process->tstate_read_size_ > 4096 || process->code_read_size_ > 256 ||
        o.unicode_compact_size > 128 || o.unicode_state + 4 > o.unicode_ascii_size || o.bytes_sval > 64 ||
        o.unicode_length + 8 > o.unicode_compact_size || o.bytes_size + 8 > o.bytes_sval ||
        (o.frame_owner >= 0 && o.frame_owner >= process->frame_read_size_))
      throw AttachError(AttachError::Kind::unsupported,
                        "CPython " + process->version_ + " in " + m->path + " has an unexpected object layout");
    return process;
  }
  throw AttachError(AttachError::Kind::not_python,
                    "PID " + std::to_string(pid) + " is not a Python process (no _PyRuntime in any mapped file)");
}

bool PythonProcess::initialized() {
  std::uint64_t head = 0;
  return memory_.read_value(runtime_ + layout_.offsets.runtime_interpreters_head, head) && head != 0;
}

PythonProcess::Read PythonProcess::fail(const char* reason) {
  torn_reason_ = reason;
  if (memory_.last_error() == ESRCH) return Read::gone;
  return Read::torn;
}

PythonProcess::Read PythonProcess::read_stacks(std::vector<ThreadStack>& stacks) {
  stacks.clear();
  ++read_number_;
  page_start_ = page_end_ = 0;  // nothing kept from the previous sample
  const GeneratedLayout& o = layout_.offsets;
  std::uint64_t interp = 0;
  if (!memory_.read_value(runtime_ + o.runtime_interpreters_head, interp)) return fail("runtime unreadable");
  // <= 3.11 keep the GIL in the runtime; 3.12+ in each interpreter.
  std::uint64_t gil_holder = 0;
  auto read_gil = [&](std::uint64_t base, int locked_at, int holder_at) {
    unsigned char block[32];
    int lo = std::min(locked_at, holder_at), span = std::max(locked_at, holder_at) - lo + 8;
    if (span > static_cast<int>(sizeof block) || !memory_.read(base + lo, block, span)) return;
    int locked;
    std::memcpy(&locked, block + (locked_at - lo), sizeof locked);
    gil_holder = locked ? u64_at(block, holder_at - lo) : 0;
  };
  if (o.runtime_gil_locked >= 0) read_gil(runtime_, o.runtime_gil_locked, o.runtime_gil_last_holder);
  for (std::size_t n = 0; interp != 0; ++n) {
    if (n >= kMaxInterpreters) return fail("too many interpreters");
    if (o.interp_gil_locked >= 0) read_gil(interp, o.interp_gil_locked, o.interp_gil_last_holder);
    std::uint64_t tstate = 0;
    if (!memory_.read_value(interp + o.interp_threads_head, tstate)) return fail("interpreter unreadable");
    for (std::size_t t = 0; tstate != 0; ++t) {
      if (t >= kMaxThreads) return fail("too many thread states");
      stacks.emplace_back();
      std::uint64_t next = 0;
      if (!read_thread(tstate, interp, stacks.back(), next)) return fail(torn_reason_.c_str());
      stacks.back().holds_gil = gil_holder == tstate;
      tstate = next;
    }
    if (!memory_.read_value(interp + o.interp_next, interp)) return fail("interpreter list unreadable");
  }
  // <= 3.10: the tid's place in struct pthread is learnt from the main thread, which comes last in the list.
  for (ThreadStack& t : stacks)
    if (t.tid == 0 && t.thread_id != 0 && tid_offset_ >= 0) t.tid = tid_of(t.thread_id);
  return Read::ok;
}

bool PythonProcess::read_thread(std::uint64_t tstate, std::uint64_t interp, ThreadStack& out, std::uint64_t& next) {
  const GeneratedLayout& o = layout_.offsets;
  unsigned char* b = buffer_.data();
  if (!memory_.read(tstate, b, tstate_read_size_)) return torn_reason_ = "thread state unreadable", false;
  if (u64_at(b, o.tstate_interp) != interp) return torn_reason_ = "thread state of another interpreter", false;
  next = u64_at(b, o.tstate_next);
  out.tstate = tstate;
  out.thread_id = u64_at(b, o.tstate_thread_id);
  std::uint64_t frame = u64_at(b, o.tstate_frame);
  out.tid = o.tstate_native_thread_id >= 0 ? static_cast<pid_t>(u64_at(b, o.tstate_native_thread_id) & 0xffffffff)
                                           : tid_of(out.thread_id);
  std::uint64_t frame_at = tstate + o.tstate_frame;  // where the innermost frame's address is kept
  // 3.15+: tstate->base_frame points to the frame embedded in the thread state (read before the walk reuses b).
  std::uint64_t base_frame = layout_.tstate_base_frame >= 0 ? u64_at(b, layout_.tstate_base_frame) : 0;
  if (o.cframe_current_frame >= 0) {
    if (frame == 0) return true;
    frame_at = frame + o.cframe_current_frame;
    if (!memory_.read_value(frame_at, frame)) return torn_reason_ = "cframe unreadable", false;
  }
  if (!walk_frames(frame, out.frames)) return false;
  // 3.15+: every chain ends at the frame the thread state embeds (base_frame, owner FRAME_OWNED_BY_INTERPRETER).
  // A generator that yields sets its frame's `previous` to NULL; resumed again before the check below (its frame
  // lives in the generator, so at the same address) it would pass as a whole stack cut short at the generator.
  if (base_frame != 0 && last_frame_ != 0 && last_frame_ != base_frame)
    return torn_reason_ = "the stack did not reach the thread's base frame", false;
  // A call or return during the walk splices two stacks: the innermost frame must not have changed meanwhile.
  std::uint64_t after = 0;
  if (!out.frames.empty() && (!memory_.read_value(frame_at, after) || after != frame))
    return torn_reason_ = "the stack changed during the read", false;
  return true;
}

bool PythonProcess::walk_frames(std::uint64_t frame, std::vector<FrameRef>& out) {
  const GeneratedLayout& o = layout_.offsets;
  visited_.clear();
  last_frame_ = 0;
  unsigned char* b = buffer_.data();
  while (frame != 0) {
    last_frame_ = frame;
    if (out.size() >= kMaxDepth) return torn_reason_ = "stack deeper than 65536 frames", false;
    if (!visited_.insert(frame).second) return torn_reason_ = "a cycle in the frame chain", false;
    if (!read_frame(frame, b)) return torn_reason_ = "frame unreadable", false;
    std::uint64_t code = u64_at(b, o.frame_code) & layout_.code_pointer_mask;
    std::uint64_t previous = u64_at(b, o.frame_previous);
    if (layout_.skip_owner_from >= 0 && b[o.frame_owner] >= layout_.skip_owner_from) {
      frame = previous;  // a C-stack shim frame: no Python code
      continue;
    }
    CodeInfo* info = code_info(code);
    if (!info) return false;
    long offset;
    if (layout_.interpreter_frames) {
      std::uint64_t instr = u64_at(b, o.frame_instr);
      offset = static_cast<long>(instr - (code + static_cast<std::uint64_t>(o.code_code)));
    } else {
      int lasti;
      std::memcpy(&lasti, b + o.frame_instr, sizeof lasti);
      offset = layout_.lasti_in_code_units ? 2L * lasti : lasti;
    }
    int line = line_for(layout_.line_table, info->line_table, info->first_line, offset);
    // No line for the offset: the frame has not run its first instruction yet (it is at its first line), or the
    // read caught it mid-change; its function is right either way.
    if (line <= 0) line = info->first_line;
    out.push_back(FrameRef{info, line});
    frame = previous;
  }
  return true;
}

bool PythonProcess::read_frame(std::uint64_t address, unsigned char* out) {
  const std::uint64_t size = static_cast<std::uint64_t>(frame_read_size_);
  if (!layout_.interpreter_frames) return memory_.read(address, out, size);
  if (address >= page_start_ && address + size <= page_end_) {
    std::memcpy(out, page_.data() + (address - page_start_), size);
    return true;
  }
  constexpr std::uint64_t kPage = 4096;
  std::uint64_t start = address & ~(kPage - 1), end = (address + size + kPage - 1) & ~(kPage - 1);
  page_.resize(end - start);
  if (!memory_.read(start, page_.data(), end - start)) {
    page_start_ = page_end_ = 0;
    return memory_.read(address, out, size);  // e.g. the next page is not mapped
  }
  page_start_ = start, page_end_ = end;
  std::memcpy(out, page_.data() + (address - start), size);
  return true;
}

CodeInfo* PythonProcess::code_info(std::uint64_t code) {
  const GeneratedLayout& o = layout_.offsets;
  auto found = code_cache_.find(code);
  if (found != code_cache_.end() && found->second->checked_in_read == read_number_) return found->second.get();
  unsigned char block[256];
  if (!memory_.read(code, block, code_read_size_)) return torn_reason_ = "code object unreadable", nullptr;
  if (u64_at(block, layout_.object_type) != code_type_) return torn_reason_ = "not a code object", nullptr;
  int first_line;
  std::memcpy(&first_line, block + o.code_firstlineno, sizeof first_line);
  std::uint64_t filename = u64_at(block, o.code_filename);
  std::uint64_t name = u64_at(block, o.code_qualname >= 0 ? o.code_qualname : o.code_name);
  std::uint64_t table = u64_at(block, o.code_linetable);
  if (found != code_cache_.end()) {
    CodeInfo& c = *found->second;
    if (c.filename_ptr == filename && c.name_ptr == name && c.table_ptr == table && c.first_line == first_line) {
      c.checked_in_read = read_number_;
      return &c;
    }
  }
  auto info = std::make_unique<CodeInfo>();
  info->first_line = first_line;
  info->filename_ptr = filename, info->name_ptr = name, info->table_ptr = table;
  info->checked_in_read = read_number_;
  if (!read_string(filename, info->filename) || !read_string(name, info->name))
    return torn_reason_ = "code object strings unreadable", nullptr;
  if (!read_bytes_object(table, info->line_table)) return torn_reason_ = "line table unreadable", nullptr;
  if (code_cache_.size() >= kMaxCodeCache) code_cache_.clear();  // samples hold no references past one read
  auto& slot = code_cache_[code];
  slot = std::move(info);
  return slot.get();
}

bool PythonProcess::read_string(std::uint64_t address, std::string& out) {
  const GeneratedLayout& o = layout_.offsets;
  unsigned char header[128];
  if (!memory_.read(address, header, o.unicode_compact_size)) return false;
  if (u64_at(header, layout_.object_type) != unicode_type_) return false;
  std::uint64_t length = u64_at(header, o.unicode_length);
  std::uint32_t state;
  std::memcpy(&state, header + o.unicode_state, sizeof state);
  unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
  if (!compact || (kind != 1 && kind != 2 && kind != 4) || length > kMaxStringLength || (ascii && kind != 1))
    return false;
  std::vector<unsigned char> data(length * kind);
  int at = ascii ? o.unicode_ascii_size : o.unicode_compact_size;
  if (length && !memory_.read(address + at, data.data(), data.size())) return false;
  out.clear();
  for (std::uint64_t i = 0; i < length; ++i) {
    std::uint32_t c = kind == 1 ? data[i]
                      : kind == 2 ? static_cast<std::uint32_t>(data[2 * i] | (data[2 * i + 1] << 8))
                                  : static_cast<std::uint32_t>(data[4 * i] | (data[4 * i + 1] << 8) |
                                                               (data[4 * i + 2] << 16) | (data[4 * i + 3] << 24));
    if (ascii && c >= 0x80) return false;
    if (c > 0x10ffff) return false;
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd;  // lone surrogate
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 63)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 63)));
      out.push_back(static_cast<char>(0x80 | (c & 63)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 63)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 63)));
      out.push_back(static_cast<char>(0x80 | (c & 63)));
    }
  }
  return true;
}

bool PythonProcess::read_bytes_object(std::uint64_t address, std::string& out) {
  const GeneratedLayout& o = layout_.offsets;
  unsigned char header[64];
  if (!memory_.read(address, header, o.bytes_sval)) return false;
  if (u64_at(header, layout_.object_type) != bytes_type_) return false;
  std::uint64_t size = u64_at(header, o.bytes_size);
  if (size > kMaxTableLength) return false;
  out.resize(size);
  return size == 0 || memory_.read(address + o.bytes_sval, out.data(), size);
}

std::string PythonProcess::python_thread_name(std::uint64_t ident) {
  auto it = thread_names_.find(ident);
  if (it != thread_names_.end()) return it->second;
  if (!names_tried_ || read_number_ >= names_read_at_ + 100) {
    names_tried_ = true;
    names_read_at_ = read_number_;
    read_thread_names();
    it = thread_names_.find(ident);
    if (it != thread_names_.end()) return it->second;
  }
  return std::string();
}

void PythonProcess::read_thread_names() {
  const GeneratedLayout& o = layout_.offsets;
  if (active_dict_ == 0) {  // sys.modules["threading"].__dict__["_active"], found once
    std::uint64_t interp = 0, modules = 0;
    if (!memory_.read_value(runtime_ + o.runtime_interpreters_head, interp) || interp == 0 ||
        !memory_.read_value(interp + o.interp_modules, modules))
      return;
    std::uint64_t threading = dict_get(modules, "threading"), globals = 0;
    if (!threading || !memory_.read_value(threading + o.module_dict, globals)) return;
    active_dict_ = dict_get(globals, "_active");
    if (!active_dict_) return;
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> threads;
  if (!dict_items(active_dict_, threads)) {
    active_dict_ = 0;
    return;
  }
  for (const auto& [key, thread] : threads) {
    std::uint64_t ident = 0;
    std::string name;
    std::uint64_t name_object = attribute(thread, "_name");
    if (read_int(key, ident) && name_object && read_string(name_object, name)) thread_names_[ident] = name;
  }
}

bool PythonProcess::read_int(std::uint64_t address, std::uint64_t& value) {
  const GeneratedLayout& o = layout_.offsets;
  unsigned char b[64];
  if (!memory_.read(address, b, static_cast<std::size_t>(o.long_digits) + 12)) return false;
  if (long_type_ == 0 || u64_at(b, layout_.object_type) != long_type_) return false;
  std::int64_t size = static_cast<std::int64_t>(u64_at(b, o.long_size));
  std::uint64_t digits;
  if (layout_.offsets.minor >= 12) {  // lv_tag: digit count << 3 | sign (0 positive, 1 zero, 2 negative)
    if ((size & 3) == 2) return false;
    digits = static_cast<std::uint64_t>(size) >> 3;
  } else {
    if (size < 0) return false;
    digits = static_cast<std::uint64_t>(size);
  }
  if (digits > 3) return false;
  value = 0;
  for (std::uint64_t i = 0; i < digits; ++i) {
    std::uint32_t d;
    std::memcpy(&d, b + o.long_digits + 4 * i, 4);
    value |= static_cast<std::uint64_t>(d & 0x3fffffff) << (30 * i);
  }
  return true;
}

std::uint64_t PythonProcess::dict_get(std::uint64_t dict, std::string_view key) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> items;
  if (!dict_items(dict, items)) return 0;
  std::string text;
  for (const auto& [k, v] : items)
    if (k && v && read_string(k, text) && text == key) return v;
  return 0;
}

bool PythonProcess::dict_items(std::uint64_t dict, std::vector<std::pair<std::uint64_t, std::uint64_t>>& items) {
  const GeneratedLayout& o = layout_.offsets;
  std::uint64_t keys = 0, values = 0;
  if (!memory_.read_value(dict + o.dict_keys, keys) || !memory_.read_value(dict + o.dict_values, values)) return false;
  return keys_items(keys, values, items);
}

bool PythonProcess::keys_items(std::uint64_t keys, std::uint64_t values,
                               std::vector<std::pair<std::uint64_t, std::uint64_t>>& items) {
  const GeneratedLayout& o = layout_.offsets;
  items.clear();
  unsigned char h[64];
  if (!memory_.read(keys, h, static_cast<std::size_t>(o.dictkeys_indices))) return false;
  std::uint64_t size, index_bytes, entry_size = 24, key_at = 8;
  std::int64_t entries;
  std::memcpy(&entries, h + o.dictkeys_nentries, 8);
  if (o.dictkeys_kind < 0) {  // <= 3.10: Py_ssize_t dk_size; index width from the size
    size = u64_at(h, o.dictkeys_size);
    index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffull ? 4 : 8);
  } else {  // 3.11+: log2 sizes; unicode-only keys have (key, value) entries without the hash
    if (h[o.dictkeys_size] > 40 || h[o.dictkeys_index_bytes] > 40) return false;
    size = std::uint64_t{1} << h[o.dictkeys_size];
    index_bytes = std::uint64_t{1} << h[o.dictkeys_index_bytes];
    if (h[o.dictkeys_kind] != 0) entry_size = 16, key_at = 0;
  }
  if (entries < 0 || static_cast<std::uint64_t>(entries) > size || size > (1u << 20)) return false;
  std::vector<unsigned char> table(static_cast<std::size_t>(entries) * entry_size);
  if (entries && !memory_.read(keys + o.dictkeys_indices + index_bytes, table.data(), table.size())) return false;
  std::vector<std::uint64_t> split(values ? static_cast<std::size_t>(entries) : 0);
  if (values && entries &&
      !memory_.read(values + std::max(o.dictvalues_values, 0), split.data(), split.size() * 8))
    return false;
  for (std::int64_t i = 0; i < entries; ++i) {
    std::uint64_t key = u64_at(table.data(), static_cast<int>(i * entry_size + key_at));
    std::uint64_t value = values ? split[static_cast<std::size_t>(i)]
                                 : u64_at(table.data(), static_cast<int>(i * entry_size + key_at + 8));
    if (key) items.emplace_back(key, value);
  }
  return true;
}

std::uint64_t PythonProcess::attribute(std::uint64_t object, std::string_view name) {
  const GeneratedLayout& o = layout_.offsets;
  constexpr std::uint64_t kManagedDict = 1 << 4, kInlineValues = 1 << 2;
  std::uint64_t type = 0;
  if (!memory_.read_value(object + layout_.object_type, type)) return 0;
  std::int64_t dict_offset = 0;
  std::uint64_t flags = 0, cached_keys = 0;
  if (!memory_.read_value(type + o.type_dictoffset, dict_offset) || !memory_.read_value(type + o.type_flags, flags) ||
      !memory_.read_value(type + o.heaptype_cached_keys, cached_keys))
    return 0;
  std::uint64_t dict = 0, values = 0;
  if (o.minor <= 10 || !(flags & kManagedDict)) {
    if (dict_offset <= 0 || !memory_.read_value(object + static_cast<std::uint64_t>(dict_offset), dict)) return 0;
  } else if (o.minor == 11) {  // dict at -3 words, or values at -4 with the type's cached keys
    if (!memory_.read_value(object - 24, dict)) return 0;
    if (!dict && !memory_.read_value(object - 32, values)) return 0;
  } else if (o.minor == 12) {  // one word at -3: a dict, or the values pointer minus 1 (bit 0 set)
    std::uint64_t dict_or_values = 0;
    if (!memory_.read_value(object - 24, dict_or_values)) return 0;
    if (dict_or_values & 1) values = dict_or_values + 1;
    else dict = dict_or_values;
  } else {  // 3.13, 3.14: managed dict at -3 words, else values inline after the object (at tp_basicsize)
    if (!memory_.read_value(object - 24, dict)) return 0;
    if (!dict && (flags & kInlineValues)) {
      std::int64_t basicsize = 0;
      if (!memory_.read_value(type + o.type_basicsize, basicsize) || basicsize < 16 || basicsize > (1 << 16) ||
          basicsize % 8 != 0)
        return 0;
      values = object + static_cast<std::uint64_t>(basicsize);
    }
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> items;
  if (dict) {
    if (!dict_items(dict, items)) return 0;
  } else if (!values || !cached_keys || !keys_items(cached_keys, values, items)) {
    return 0;
  }
  std::string text;
  for (const auto& [k, v] : items)
    if (v && read_string(k, text) && text == name) return v;
  return 0;
}

pid_t PythonProcess::tid_of(std::uint64_t thread_id) {
  // <= 3.10: thread_id is glibc's pthread_t (the address of its struct pthread), whose tid field we locate once:
  // the offset where the main thread's struct holds the process id (glibc 2.36 x86-64: 720).
  if (thread_id == 0) return 0;
  if (tid_offset_ < 0) {
    int values[512];
    if (!memory_.read(thread_id, values, sizeof values)) return 0;
    std::vector<int> hits;
    for (int i = 0; i < 512; ++i)
      if (values[i] == pid()) hits.push_back(i * 4);
    if (hits.empty()) return 0;  // not the main thread: try again with the next one
    tid_offset_ = std::find(hits.begin(), hits.end(), 720) != hits.end() ? 720 : hits.front();
  }
  int tid = 0;
  if (!memory_.read_value(thread_id + tid_offset_, tid)) return 0;
  return tid;
}

ThreadStatReader::~ThreadStatReader() {
  for (auto& [tid, fd] : fds_) ::close(fd);
}

char ThreadStatReader::state(pid_t tid) {
  auto it = fds_.find(tid);
  if (it == fds_.end()) {
    std::string path = "/proc/" + std::to_string(pid_) + "/task/" + std::to_string(tid) + "/stat";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return '?';
    it = fds_.emplace(tid, fd).first;
  }
  char buf[512];
  ssize_t n = pread(it->second, buf, sizeof buf - 1, 0);
  if (n <= 0) {
    ::close(it->second);
    fds_.erase(it);
    return '?';
  }
  buf[n] = 0;
  const char* paren = std::strrchr(buf, ')');  // comm may hold spaces and parentheses
  return paren && paren[1] == ' ' && paren[2] ? paren[2] : '?';
}

void ThreadStatReader::forget_missing() {
  for (auto it = fds_.begin(); it != fds_.end();) {
    char c;
    if (pread(it->second, &c, 1, 0) <= 0) {
      ::close(it->second);
      it = fds_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string thread_name(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace pyfold::record
