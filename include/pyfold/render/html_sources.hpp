#pragma once
// The source files a report shows beside its counts, read at render time from the paths in the frames.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pyfold {

// --source-root OLD=NEW: a recorded path that starts with the directory OLD is read from NEW instead.
struct SourceRoot {
  std::string from, to;
};
// "OLD=NEW" (both non-empty); throws std::invalid_argument.
SourceRoot parse_source_root(const std::string& text);

// Where a recorded path is read from: the first root whose OLD is a whole-directory prefix of it, else the path.
std::string map_source_path(const std::string& recorded, const std::vector<SourceRoot>& roots);

struct SourceText {
  std::vector<std::string> lines;  // valid UTF-8, without line ends; line N is lines[N - 1]
};

// Files larger than this are listed without text (a report is not a copy of a data file).
constexpr std::size_t kMaxSourceBytes = 8 << 20;
// A page holds at most about this much source text (hottest files first); the rest are listed without.
constexpr std::size_t kMaxPageSourceBytes = 32 << 20;

// Reads a regular file's lines; nullopt with why (not found, not a regular file, too large) when it cannot.
std::optional<SourceText> read_source(const std::string& path, std::string& why);

}  // namespace pyfold
