// pyfold top's full-screen view with ncurses: a terminal's capabilities, resizing and the alternate screen are
// the library's to know; this file only lays out the header, the rows and the keys.
#include "pyfold/top/top_screen.hpp"

#include <curses.h>

#include <algorithm>
#include <climits>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cwchar>
#include <cwctype>
#include <stdexcept>
#include <string>

#include "pyfold/frame_text.hpp"

namespace pyfold::top {

namespace {

constexpr int kNameMin = 24;  // the name's room before a column is dropped
constexpr int kShare = 8, kSeconds = 9, kPid = 8;
const char* const kKeys = "q quit  o/i/n sort own/total/name  w window  p pause  t thread  / filter";

// What a text shows on the terminal, a character a cell: decoded in the terminal's locale (bytes it cannot decode,
// and everything when it is not UTF-8, stay ASCII), control characters as spaces (tab, newline: a `-c` program in
// the command line) or '?', so that no text moves the cursor or takes more columns than it is counted for.
std::wstring screen_text(const std::string& text) {
  std::wstring out;
  std::mbstate_t state{};
  for (std::size_t i = 0; i < text.size();) {
    wchar_t c = 0;
    std::size_t n = std::mbrtowc(&c, text.data() + i, text.size() - i, &state);
    if (n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2) || n == 0) {
      state = std::mbstate_t{};
      c = static_cast<unsigned char>(text[i]) < 0x80 && text[i] != 0 ? text[i] : L'?';
      n = 1;
    }
    i += n;
    if (c == L'\t' || c == L'\n' || c == L'\r') c = L' ';
    else if (std::iswcntrl(static_cast<wint_t>(c)) || wcwidth(c) < 0) c = L'?';
    out += c;
  }
  return out;
}

int columns(wchar_t c) { return std::max(0, wcwidth(c)); }

// The longest start of text within width columns.
std::wstring clip(const std::wstring& text, int width) {
  int used = 0;
  std::size_t n = 0;
  for (; n < text.size() && used + columns(text[n]) <= width; ++n) used += columns(text[n]);
  return text.substr(0, n);
}

// The longest end of text within width columns.
std::wstring clip_start(const std::wstring& text, int width) {
  int used = 0;
  std::size_t n = text.size();
  for (; n > 0 && used + columns(text[n - 1]) <= width; --n) used += columns(text[n - 1]);
  return text.substr(n);
}

int columns(const std::wstring& text) {
  int used = 0;
  for (wchar_t c : text) used += columns(c);
  return used;
}

// A row's name (frame text) in width columns: `func (file)` keeps the function whole and the end of the file's path
// (its name), the path's start elided; a function longer than the room keeps its start.
std::wstring fit_name(const std::string& name, int width) {
  const std::wstring text = screen_text(name);
  if (columns(text) <= width) return text;
  const FrameParts parts = parse_frame_text(name);
  constexpr int kKeepFile = 9;  // a file name's last characters, at the least, after "(..."
  if (parts.has_location()) {
    const std::wstring head = screen_text(std::string(parts.function)) + L" (...";
    const int room = width - columns(head);
    std::string location(parts.file);
    if (parts.has_line()) location.append(":").append(parts.line_text);
    if (room >= kKeepFile) return head + clip_start(screen_text(location + ")"), room);
  }
  return clip(text, width);
}

// Draws text from column 0 of line y, within width columns (fill: spaces to the end, for a line drawn reversed).
void put(int y, const std::wstring& text, int width, bool fill = false) {
  if (width <= 0) return;
  std::wstring shown = clip(text, width);
  if (fill) shown.append(static_cast<std::size_t>(width - columns(shown)), L' ');
  std::string bytes;
  std::mbstate_t state{};
  char buffer[MB_LEN_MAX];
  for (wchar_t c : shown) {
    std::size_t n = std::wcrtomb(buffer, c, &state);
    if (n == static_cast<std::size_t>(-1)) bytes += '?';
    else bytes.append(buffer, n);
  }
  mvaddstr(y, 0, bytes.c_str());
}

void put(int y, const std::string& text, int width, bool fill = false) { put(y, screen_text(text), width, fill); }

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
  // The terminal's character set (LANG, LC_ALL): UTF-8 names drawn as they are, each character counted in the
  // columns it takes (screen_text).
  std::setlocale(LC_CTYPE, "");
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
  attron(A_BOLD);
  put(0, "pyfold top  PID " + std::to_string(t.pid) + "  " +
             (t.python_version.empty() ? "" : "Python " + t.python_version + "  ") + t.command, width);
  attroff(A_BOLD);
  std::snprintf(line, sizeof line,
                "%s  %.0f Hz (%.0f achieved)  %llu samples  %llu not recorded  %zu threads%s  pyfold %.1f%% CPU",
                t.mode.c_str(), t.rate, t.rate_achieved, static_cast<unsigned long long>(t.samples),
                static_cast<unsigned long long>(t.not_recorded), t.threads,
                t.processes > 1 ? (", " + std::to_string(t.processes) + " processes").c_str() : "", 100 * t.pyfold_cpu);
  put(1, line, width);
  std::string state = t.window + " (" + std::to_string(static_cast<long>(t.seconds + 0.5)) + " s)  sort: " +
                      (view.sort == SortBy::own ? "own" : view.sort == SortBy::total ? "total" : "name") + "  " +
                      t.thread + (view.filter_text.empty() ? "" : "  filter: /" + view.filter_text + "/") +
                      (view.paused ? "  PAUSED" : "");
  if (colors_) attron(COLOR_PAIR(2));
  put(2, state, width);
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
  attron(colors_ ? COLOR_PAIR(1) : A_REVERSE);
  put(3, header, width, true);
  attroff(colors_ ? COLOR_PAIR(1) : A_REVERSE);

