// Finding CPython in a process: its runtime (_PyRuntime), version and layout, from the mapped files and memory.
#include "pyfold/record/cpython/python_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pyfold/record/os/elf_symbols.hpp"

namespace pyfold::record {

AttachError::AttachError(Kind kind, const std::string& brief, std::function<std::string()> describe)
    : std::runtime_error(brief), kind_(kind), deferred_(std::make_shared<Deferred>()) {
  deferred_->describe = std::move(describe);
}

AttachError AttachError::refused(pid_t pid) {
  return AttachError(Kind::permission,
                     "cannot read the memory of PID " + std::to_string(pid) + " (permission refused)",
                     [pid] { return permission_advice(pid); });
}

const char* AttachError::what() const noexcept {
  if (!deferred_) return std::runtime_error::what();
  std::call_once(deferred_->made, [&d = *deferred_] {
    try {
      d.message = d.describe();
    } catch (...) {  // out of memory: brief stands
    }
    d.describe = nullptr;
  });
  return deferred_->message.empty() ? std::runtime_error::what() : deferred_->message.c_str();
}

namespace {

struct Mapping {
  std::uint64_t start = 0, end = 0, offset = 0;
  bool writable = false;
  std::string path;
};

std::vector<Mapping> read_maps(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/maps";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || access(("/proc/" + std::to_string(pid)).c_str(), F_OK) != 0)
      throw AttachError(AttachError::Kind::no_process, "no process with PID " + std::to_string(pid));
    if (e == EACCES || e == EPERM) throw AttachError::refused(pid);
    throw AttachError(AttachError::Kind::other, "cannot read " + path + ": " + std::strerror(e));
  }
  // Read with the system's calls, not a stream, so that a refused read is seen as one (not as an empty file).
  std::string text(65536, '\0');
  std::size_t got = 0;
  bool read_failed = false;
  for (;;) {
    if (got == text.size()) text.resize(2 * text.size());
    const ssize_t n = read(fd, text.data() + got, text.size() - got);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n == 0 || errno != EINTR) {
      read_failed = n < 0;
      break;
    }
  }
  close(fd);
  text.resize(got);
  std::vector<Mapping> maps;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t eol = text.find('\n', at);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(at, eol - at);
    at = eol + 1;
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
  if (maps.empty() && read_failed) throw AttachError::refused(pid);
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

// The files that may hold the interpreter: files named like python first (libpython, python3.X), then the
// executable.
std::vector<const Mapping*> candidate_files(pid_t pid, const std::vector<Mapping>& maps) {
  std::string exe;
  {
    char buf[4096];
    ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
    if (n > 0) exe.assign(buf, static_cast<std::size_t>(n));
  }
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
  return candidates;
}

// Where a mapped file can be opened from here: through the process's root, or its map_files entry once deleted.
std::string file_path(pid_t pid, const Mapping& mapping) {
  std::string path = mapping.path;
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0) {
    char range[64];
    std::snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(mapping.start),
                  static_cast<unsigned long long>(mapping.end));
    path = "/proc/" + std::to_string(pid) + "/map_files/" + range;
  } else {
    path = "/proc/" + std::to_string(pid) + "/root" + path;
  }
  return path;
}

// The interpreter's layout and minor version: _Py_DebugOffsets (debug: the bytes at _PyRuntime), then Py_Version,
// then the file name, then the sys.version text.
int read_version(ProcessMemory& memory, const ElfFile& elf, std::uint64_t bias, const std::string& file,
                 const std::vector<unsigned char>& debug, PythonRuntime& rt) {
  int minor = 0;
  if (std::memcmp(debug.data(), "xdebugpy", 8) == 0) {
    try {
      rt.layout = layout_from_debug_offsets(debug.data(), debug.size());
    } catch (const std::runtime_error& e) {
      throw AttachError(AttachError::Kind::unsupported, e.what() + std::string(" (found in ") + file + ")");
    }
    minor = rt.layout.offsets.minor;
  } else {
    if (auto version = elf.symbol("Py_Version")) {
      std::uint64_t hex = 0;
      if (memory.read(bias + version->value, &hex, 4)) {
        if (((hex >> 24) & 0xff) != 3)
          throw AttachError(AttachError::Kind::unsupported, "unexpected Py_Version in " + file);
        minor = static_cast<int>((hex >> 16) & 0xff);
      }
    }
    char flavour = 0;
    int named = minor_from_name(basename_of(file), flavour);
    if (!minor) minor = named;
    if (!minor) {  // last resort: the sys.version text Py_GetVersion() keeps in the file's .bss
      if (auto bss = elf.section(".bss"); bss && bss->size < (64u << 20)) {
        std::string text(bss->size, '\0');
        if (memory.read(bias + bss->value, text.data(), text.size())) minor = minor_from_version_text(text);
      }
    }
    if (flavour == 'd' || flavour == 't')
      throw AttachError(AttachError::Kind::unsupported,
                        file + (flavour == 'd' ? " is a debug build" : " is a free-threaded build") +
                            " of CPython: not supported");
    if (!minor)
      throw AttachError(AttachError::Kind::unsupported, "cannot tell the Python version of " + file);
    // 3.13+ always carries _Py_DebugOffsets: without it the loader is still mapping the file (its first mapping
    // spans the whole file until the data segment is mapped over it). Try again shortly.
    if (minor >= 13)
      throw AttachError(AttachError::Kind::not_ready,
                        "CPython 3." + std::to_string(minor) + " in " + file + " is still being loaded");
    try {
      rt.layout = layout_for_minor(minor);
    } catch (const std::exception& e) {
      throw AttachError(AttachError::Kind::unsupported, e.what() + std::string(" (found in ") + file + ")");
    }
  }
  return minor;
}

}  // namespace

