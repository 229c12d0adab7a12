#include "pyfold/render/python_labels.hpp"

#include "pyfold/render/speedscope.hpp"  // split_frame

namespace pyfold {

namespace {

bool is_user_file(std::string_view file) {
  return !file.empty() && file[0] == '/' && library_relative(file).empty();
}

}  // namespace

std::string_view library_relative(std::string_view path) {
  std::size_t best = std::string_view::npos;
  for (std::string_view marker : {"/site-packages/", "/dist-packages/", "/lib-dynload/"}) {
    std::size_t at = path.rfind(marker);
    if (at != std::string_view::npos && (best == std::string_view::npos || at + marker.size() > best))
      best = at + marker.size();
  }
  if (best != std::string_view::npos) return path.substr(best);
  // /lib/pythonX.Y/ (3.13t and the like included): the last one wins.
  for (std::size_t at = path.rfind("/lib/python"); at != std::string_view::npos;
       at = at == 0 ? std::string_view::npos : path.rfind("/lib/python", at - 1)) {
    std::size_t pos = at + 11, digits = 0;
    while (pos < path.size() && path[pos] >= '0' && path[pos] <= '9') ++pos, ++digits;
    if (digits == 0 || pos >= path.size() || path[pos] != '.') continue;
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos || slash + 1 >= path.size()) continue;
    return path.substr(slash + 1);
  }
  return std::string_view();
}

void PythonLabels::add(std::string_view frame) {
  std::string_view file = split_frame(frame).file;
  if (!is_user_file(file)) return;
  std::string_view dir = file.substr(0, file.rfind('/') + 1);
  if (!any_user_file_) {
    common_dir_.assign(dir);
    any_user_file_ = true;
    return;
  }
  std::size_t same = 0;
  while (same < common_dir_.size() && same < dir.size() && common_dir_[same] == dir[same]) ++same;
  common_dir_.resize(common_dir_.rfind('/', same == 0 ? 0 : same - 1) + 1);  // back to a whole directory
}

std::string PythonLabels::label(std::string_view frame) const {
  FrameParts fields = split_frame(frame);
  if (fields.file.empty() || fields.file[0] == '<') return std::string(frame);
  std::string_view relative = library_relative(fields.file);
  if (relative.empty() && is_user_file(fields.file) && common_dir_.size() > 1 &&
      fields.file.substr(0, common_dir_.size()) == common_dir_)
    relative = fields.file.substr(common_dir_.size());
  if (relative.empty()) return std::string(frame);
  std::string out;
  append_frame_parts(out, fields.function, relative, fields.line);
  return out;
}

}  // namespace pyfold