  const int first_row = 4, last_row = height - 2;  // the key line below
  int y = first_row;
  for (const Row& r : t.rows) {
    if (y > last_row) break;
    std::wstring text;
    auto number = [&](double value, int w, const char* format) {
      std::snprintf(line, sizeof line, format, w - 1, value);
      text += screen_text(line);
      text += L' ';
    };
    number(100 * r.own_share, kShare, "%*.1f");
    if (c.total_share) number(100 * r.total_share, kShare, "%*.1f");
    if (c.own_seconds) number(r.own_seconds, kSeconds, "%*.2f");
    if (c.total_seconds) number(r.total_seconds, kSeconds, "%*.2f");
    if (c.pid) number(static_cast<double>(r.pid), kPid, "%*.0f");
    text += fit_name(r.name, c.name_width);
    put(y++, text, width);
  }
  if (t.rows.empty()) put(first_row, t.stacks ? "(no row matches the filter)" : "(no samples yet)", width);

  if (overlay.threads) {  // the picker, over the rows
    const auto& threads = *overlay.threads;
    const int rows = std::max(1, std::min(static_cast<int>(threads.size()), last_row - first_row));
    const std::size_t top = overlay.picked >= static_cast<std::size_t>(rows) ? overlay.picked - rows + 1 : 0;
    put(first_row - 1, "pick a thread (Enter; Esc cancels)", width, true);
    for (int i = 0; i < rows && top + i < threads.size(); ++i) {
      const ThreadChoice& choice = threads[top + i];
      std::snprintf(line, sizeof line, "%6.1f%%  ", 100 * choice.share);
      std::string text = (choice.root != kAllThreads ? std::string(line) : std::string("         ")) + choice.name;
      if (top + i == overlay.picked) attron(A_REVERSE);
      put(first_row + i, text, width, true);
      if (top + i == overlay.picked) attroff(A_REVERSE);
    }
  }
  // (the filter being typed: its end, where the cursor is)
  std::wstring bottom = overlay.typing_filter ? clip_start(screen_text("/" + overlay.typed), width)
                        : screen_text(!overlay.message.empty() ? overlay.message : kKeys);
  attron(A_BOLD);
  put(height - 1, bottom, width);
  attroff(A_BOLD);
  refresh();
}

}  // namespace pyfold::top
