#!/usr/bin/env python3
"""End-to-end tests of pyfold top: the real binary in a real pseudo-terminal, its screen read by a terminal emulator
(pyte, Debian's python3-pyte), on tests/e2e/targets/top_workload.py (three_parts and one_part do their work 3:1
through one helper, loop; a thread "sleepy" sleeps in idle()). The shares on screen, each key, q within a second
with the attached program left running, Ctrl-C, SIGTERM and the target's end with the terminal given back (the
alternate screen left, the cursor shown, the tty's modes as before), resizing, a terminal without colours; the
plain table of --once and of piped output, against pyfold record over the same seconds; and on every interpreter
the view opens and shows the workload's functions.

Usage: top_test.py PYFOLD_TOP PYFOLD_RECORD SOURCE_ROOT
"""
import fcntl
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

from harness import TARGETS, check, finish, interpreters, parse_folded, running, write

try:
    import pyte
except ImportError:  # Debian's python3-pyte (README's test command) is pure Python: usable from another python3
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import pyte
    except ImportError:
        print("skip - python3-pyte is not installed (apt-get install python3-pyte)")
        sys.exit(77)

TOP, RECORD, ROOT = (os.path.abspath(a) for a in sys.argv[1:4])
WORKLOAD = os.path.join(TARGETS, "top_workload.py")
PYTHON = "python3"
ROW = re.compile(r"^\s*(\d+\.\d)\s+(\d+\.\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\S.*?)\s*$")


class Screen(pyte.Screen):
    """pyte's screen with what ncurses uses where terminfo has it (xterm's entries do) and pyte 0.8 lacks: REP
    (CSI n b, the last character n times more), SU and SD (CSI n S / CSI n T, the scrolling region moved up or down
    n lines), as xterm does them."""
    last = " "

    def _region(self):
        return self.margins or pyte.screens.Margins(0, self.lines - 1)

    def scroll_up(self, count=1, *args, **kwargs):
        top, bottom = self._region()
        for _ in range(max(count, 1)):
            for y in range(top, bottom):
                self.buffer[y] = self.buffer[y + 1]
            self.buffer.pop(bottom, None)
        self.dirty.update(range(self.lines))

    def scroll_down(self, count=1, *args, **kwargs):
        top, bottom = self._region()
        for _ in range(max(count, 1)):
            for y in range(bottom, top, -1):
                self.buffer[y] = self.buffer[y - 1]
            self.buffer.pop(top, None)
        self.dirty.update(range(self.lines))

    def draw(self, data):
        super().draw(data)
        if data:
            self.last = data[-1]

    def repeat_last(self, count=1, *args, **kwargs):
        self.draw(self.last * max(count, 1))


class Stream(pyte.ByteStream):
    csi = dict(pyte.ByteStream.csi, b="repeat_last", S="scroll_up", T="scroll_down")


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Session:
    """pyfold top on a pty of its own (its controlling terminal: Ctrl-C and resizes reach it as they would a user's),
    everything it writes fed to a pyte screen and kept raw."""

    def __init__(self, args, rows=40, cols=120, term="xterm-256color", env=None):
        self.master, self.slave = pty.openpty()
        set_size(self.slave, rows, cols)
        self.modes = termios.tcgetattr(self.slave)
        self.screen = Screen(cols, rows)
        self.stream = Stream(self.screen)
        self.raw = bytearray()
        self.lock = threading.Lock()
        env = dict(os.environ, TERM=term, **(env or {}))
        env.pop("COLUMNS", None), env.pop("LINES", None)
        self.proc = subprocess.Popen([TOP] + args, stdin=self.slave, stdout=self.slave, stderr=self.slave, env=env,
                                     start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.raw += data
                self.stream.feed(data)

    def lines(self):
        with self.lock:
            return list(self.screen.display)

    def text(self):
        return "\n".join(self.lines())

    def wait_for(self, predicate, timeout=15, what="the screen"):
        end = time.time() + timeout
        while time.time() < end:
            if predicate(self.lines()):
                return
            if self.proc.poll() is not None:
                time.sleep(0.2)
                if predicate(self.lines()):
                    return
                break
            time.sleep(0.05)
        raise AssertionError(f"{what} never showed up (exit {self.proc.poll()}); the screen:\n{self.text()}")

    def rows(self):
        """{name: (own%, total%, own s, total s)} of the rows on screen."""
        out = {}
        for line in self.lines()[4:]:
            m = ROW.match(line)
            if m:
                out[m.group(5)] = tuple(float(m.group(i)) for i in range(1, 5))
        return out

    def row(self, function):
        for name, values in self.rows().items():
            if name.split(" (")[0] == function:
                return values
        return None

    def samples(self):
        m = re.search(r"(\d+) samples", self.lines()[1])
        return int(m.group(1)) if m else 0

    def key(self, keys):
        os.write(self.master, keys.encode())

    def resize(self, rows, cols):
        with self.lock:
            self.screen.resize(rows, cols)
        set_size(self.master, rows, cols)  # the kernel sends SIGWINCH to the terminal's foreground group

    def wait_exit(self, timeout=5):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"pyfold top still runs {timeout} s later; the screen:\n{self.text()}")

    def assert_restored(self):
        """The terminal given back: the alternate screen left after it was entered, the cursor shown, the tty's
        modes (echo, canonical input) as they were."""
        time.sleep(0.1)
        with self.lock:
            raw = bytes(self.raw)
        entered = raw.rfind(b"\x1b[?1049h")
        assert entered >= 0, "the alternate screen was never entered"
        assert raw.rfind(b"\x1b[?1049l") > entered, "the alternate screen was not left"
        assert raw.rfind(b"\x1b[?25h") > raw.rfind(b"\x1b[?25l"), "the cursor was left hidden"
        modes = termios.tcgetattr(self.slave)
        assert modes[3] == self.modes[3], f"tty local modes {modes[3]:#x}, were {self.modes[3]:#x}"

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.slave)
        os.close(self.master)


