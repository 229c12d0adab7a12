#pragma once
// A running CPython process seen from outside: where its runtime is, which version and layout it has, and the
// Python stacks of its threads, read live and validated.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pyfold/record/process_memory.hpp"
#include "pyfold/record/python_layout.hpp"

namespace pyfold::record {

// The target cannot be sampled: gone, not Python, unsupported, or not readable. The message says which.
class AttachError : public std::runtime_error {
 public:
  enum class Kind { no_process, permission, not_python, unsupported, other };
  AttachError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// A code object as the frame walker uses it: read once, then checked cheaply against the object on every sample.
struct CodeInfo {
  std::string name;      // co_qualname (3.11+) or co_name
  std::string filename;  // co_filename
  int first_line = 0;
  std::string line_table;  // co_lnotab / co_linetable bytes
  std::uint64_t filename_ptr = 0, name_ptr = 0, table_ptr = 0;
  std::uint64_t checked_in_read = 0;  // the read_stacks call that last checked it (checked once per sample)
  std::unordered_map<int, std::uint32_t> frame_ids;  // line -> the recorder's interned frame id
};

struct FrameRef {
  CodeInfo* code;
  int line;
};

struct ThreadStack {
  std::uint64_t tstate = 0;
  std::uint64_t thread_id = 0;  // threading.get_ident()
  pid_t tid = 0;                // native thread id (0 when unknown)
  bool holds_gil = false;
  std::vector<FrameRef> frames;  // innermost first
};

class PythonProcess {
 public:
  // Finds CPython's runtime in the process's mapped files. Throws AttachError.
  static std::unique_ptr<PythonProcess> attach(pid_t pid);

  enum class Read { ok, torn, gone };
  // The stacks of every thread (stacks is cleared first). torn: an impossible stack (the sample must be dropped);
  // gone: the process has exited.
  Read read_stacks(std::vector<ThreadStack>& stacks);
  // True once the interpreter has been created (before Py_Initialize, there is nothing to sample).
  bool initialized();

  pid_t pid() const { return memory_.pid(); }
  const std::string& version() const { return version_; }  // "3.11"
  const std::string& runtime_file() const { return runtime_file_; }
  std::uint64_t reads() const { return memory_.read_count(); }
  const std::string& last_torn_reason() const { return torn_reason_; }
  // The name of the threading.Thread whose ident (threading.get_ident(), ThreadStack::thread_id) this is, read from
  // threading._active; "" when there is none (yet) or it cannot be read. Misses re-read _active at most every
  // 100 samples.
  std::string python_thread_name(std::uint64_t ident);

 private:
  PythonProcess(pid_t pid) : memory_(pid) {}
  bool read_thread(std::uint64_t tstate, std::uint64_t interp, ThreadStack& out, std::uint64_t& next);
  bool walk_frames(std::uint64_t frame, std::vector<FrameRef>& out);
  CodeInfo* code_info(std::uint64_t code);
  bool read_string(std::uint64_t address, std::string& out);
  bool read_bytes_object(std::uint64_t address, std::string& out);
  pid_t tid_of(std::uint64_t thread_id);
  bool read_frame(std::uint64_t address, unsigned char* out);
  Read fail(const char* reason);
  // Python objects, for thread names: (key, value) pointers of a dict, or of shared keys with a values array.
  bool dict_items(std::uint64_t dict, std::vector<std::pair<std::uint64_t, std::uint64_t>>& items);
  bool keys_items(std::uint64_t keys, std::uint64_t values,
                  std::vector<std::pair<std::uint64_t, std::uint64_t>>& items);
  std::uint64_t dict_get(std::uint64_t dict, std::string_view key);
  std::uint64_t attribute(std::uint64_t object, std::string_view name);
  bool read_int(std::uint64_t address, std::uint64_t& value);
  void read_thread_names();

  ProcessMemory memory_;
  Layout layout_;
  std::string version_, runtime_file_, torn_reason_;
  std::uint64_t runtime_ = 0, code_type_ = 0, unicode_type_ = 0, bytes_type_ = 0, long_type_ = 0;
  int tid_offset_ = -1;  // <= 3.10: offset of the kernel tid in glibc's struct pthread
  int frame_read_size_ = 0, code_read_size_ = 0, tstate_read_size_ = 0;
  std::unordered_map<std::uint64_t, std::unique_ptr<CodeInfo>> code_cache_;
  std::unordered_set<std::uint64_t> visited_;
  std::uint64_t last_frame_ = 0;  // the outermost frame of the last walk (3.15+: must be the thread's base frame)
  std::vector<unsigned char> buffer_;
  std::uint64_t read_number_ = 0;
  // 3.11+ frames sit side by side in each thread's data stack: one read of their page serves many frames.
  std::vector<unsigned char> page_;
  std::uint64_t page_start_ = 0, page_end_ = 0;
  std::unordered_map<std::uint64_t, std::string> thread_names_;
  std::uint64_t active_dict_ = 0, names_read_at_ = 0;
  bool names_tried_ = false;
};

// The state letter of a thread (field 3 of /proc/PID/task/TID/stat), read through a kept descriptor.
class ThreadStatReader {
 public:
  explicit ThreadStatReader(pid_t pid) : pid_(pid) {}
  ~ThreadStatReader();
  char state(pid_t tid);  // 'R', 'S', 'D', ... or '?' when unreadable
  void forget_missing();  // close descriptors of threads that have exited

 private:
  pid_t pid_;
  std::unordered_map<pid_t, int> fds_;
};

// The minor version from the sys.version text in a block of memory ("3.10.13 (main, ...", at the start of a
// NUL-delimited string), 0 when absent.
int minor_from_version_text(std::string_view memory);

// /proc/PID/task/TID/comm without its newline ("" when unreadable).
std::string thread_name(pid_t pid, pid_t tid);

}  // namespace pyfold::record
