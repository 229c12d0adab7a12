// pyfold top's full-screen view with ncurses: a terminal's capabilities, resizing and the alternate screen are
// the library's to know; this file only lays out the header, the rows and the keys.
#include "pyfold/top/top_screen.hpp"

#include <curses.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace pyfold::top {

namespace {

constexpr int kNameMin = 24;  // the name's room before a column is dropped
constexpr int kShare = 8, kSeconds = 9, kPid = 8;
const char* const kKeys = "q quit  o/i/n sort own/total/name  w window  p pause  t thread  / filter";

// A name in width columns: `func (file)` keeps the function whole and the end of the file's path (its name), the
// path's start elided; a function longer than the room keeps its start.
std::string fit(const std::string& text, int width) {
  const std::size_t room = static_cast<std::size_t>(std::max(width, 0));
  if (text.size() <= room) return text;
  const std::size_t open = text.rfind(" (");
  const std::size_t keep_file = 12;  // "(..." and a file name's last characters, at the least
  if (open != std::string::npos && text.back() == ')' && open + 2 + keep_file <= room) {
    const std::size_t tail = room - open - 5;  // after "func (..."
    return text.substr(0, open) + " (..." + text.substr(text.size() - tail);
  }
  return text.substr(0, room);
}

void put(int y, int x, const std::string& text, int width) {
  if (width <= 0) return;
  mvaddnstr(y, x, text.c_str(), width);
}

}  // namespace

Columns fit_columns(int width, bool subprocesses) {
  Columns c;
  c.pid = subprocesses;
  auto used = [&] {
    return kShare + (c.total_share ? kShare : 0) + (c.own_seconds ? kSeconds : 0) + (c.total_seconds ? kSeconds : 0) +
           (c.pid ? kPid : 0) + 1;
  };
  for (bool* column : {&c.total_seconds, &c.own_seconds, &c.pid, &c.total_share})
    if (width - used() < kNameMin) *column = false;
  c.name_width = std::max(0, width - used());
  return c;
}

TopScreen::TopScreen() {
  // newterm, not initscr: a terminal it does not know is an error to report, not an exit.
  screen_ = newterm(nullptr, stdout, stdin);
  if (!screen_) {
    const char* term = std::getenv("TERM");
    throw std::runtime_error(std::string("cannot draw on this terminal (TERM=") + (term ? term : "") +
                             "): set TERM, or pipe the output for plain tables");
  }
  set_term(screen_);
  open_ = true;
  cbreak();
  noecho();
  keypad(stdscr, TRUE);
  curs_set(0);
  if (has_colors()) {
    start_color();
    use_default_colors();
    init_pair(1, COLOR_BLACK, COLOR_CYAN);  // the column header
    init_pair(2, COLOR_YELLOW, -1);         // the window and pause line
    colors_ = true;
  }
}

void TopScreen::close() {
  if (!open_) return;
  open_ = false;
  curs_set(1);
  endwin();
  delscreen(screen_);
  screen_ = nullptr;
  std::fflush(stdout);
}

int TopScreen::key(int timeout_ms) {
  timeout(timeout_ms);
  return getch();
}