def has_samples(n):
    return lambda lines: (m := re.search(r"(\d+) samples", lines[1])) is not None and int(m.group(1)) >= n


def shows(*functions):
    return lambda lines: all(any(re.search(rf"\b{f} \(", line) for line in lines[4:]) for f in functions)


def near(value, expected, points, what):
    assert abs(value - expected) <= points, f"{what}: {value:.1f}%, expected {expected} +- {points}"


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def launched_pid(session):
    m = re.search(r"PID (\d+)", session.lines()[0])
    assert m, f"no PID in the header: {session.lines()[0]!r}"
    return int(m.group(1))


@check("shares: loop's own share, three_parts and one_part 3:1 in total, sleepy's idle half the wall time")
def _():
    s = Session(["--", PYTHON, WORKLOAD, "30"])
    try:
        s.wait_for(has_samples(2500), what="2500 samples")
        s.wait_for(shows("three_parts", "one_part", "loop", "idle"), what="the workload's functions")
        three, one, loop, idle = (s.row(f) for f in ("three_parts", "one_part", "loop", "idle"))
        assert s.lines()[3].split()[:5] == ["OWN%", "TOTAL%", "OWN", "s", "TOTAL"], s.lines()[3]
        near(100 * three[1] / (three[1] + one[1]), 75, 5, "three_parts of three_parts + one_part")
        near(idle[0], 50, 5, "idle's own share (one of two threads)")
        near(loop[0], three[1] + one[1], 3, "loop's own share against its callers' totals")
        assert three[0] < 1 and one[0] < 1, f"three_parts/one_part own: {three[0]} {one[0]}"
        # times: the shares of the window's seconds
        m = re.search(r"\((\d+) s\)", s.lines()[2])
        assert m and loop[2] > 0 and idle[2] > 0, s.lines()[2]
    finally:
        s.close()


