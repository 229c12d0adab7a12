#pragma once
// pyfold top's full-screen view, drawn with ncurses: the header, the rows, the key line; the thread picker and the
// filter prompt. Only the view's thread calls it. The terminal is given back (endwin: the alternate screen left,
// the cursor shown) by close() or the destructor.
#include <string>
#include <vector>

struct screen;  // <curses.h>'s SCREEN

#include "pyfold/top/top_model.hpp"

namespace pyfold::top {

// What the screen shows besides the table.
struct Overlay {
  const std::vector<ThreadChoice>* threads = nullptr;  // the thread picker, when open
  std::size_t picked = 0;                              // its highlighted entry
  bool typing_filter = false;                          // the `/` prompt, with its text so far
  std::string typed;
  std::string message;  // a line for the user (a bad regular expression)
};

class TopScreen {
 public:
  TopScreen();  // initscr; cbreak (Ctrl-C still signals), no echo, keypad, no cursor
  ~TopScreen() { close(); }
  TopScreen(const TopScreen&) = delete;
  TopScreen& operator=(const TopScreen&) = delete;
  void close();
  // The next key within timeout_ms, ERR when none; KEY_RESIZE once the terminal was resized.
  int key(int timeout_ms);
  void draw(const Table& table, const ViewState& view, const Overlay& overlay);

 private:
  struct screen* screen_ = nullptr;  // ncurses' SCREEN
  bool open_ = false, colors_ = false;
};

// The columns that fit a width, and the name's room: the time columns go first, then the PID, then total%.
struct Columns {
  bool own_seconds = true, total_seconds = true, pid = true, total_share = true;
  int name_width = 0;
};
Columns fit_columns(int width, bool subprocesses);

}  // namespace pyfold::top