void TopScreen::draw(const Table& t, const ViewState& view, const Overlay& overlay) {
  erase();
  const int width = COLS, height = LINES;
  char line[512];
  std::snprintf(line, sizeof line, "pyfold top  PID %d  %s%s", static_cast<int>(t.pid),
                t.python_version.empty() ? "" : ("Python " + t.python_version + "  ").c_str(), t.command.c_str());
  attron(A_BOLD);
  put(0, 0, line, width);
  attroff(A_BOLD);
  std::snprintf(line, sizeof line,
                "%s  %.0f Hz (%.0f achieved)  %llu samples  %llu not recorded  %zu threads%s  pyfold %.1f%% CPU",
                t.mode.c_str(), t.rate, t.rate_achieved, static_cast<unsigned long long>(t.samples),
                static_cast<unsigned long long>(t.not_recorded), t.threads,
                t.processes > 1 ? (", " + std::to_string(t.processes) + " processes").c_str() : "", 100 * t.pyfold_cpu);
  put(1, 0, line, width);
  std::string state = t.window + " (" + std::to_string(static_cast<long>(t.seconds + 0.5)) + " s)  sort: " +
                      (view.sort == SortBy::own ? "own" : view.sort == SortBy::total ? "total" : "name") + "  " +
                      t.thread + (view.filter_text.empty() ? "" : "  filter: /" + view.filter_text + "/") +
                      (view.paused ? "  PAUSED" : "");
  if (colors_) attron(COLOR_PAIR(2));
  put(2, 0, state, width);
  if (colors_) attroff(COLOR_PAIR(2));

  const Columns c = fit_columns(width, t.subprocesses);
  std::string header;
  auto column = [&](const char* name, int w) {
    std::snprintf(line, sizeof line, "%*s", w - 1, name);
    header += line;
    header += ' ';
  };
  column("OWN%", kShare);
  if (c.total_share) column("TOTAL%", kShare);
  if (c.own_seconds) column("OWN s", kSeconds);
  if (c.total_seconds) column("TOTAL s", kSeconds);
  if (c.pid) column("PID", kPid);
  header += t.lines ? "LINE" : "FUNCTION";
  header.resize(static_cast<std::size_t>(std::max(width, 0)), ' ');
  attron(colors_ ? COLOR_PAIR(1) : A_REVERSE);
  put(3, 0, header, width);
  attroff(colors_ ? COLOR_PAIR(1) : A_REVERSE);

  const int first_row = 4, last_row = height - 2;  // the key line below
  int y = first_row;
  for (const Row& r : t.rows) {
    if (y > last_row) break;
    std::string text;
    auto number = [&](double value, int w, const char* format) {
      std::snprintf(line, sizeof line, format, w - 1, value);
      text += line;
      text += ' ';
    };
    number(100 * r.own_share, kShare, "%*.1f");
    if (c.total_share) number(100 * r.total_share, kShare, "%*.1f");
    if (c.own_seconds) number(r.own_seconds, kSeconds, "%*.2f");
    if (c.total_seconds) number(r.total_seconds, kSeconds, "%*.2f");
    if (c.pid) number(static_cast<double>(r.pid), kPid, "%*.0f");
    text += fit(r.name, c.name_width);
    put(y++, 0, text, width);
  }
  if (t.rows.empty()) put(first_row, 0, t.stacks ? "(no row matches the filter)" : "(no samples yet)", width);

  if (overlay.threads) {  // the picker, over the rows
    const auto& threads = *overlay.threads;
    const int rows = std::max(1, std::min(static_cast<int>(threads.size()), last_row - first_row));
    const std::size_t top = overlay.picked >= static_cast<std::size_t>(rows) ? overlay.picked - rows + 1 : 0;
    put(first_row - 1, 0, std::string("pick a thread (Enter; Esc cancels)").append(width, ' '), width);
    for (int i = 0; i < rows && top + i < threads.size(); ++i) {
      const ThreadChoice& choice = threads[top + i];
      std::snprintf(line, sizeof line, "%6.1f%%  ", 100 * choice.share);
      std::string text = (choice.root != kAllThreads ? std::string(line) : std::string("         ")) + choice.name;
      text.resize(static_cast<std::size_t>(std::max(width, 0)), ' ');
      if (top + i == overlay.picked) attron(A_REVERSE);
      put(first_row + i, 0, text, width);
      if (top + i == overlay.picked) attroff(A_REVERSE);
    }
  }
  std::string bottom = overlay.typing_filter ? "/" + overlay.typed
                       : !overlay.message.empty() ? overlay.message
                                                  : kKeys;
  attron(A_BOLD);
  put(height - 1, 0, bottom, width);
  attroff(A_BOLD);
  refresh();
}

}  // namespace pyfold::top