@check("keys: o/i/n sort, w window, p pause, t thread picker, / filter (and a bad expression), each shown")
def _():
    s = Session(["--", PYTHON, WORKLOAD, "60"])
    try:
        s.wait_for(has_samples(1000), what="1000 samples")
        s.wait_for(shows("three_parts", "idle"), what="the workload's functions")
        assert "q quit" in s.lines()[-1] and "/ filter" in s.lines()[-1], s.lines()[-1]
        def sorted_by(sort, column):
            def test(lines):
                if f"sort: {sort}" not in lines[2]:
                    return False
                rows = s.rows()
                values = list(rows) if column is None else [v[column] for v in rows.values()]
                return len(values) > 3 and values == sorted(values, reverse=column is not None)
            return test
        s.key("n")
        s.wait_for(sorted_by("name", None), what="the rows by name")
        s.key("i")
        s.wait_for(sorted_by("total", 1), what="the rows by total")
        s.key("o")
        s.wait_for(sorted_by("own", 0), what="the rows by own")
        s.key("w")
        s.wait_for(lambda lines: "last interval" in lines[2], what="the last-interval window")
        time.sleep(1.2)  # a whole interval
        s.wait_for(lambda lines: "last interval (1 s)" in lines[2], what="a 1 s window")
        assert 300 < s.samples() < 1500, f"the last interval's samples: {s.samples()} (1000 Hz asked)"
        s.key("w")
        s.wait_for(lambda lines: "since the start" in lines[2], what="since the start")
        s.key("p")
        s.wait_for(lambda lines: "PAUSED" in lines[2], what="PAUSED")
        frozen = s.samples()
        time.sleep(1.5)
        assert s.samples() == frozen, f"paused, the samples went on: {frozen} -> {s.samples()}"
        s.key("p")
        s.wait_for(lambda lines: "PAUSED" not in lines[2] and has_samples(frozen + 200)(lines), what="resumed")
        # the thread picker: MainThread alone shows three_parts at three quarters
        s.key("t")
        s.wait_for(lambda lines: "pick a thread" in lines[3] and "sleepy" in "\n".join(lines), what="the picker")
        for i, line in enumerate(s.lines()[4:]):
            if "MainThread" in line:
                break
        else:
            raise AssertionError("no MainThread in the picker:\n" + s.text())
        s.key("\x1bOB" * i + "\r")  # the down arrow, as xterm sends it in keypad mode
        s.wait_for(lambda lines: "MainThread" in lines[2], what="MainThread picked")
        time.sleep(1.2)
        three, one = s.row("three_parts"), s.row("one_part")
        assert s.row("idle") is None, "sleepy's idle still shown with MainThread picked"
        near(three[1], 75, 5, "three_parts's total in MainThread")
        near(one[1], 25, 5, "one_part's total in MainThread")
        s.key("t")
        s.wait_for(lambda lines: "pick a thread" in lines[3], what="the picker")
        s.key("k" * 10 + "\r")  # up to the first entry: all threads
        s.wait_for(lambda lines: "all threads" in lines[2], what="all threads again")
        s.key("/^(three|one)_")
        s.wait_for(lambda lines: lines[-1].startswith("/^(three|one)_"), what="the filter prompt")
        s.key("\r")
        s.wait_for(lambda lines: "filter: /^(three|one)_/" in lines[2] and len(s.rows()) == 2, what="the filter applied")
        names = [n.split(" (")[0] for n in s.rows()]
        assert names and set(names) <= {"three_parts", "one_part"}, f"filtered rows: {names}"
        s.key("/(\r")
        s.wait_for(lambda lines: "not a regular expression" in lines[-1], what="the bad expression's message")
        s.key("/\r")  # an empty filter shows every row again
        s.wait_for(lambda lines: "filter:" not in lines[2] and shows("idle")(lines), what="no filter")
    finally:
        s.close()


@check("q quits within a second with exit status 0; the attached program keeps running; the terminal restored")
def _():
    with running([PYTHON, WORKLOAD]) as target:
        s = Session(["--pid", str(target.pid)])
        try:
            s.wait_for(shows("three_parts"), what="three_parts")
            started = time.time()
            s.key("q")
            status = s.wait_exit(3)
            took = time.time() - started
            assert status == 0, f"exit status {status}"
            assert took < 1, f"q took {took:.2f} s"
            s.assert_restored()
            time.sleep(0.3)
            assert target.poll() is None, "the attached program ended"
            with open(f"/proc/{target.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            assert state in "RS", f"the attached program is left in state {state}"
        finally:
            s.close()


@check("q on a launched program ends it (exit status 0)")
def _():
    s = Session(["--", PYTHON, WORKLOAD])
    try:
        s.wait_for(shows("three_parts"), what="three_parts")
        pid = launched_pid(s)
        s.key("q")
        assert s.wait_exit(3) == 0
        s.assert_restored()
        end = time.time() + 2
        while alive(pid) and time.time() < end:
            time.sleep(0.05)
        assert not alive(pid), "the launched program still runs"
    finally:
        s.close()


@check("Ctrl-C quits (exit status 0), ending the launched program; the terminal restored")
def _():
    s = Session(["--", PYTHON, WORKLOAD])
    try:
        s.wait_for(shows("three_parts"), what="three_parts")
        pid = launched_pid(s)
        started = time.time()
        s.key("\x03")
        assert s.wait_exit(3) == 0
        assert time.time() - started < 1.5, f"Ctrl-C took {time.time() - started:.2f} s"
        s.assert_restored()
        time.sleep(0.5)
        assert not alive(pid), "the launched program still runs"
    finally:
        s.close()


@check("SIGTERM to pyfold top: it ends, the terminal restored")
def _():
    s = Session(["--", PYTHON, WORKLOAD])
    try:
        s.wait_for(shows("three_parts"), what="three_parts")
        s.proc.send_signal(signal.SIGTERM)
        assert s.wait_exit(3) == 0
        s.assert_restored()
    finally:
        s.close()


def processes_with(argument):
    """The PIDs of the processes with argument on their command line."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if argument.encode() in f.read().split(b"\0"):
                    found.append(int(pid))
        except OSError:
            pass
    return found


@check("SIGTERM during start-up: while the method is chosen (nothing started, nothing drawn) and while the program "
       "becomes Python (it is ended); pyfold top ends with exit status 0, the terminal as it was")
def _():
    folder = tempfile.mkdtemp()
    # An interpreter slow to answer and to start; --async asks it its version (`-c`) before choosing the method
    mark = os.path.join(folder, "asked")
    slow = write(os.path.join(folder, "slowpython"), f"""#!/bin/sh
case "$2" in
    "import sys; print"*) touch {mark} ;;
    *) touch {mark}.started ;;
