#pragma once
// Short labels for Python frames (pyflame-svg --colors python / --python), as py-spy prints them: the file relative
// to the sys.path entry it came from, `dumps (json/__init__.py:183)`. We do not know the target's sys.path, so the
// entry is read off the path itself:
//   - library code: everything through the last `/site-packages/`, `/dist-packages/` or `/lib-dynload/`, else
//     through the last `/lib/pythonX.Y/` (any suffix such as `3.13t`), is the entry;
//   - the user's own files (absolute paths that are not library code): their longest common directory is the entry
//     (for one script, its directory), so `/srv/app/myapp/views.py` beside `/srv/app/main.py` is `myapp/views.py`;
//   - anything else (`<frozen importlib._bootstrap>`, `<string>`, relative paths, frames without a file) as it is.
// The full frame text stays in the tooltip, the search and the details line.
#include <string>
#include <string_view>

namespace pyfold {

class PythonLabels {
 public:
  // Call for every frame text drawn, before label(): collects the user's files' common directory.
  void add(std::string_view frame);
  // The short label of a frame text (the text itself when there is nothing to shorten).
  std::string label(std::string_view frame) const;

 private:
  std::string common_dir_;  // ends in '/', or empty
  bool any_user_file_ = false;
};

// The path relative to its library sys.path entry, or "" when the path is not library code.
std::string_view library_relative(std::string_view path);

}  // namespace pyfold