std::unique_ptr<PythonProcess> PythonProcess::attach(pid_t pid) {
  std::vector<Mapping> maps = read_maps(pid);
  std::vector<const Mapping*> candidates = candidate_files(pid, maps);

  ProcessMemory memory(pid);
  bool refused = false;  // a file could not be opened through /proc/PID/root: no ptrace rights
  for (const Mapping* m : candidates) {
    PythonRuntime rt;
    std::string version, runtime_file;
    std::string path = file_path(pid, *m);
    auto elf = ElfFile::open(path);
    if (!elf) {
      if (access(path.c_str(), R_OK) != 0 && (errno == EACCES || errno == EPERM)) refused = true;
      continue;
    }
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
    rt.runtime = bias + runtime->value;
    runtime_file = m->path;
    // A program started through the dynamic loader (ld-linux-x86-64.so.2 python3.X, as tests/pythons/fetch.sh's
    // wrappers do) is mapped by the loader, which first maps the whole file read-only over the span of all its
    // segments, then maps the writable data over it. In between, _PyRuntime's address shows unrelated file bytes
    // (no _Py_DebugOffsets cookie, a wrong version): not ready yet, so a launched program is polled again.
    for (const Mapping& data : maps)
      if (data.start <= rt.runtime && rt.runtime < data.end && !data.writable)
        throw AttachError(AttachError::Kind::not_ready,
                          "PID " + std::to_string(pid) + ": _PyRuntime in " + m->path + " is not mapped yet");
    auto code_type = elf->symbol("PyCode_Type");
    auto unicode_type = elf->symbol("PyUnicode_Type");
    auto bytes_type = elf->symbol("PyBytes_Type");
    if (!code_type || !unicode_type || !bytes_type)
      throw AttachError(AttachError::Kind::unsupported,
                        m->path + " has _PyRuntime but no PyCode_Type/PyUnicode_Type/PyBytes_Type symbols");
    rt.code_type = bias + code_type->value;
    rt.unicode_type = bias + unicode_type->value;
    rt.bytes_type = bias + bytes_type->value;
    if (auto long_type = elf->symbol("PyLong_Type")) rt.long_type = bias + long_type->value;
    if (auto coro_type = elf->symbol("PyCoro_Type")) rt.coro_type = bias + coro_type->value;
    if (auto gen_type = elf->symbol("PyGen_Type")) rt.gen_type = bias + gen_type->value;
    auto object_at = [&](const char* name, std::uint64_t& out) {
      if (auto s = elf->symbol(name)) out = bias + s->value;
    };
    object_at("_Py_NoneStruct", rt.objects.none);
    object_at("PyBool_Type", rt.objects.bool_type);
    object_at("PyFloat_Type", rt.objects.float_type);
    object_at("PyList_Type", rt.objects.list_type);
    object_at("PyTuple_Type", rt.objects.tuple_type);
    object_at("PyDict_Type", rt.objects.dict_type);
    object_at("PySet_Type", rt.objects.set_type);
    object_at("PyFrozenSet_Type", rt.objects.frozenset_type);
    object_at("PyCell_Type", rt.objects.cell_type);
    object_at("_PySet_Dummy", rt.objects.set_dummy);
    if (elf->symbol("_Py_RefTotal"))
      throw AttachError(AttachError::Kind::unsupported,
                        m->path + " is a debug build of CPython (Py_REF_DEBUG): not supported");

    // Version: _Py_DebugOffsets, then Py_Version, then the file name.
    std::vector<unsigned char> debug(kDebugOffsetsReadSize);
    if (!memory.read(rt.runtime, debug.data(), debug.size())) {
      int e = memory.last_error();
      if (e == EPERM || e == EACCES) throw AttachError::refused(pid);
      if (e == ESRCH) throw AttachError(AttachError::Kind::no_process, "no process with PID " + std::to_string(pid));
      debug.assign(kDebugOffsetsReadSize, 0);
    }
    const int minor = read_version(memory, *elf, bias, m->path, debug, rt);
    version = "3." + std::to_string(minor);
    if (!StackWalker::layout_fits(rt.layout))  // 3.13+: the offsets come from the target itself
      throw AttachError(AttachError::Kind::unsupported,
                        "CPython " + version + " in " + m->path + " has an unexpected object layout");
    std::unique_ptr<PythonProcess> process(new PythonProcess(pid, rt));
    process->version_ = version;
    process->runtime_file_ = runtime_file;
    return process;
  }
  if (refused) throw AttachError::refused(pid);
  throw AttachError(AttachError::Kind::not_python,
                    "PID " + std::to_string(pid) + " is not a Python process (no _PyRuntime in any mapped file)");
}

}  // namespace pyfold::record