esac
sleep 1.5
exec {shutil.which(PYTHON)} "$@"
""")
    os.chmod(slow, 0o755)
    tag = "31.4159"  # the workload's seconds: its command line's mark
    try:
        for when in (mark, mark + ".started"):
            s = Session(["--async", "--python", slow, WORKLOAD, tag])
            try:
                end = time.time() + 10
                while not os.path.exists(when) and time.time() < end:
                    time.sleep(0.01)
                assert os.path.exists(when), f"{when} never made"
                s.proc.send_signal(signal.SIGTERM)
                status = s.wait_exit(8)
                assert status == 0, f"exit status {status}; the screen:\n{s.text()}"
                if b"\x1b[?1049h" in s.raw or when != mark:
                    s.assert_restored()
                else:  # nothing drawn
                    assert termios.tcgetattr(s.slave)[3] == s.modes[3], "tty modes changed"
                end = time.time() + 3
                while processes_with(tag) and time.time() < end:
                    time.sleep(0.1)
                assert not processes_with(tag), f"the launched program still runs (SIGTERM after {when})"
            finally:
                s.close()
                for made in (mark, mark + ".started"):
                    if os.path.exists(made):
                        os.remove(made)
    finally:
        for pid in processes_with(tag):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder)


@check("the program ends: pyfold top ends with its exit code, the terminal restored, the end said")
def _():
    s = Session(["--", PYTHON, "-c", "import time, sys\nt = time.time()\nwhile time.time() < t + 1.5: pass\n"
                 "sys.exit(3)"])
    try:
        s.wait_for(lambda lines: "samples" in lines[1], what="the view")
        assert s.wait_exit(10) == 3
        s.assert_restored()
        s.wait_for(lambda lines: "exit code 3" in "\n".join(lines), what="the end's message")
    finally:
        s.close()


@check("resizing redraws: a narrow terminal drops the time columns before the names, a wide one has them back")
def _():
    s = Session(["--", PYTHON, WORKLOAD, "60"], rows=30, cols=120)
    try:
        s.wait_for(shows("three_parts"), what="three_parts")
        assert "TOTAL s" in s.lines()[3]
        s.resize(20, 36)
        s.wait_for(lambda lines: len(lines) == 20 and lines[3].split() == ["OWN%", "FUNCTION"] and
                   "q quit" in lines[19] and shows("three_parts")(lines), what="the narrow layout")
        s.resize(24, 50)
        s.wait_for(lambda lines: lines[3].split() == ["OWN%", "TOTAL%", "OWN", "s", "FUNCTION"] and
                   "q quit" in lines[23] and shows("three_parts")(lines), what="total% and own s back at 50 columns")
        s.resize(30, 120)
        s.wait_for(lambda lines: "TOTAL s" in lines[3] and "q quit" in lines[29], what="the wide layout")
        assert s.proc.poll() is None
    finally:
        s.close()


LONG_NAME = "ein_sehr_langer_funktionsname_über_alles_" * 3 + "長い関数名" * 4  # 140 columns
WIDE_NAME = "長い関数名" * 12  # 120 columns, 2 each


@check("long rows in 80 columns: names (UTF-8, wide characters), the command line (a tab, a newline) and the "
       "filter line longer than 120 columns; nothing wraps, each character where it belongs, in C.UTF-8 and in C")
def _():
    folder = tempfile.mkdtemp()
    script = write(os.path.join(folder, "long_names.py"), f"""import sys, time
