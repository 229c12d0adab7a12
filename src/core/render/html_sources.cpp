#include "pyfold/render/html_sources.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "pyfold/text.hpp"

namespace pyfold {

SourceRoot parse_source_root(const std::string& text) {
  std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw std::invalid_argument("--source-root '" + text + "': expected OLD=NEW (two directories)");
  SourceRoot root{text.substr(0, eq), text.substr(eq + 1)};
  while (root.from.size() > 1 && root.from.back() == '/') root.from.pop_back();
  while (root.to.size() > 1 && root.to.back() == '/') root.to.pop_back();
  return root;
}

std::string map_source_path(const std::string& recorded, const std::vector<SourceRoot>& roots) {
  for (const SourceRoot& root : roots) {
    if (recorded.compare(0, root.from.size(), root.from) != 0) continue;
    // A whole directory: /srv/app maps /srv/app/x.py, not /srv/application.py.
    if (root.from == "/") return (root.to == "/" ? std::string() : root.to) + recorded;
    if (recorded.size() > root.from.size() && recorded[root.from.size()] != '/') continue;
    return root.to + recorded.substr(root.from.size());
  }
  return recorded;
}

std::optional<SourceText> read_source(const std::string& path, std::string& why) {
  struct stat info {};
  if (path.empty() || path[0] == '<') {  // <frozen importlib._bootstrap>, <string>: no file
    why = "not a file";
    return std::nullopt;
  }
  if (stat(path.c_str(), &info) != 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode)) {
    why = "not a regular file";
    return std::nullopt;
  }
  if (static_cast<std::size_t>(info.st_size) > kMaxSourceBytes) {
    why = "larger than " + std::to_string(kMaxSourceBytes >> 20) + " MiB";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  SourceText text;
  std::size_t start = 0;
  while (start < bytes.size()) {
    std::size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    std::size_t stop = end;
    if (stop > start && bytes[stop - 1] == '\r') --stop;
    text.lines.push_back(sanitize_utf8(std::string_view(bytes).substr(start, stop - start)));
    start = end + 1;
  }
  return text;
}

}  // namespace pyfold