def {LONG_NAME}():
    return sum(range(20000))
def {WIDE_NAME}():
    return sum(range(10000))
def short():
    return sum(range(5000))
end = time.time() + float(sys.argv[1])
while time.time() < end:
    {LONG_NAME}()
    {WIDE_NAME}()
    short()
""")
    args = ["--", PYTHON, script, "60", "an argument\twith a tab and\na newline", "ü" * 60, "x" * 60]
    pattern = "(" + "|".join(["ein_sehr_langer", "nothing_like_this_" * 6]) + ")"
    # (in C, each byte that is not ASCII is a '?')
    for locale, long_shown, wide_shown in (("C.UTF-8", LONG_NAME[:35], WIDE_NAME[:20]),
                                           ("C", LONG_NAME[:30] + "??ber_alles", "?" * 40)):
        s = Session(args, rows=30, cols=80, env={"LC_ALL": locale})
        try:
            s.wait_for(lambda lines: any(long_shown in line for line in lines[4:]) and
                       any(wide_shown in line for line in lines[4:]), what=f"the long rows ({locale})")

            def unwrapped(lines, last):
                assert len(lines[0]) >= 79 and lines[0].startswith("pyfold top  PID"), f"line 0: {lines[0]!r}"
                assert lines[1].startswith("wall "), f"line 1: {lines[1]!r}"
                assert lines[2].startswith("since the start"), f"line 2: {lines[2]!r}"
                assert lines[3].split()[0] == "OWN%", f"line 3: {lines[3]!r}"
                for line in lines[4:-1]:
                    assert not line.strip() or ROW.match(line), f"not a row: {line!r}; the screen:\n{s.text()}"
                assert lines[-1].startswith(last), f"the last line: {lines[-1]!r}"
            unwrapped(s.lines(), "q quit")
            s.key("/" + pattern)  # the prompt shows the end of what is typed
            s.wait_for(lambda lines: lines[-1].rstrip().endswith(pattern[-40:]), what="the filter prompt")
            s.key("\r")
            s.wait_for(lambda lines: "filter: /(" in lines[2] and len(s.rows()) == 1, what="the filter applied")
            unwrapped(s.lines(), "q quit")
            assert long_shown in next(iter(s.rows())), s.rows()
        finally:
            s.close()
    shutil.rmtree(folder)


@check("a terminal without colours (TERM=vt100): the same rows, readable")
def _():
    s = Session(["--", PYTHON, WORKLOAD, "60"], term="vt100")
    try:
        s.wait_for(shows("three_parts", "one_part", "idle"), what="the workload's functions")
        colours = re.findall(rb"\x1b\[(?:[0-9]+;)*(?:3[0-9]|4[0-9]|38;5;[0-9]+)m", bytes(s.raw))
        assert not colours, f"colour codes on a vt100: {colours[:3]}"
        s.key("q")
        assert s.wait_exit(3) == 0
    finally:
        s.close()


@check("options that do not go together: a usage error (exit 2) before anything is drawn or printed")
def _():
    with running([PYTHON, WORKLOAD]) as target:
        bad = [(["--once", "--method", "inprocess", "--", PYTHON, WORKLOAD], "not -- COMMAND"),
               (["--method", "inprocess", "--", PYTHON, WORKLOAD], "not -- COMMAND"),
               (["--method", "inprocess", "--pid", str(target.pid)], "no in-process method"),
               (["--method", "inprocess", "--subprocesses", WORKLOAD], "--subprocesses needs the remote method"),
               (["--method", "inprocess", "--nonblocking", WORKLOAD], "--nonblocking needs the remote method"),
               (["--method", "inprocess", "--native", WORKLOAD], "--native reads the program from outside"),
               (["--program-output", os.devnull, "--pid", str(target.pid)], "not with --pid")]
        for args, message in bad:
            r = subprocess.run([TOP] + args, capture_output=True, text=True, timeout=30)
            assert r.returncode == 2 and r.stdout == "", (args, r.returncode, r.stdout)
            assert r.stderr.startswith("pyfold-top: ") and message in r.stderr, (args, r.stderr)
        s = Session(["--method", "inprocess", "--", PYTHON, WORKLOAD])  # on a terminal: no screen drawn
        try:
            assert s.wait_exit(10) == 2
            time.sleep(0.1)
            assert b"\x1b[?1049h" not in s.raw, f"the alternate screen was entered: {bytes(s.raw)[:200]!r}"
            s.wait_for(lambda lines: "pyfold-top: the in-process method starts Python itself" in lines[0],
                       what="the usage error")
        finally:
            s.close()
        assert target.poll() is None


def parse_tables(text):
    """[(header {key: value}, [(own%, total%, own s, total s, name)])] of plain tables."""
    tables = []
    for block in text.strip("\n").split("\n\n"):
        lines = block.split("\n")
        assert lines[0].startswith("# "), f"no header: {lines[0]!r}"
        header = dict(f.split("=", 1) for f in re.findall(r"\w+=\S+", lines[0]))
        assert lines[1].split("\t") == ["own%", "total%", "own_s", "total_s", "function"], lines[1]
        rows = []
        for line in lines[2:]:
            f = line.split("\t")
            assert len(f) == 5, f"not 5 columns: {line!r}"
            rows.append((float(f[0]), float(f[1]), float(f[2]), float(f[3]), f[4]))
        tables.append((header, rows))
    return tables


def total_of(rows, function):
    return next((r[1] for r in rows if r[4].split(" (")[0] == function), 0.0)


@check("piped output: a plain table every interval, parsable, the true shares")
def _():
    r = subprocess.run([TOP, "--interval", "0.5", "--", PYTHON, WORKLOAD, "2.5"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout, "escape codes in piped output"
    tables = parse_tables(r.stdout)
    assert 3 <= len(tables) <= 7, f"{len(tables)} tables for 2.5 s at 0.5 s"
    stacks = [int(h["stacks"]) for h, _ in tables]
    assert stacks == sorted(stacks), f"since the start, the stacks only grow: {stacks}"
    header, rows = tables[-1]
    assert header["mode"] == "wall" and header["threads"] == "2", header
    three, one = total_of(rows, "three_parts"), total_of(rows, "one_part")
    near(100 * three / (three + one), 75, 5, "three_parts of three_parts + one_part")


def native_inprocess():
    """Whether --method inprocess samples with pyfold's native sampler (not in a sanitizer build: no agent)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py") as script:
        r = subprocess.run([RECORD, "--method", "inprocess", "-o", os.devnull, script.name], capture_output=True,
                           text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return "read by pyfold's native sampler" in r.stderr


# The samplers: remote, in-process (its native sampler, but in a sanitizer build), in-process by the signal handler
# it falls back to (a Python without ctypes); each with what it adds to PYTHONPATH.
NO_CTYPES = os.path.join(TARGETS, "no_ctypes")
SAMPLERS = (("remote", "remote", []), ("inprocess", "inprocess", []), ("inprocess (no ctypes)", "inprocess", [NO_CTYPES]))


def python_path(*folders):
    return dict(os.environ, PYTHONPATH=os.pathsep.join(folders))


@check("every sampler: the header's samples are the sampler's ticks (in wall mode each tick counts both threads' "
       "stacks), the rate achieved at most the rate asked")
def _():
    for method, option, path in SAMPLERS:
        r = subprocess.run([TOP, "--interval", "0.5", "--method", option, WORKLOAD, "2.5"], capture_output=True,
                           text=True, timeout=60, env=python_path(*path))
        assert r.returncode == 0, (method, r.stderr)
        tables = parse_tables(r.stdout)
        for header, _ in tables:
            samples, stacks = int(header["samples"]), int(header["stacks"])
            assert float(header["achieved"]) <= 1100, f"{method}: {float(header['achieved'])} Hz achieved of 1000"
            # (the figures are taken every 20 ms, the stacks as they come: a few ticks apart)
            assert samples > 100 and 1.85 <= stacks / samples <= 2.1, f"{method}: {stacks} stacks of {samples} samples"
        seconds = float(tables[-1][0]["seconds"])
        assert 2.3 <= seconds <= 2.9, f"{method}: {seconds} s for a 2.5 s program"


@check("a Python that takes a second to start: --once's table is a whole interval from the first sample, at the "
       "rate asked (every sampler)")
def _():
    site = tempfile.mkdtemp()
    write(os.path.join(site, "sitecustomize.py"), "import time\ntime.sleep(1)\n")
    try:
        for method, option, path in SAMPLERS:
            r = subprocess.run([TOP, "--once", "--interval", "1", "--method", option, WORKLOAD, "10"],
                               capture_output=True, text=True, timeout=60, env=python_path(site, *path))
            assert r.returncode == 0, (method, r.stderr)
            (header, rows), = parse_tables(r.stdout)
            seconds, achieved = float(header["seconds"]), float(header["achieved"])
            assert 0.95 <= seconds <= 1.3, f"{method}: a table of {seconds} s for a 1 s interval"
            assert 600 <= achieved <= 1100, f"{method}: {achieved} Hz achieved of 1000"
            assert total_of(rows, "three_parts") > 0, f"{method}: no three_parts in {rows}"
    finally:
        shutil.rmtree(site)


@check("the header moves on every interval while no stack is counted (--mode cpu, a sleeping program; every "
       "sampler)")
def _():
    native = native_inprocess()
    folder = tempfile.mkdtemp()
    sleeps = write(os.path.join(folder, "sleeps.py"), "import time\ntime.sleep(3)\n")
    for method, option, path in SAMPLERS:
        r = subprocess.run([TOP, "--interval", "0.5", "--mode", "cpu", "--method", option, sleeps],
                           capture_output=True, text=True, timeout=60, env=python_path(*path))
        assert r.returncode == 0, (method, r.stderr)
        tables = parse_tables(r.stdout)
        assert len(tables) >= 4, f"{method}: {len(tables)} tables in 3 s at 0.5 s"
        seconds = [float(h["seconds"]) for h, _ in tables]
        samples = [int(h["samples"]) for h, _ in tables]
        assert all(b - a > 0.3 for a, b in zip(seconds, seconds[1:-1])), f"{method}: seconds {seconds}"
        # (the in-process method without its native sampler ticks on the program's CPU time: none while it sleeps)
        if method == "remote" or (method == "inprocess" and native):
            assert all(b - a > 200 for a, b in zip(samples, samples[1:-1])), f"{method}: samples {samples}"
    shutil.rmtree(folder)


@check("--once against pyfold record over the same seconds (--mode cpu): one table, the same shares")
def _():
    with running([PYTHON, WORKLOAD]) as target:
        rec = subprocess.Popen([RECORD, "--pid", str(target.pid), "--mode", "cpu", "-d", "3", "-q"],
                               stdout=subprocess.PIPE, text=True)
        once = subprocess.run([TOP, "--pid", str(target.pid), "--mode", "cpu", "--once", "--interval", "3"],
                              capture_output=True, text=True, timeout=30)
        folded, _ = rec.communicate(timeout=30)
        assert once.returncode == 0, once.stderr
        assert target.poll() is None, "--once ended the attached program"
    tables = parse_tables(once.stdout)
    assert len(tables) == 1, f"{len(tables)} tables"
    header, rows = tables[0]
    assert header["mode"] == "cpu", header
    stacks = parse_folded(folded)
    all_ = sum(c for _, c in stacks)
    recorded = {f: 100 * sum(c for frames, c in stacks if any(x[0] == f for x in frames)) / all_
                for f in ("three_parts", "one_part", "loop")}
    for f in ("three_parts", "one_part"):
        near(total_of(rows, f), recorded[f], 5, f"top's {f} (record: {recorded[f]:.1f}%)")
    loop_own = next(r[0] for r in rows if r[4].split(" (")[0] == "loop")
    near(loop_own, recorded["loop"], 5, f"top's own share of loop (record's total: {recorded['loop']:.1f}%)")


def per_interpreter(python):
    def run():
        s = Session(["--", python.path, WORKLOAD, "30"], rows=30, cols=120)
        try:
            s.wait_for(shows("three_parts", "one_part", "loop", "idle"), timeout=20, what="the workload's functions")
            m = re.search(r"Python (\d+\.\d+)", s.lines()[0])
            assert m and m.group(1) == f"3.{python.minor}", f"header: {s.lines()[0]!r}"
            s.key("q")
            assert s.wait_exit(3) == 0
            s.assert_restored()
        finally:
            s.close()
    return run


for python in interpreters():
    check(f"{python.label}: the view opens and shows the workload's functions")(per_interpreter(python))

finish()
