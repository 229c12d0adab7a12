# pyfold's in-process sampler, for machines where reading another process's memory is refused (no CAP_SYS_PTRACE,
# Yama ptrace_scope 2 or 3, seccomp). pyfold-record runs it as `python -c SOURCE TARGET...` with its settings in
# the environment variable PYFOLD_INPROCESS. It runs the target script or module unchanged as __main__, samples
# every thread's stack on a timer (SIGPROF for cpu mode, SIGALRM for wall), and writes one folded line per sample
# and thread to a pipe that pyfold merges: the same text as the remote recorder (`func (file:line)`, root first).
# Written for CPython 3.8+ (and still parseable by older ones, so it can refuse them with a message).
import os
import signal
import sys
import threading


def _settings():
    raw = os.environ.pop("PYFOLD_INPROCESS", "")
    settings = dict(item.split("=", 1) for item in raw.split(";") if "=" in item)
    return {
        "fd": int(settings.get("fd", "-1")),
        "rate": float(settings.get("rate", "1000")),
        "mode": settings.get("mode", "wall"),
        "threads": settings.get("threads") == "1",
        "lines": settings.get("lines", "line"),  # line, function (first line) or none
        "startup": settings.get("startup") == "1",  # keep what runs before the target's first line
    }


class Sampler:
    def __init__(self, fd, rate, mode, threads, lines, startup):
        self.fd, self.mode, self.threads, self.lines = fd, mode, threads, lines
        self.keep_startup = startup
        self.started = False  # the target's <module> has been seen on the main thread's stack
        self.ticks = self.startup_ticks = self.error_ticks = 0
        self.which = None
        self.interval = 1.0 / rate
        self.texts = {}  # (code, line) -> frame text
        self.thread_frames = {}  # ident -> root frame text
        self.pending = []
        self.skip_files = {__file__ if "__file__" in globals() else "<string>", "<string>"}
        self.runpy = set()
        self.samples = 0
        self.busy = False
        self.errors = 0
        self.main_ident = threading.main_thread().ident
        self.own_code = {getattr(f, "__func__", f).__code__ for f in vars(Sampler).values()
                         if hasattr(getattr(f, "__func__", f), "__code__")}

    @staticmethod
    def clean(text):
        return text.replace(";", ":").translate({c: " " for c in list(range(32)) + [127]})

    def frame_text(self, code, line):
        key = (code, line)
        text = self.texts.get(key)
        if text is None:
            name = getattr(code, "co_qualname", code.co_name)
            if self.lines == "function" or not line or line < 0:
                line = code.co_firstlineno  # f_lineno is None in some frame states: at its function, as remote does
            if self.lines == "none":
                line = 0
            text = self.clean(name) + " (" + self.clean(code.co_filename) + (":%d)" % line if line > 0 else ")")
            self.texts[key] = text
        return text

    def thread_text(self, ident, native, name):
        # As the remote recorder writes it: the OS thread id and the threading.Thread name.
        key = (ident, name)
        text = self.thread_frames.get(key)
        if text is None:
            text = "thread (%d): %s" % (native, self.clean(name))
            self.thread_frames[key] = text
        return text

    def running(self, native):
        try:
            with open("/proc/self/task/%d/stat" % native, "rb") as f:
                stat = f.read()
            return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] == b"R"
        except (OSError, ValueError):
            return False

    def past_startup(self, names):
        # The target's first line: its <module> called by runpy's _run_code (run_path and -m alike).
        for i in range(1, len(names)):
            code, caller = names[i][0], names[i - 1][0]
            if code.co_name == "<module>" and caller.co_name == "_run_code" and caller.co_filename in self.runpy:
                return True
        return False

    def stack(self, frame, main=False):
        names = []
        while frame is not None:
            code = frame.f_code
            names.append((code, frame.f_lineno))
            frame = frame.f_back
        names.reverse()
        if main and not self.started:
            self.started = self.past_startup(names)
        # A signal that lands just as the handler returns samples the handler itself: drop its frames at the leaf.
        while names and names[-1][0] in self.own_code:
            names.pop()
        # Drop our own frames and runpy's at the root: the stack starts at the target's <module>.
        start = 0
        while start < len(names) and (names[start][0].co_filename in self.skip_files or
                                      names[start][0].co_filename in self.runpy):
            start += 1
        return [self.frame_text(code, line) for code, line in names[start:]]

    def on_signal(self, signum, frame):
        if self.busy:  # a signal that arrived while the handler ran: that sample is the handler's own
            return
        self.busy = True
        try:
            self.take_sample(frame)
        except Exception:  # the handler runs inside the program: it must never raise there
            self.errors += 1
            self.error_ticks += 1
        finally:
            self.busy = False

    def take_sample(self, frame):
        # Signals that arrive while the main thread waits for the GIL are merged into one: weigh each sample by
        # the timer periods that passed since the last one, so the counts add up to the time.
        now = self.clock()
        periods = (now - self.last) / self.interval + self.carry
        self.last = now
        count = int(periods)
        self.carry = periods - count
        if count <= 0:
            return
        self.ticks += count
        if not self.started:
            self.stack(frame, main=True)
            if not self.started and not self.keep_startup:
                self.startup_ticks += count
                return
        # Not threading.enumerate(): it takes threading's lock, which the interrupted main thread may hold (in
        # Thread.start or join), and the handler would wait for itself forever. A copy of the dict is atomic.
        threads = getattr(threading, "_active", {}).copy()
        lines = []
        for ident, top in sys._current_frames().items():
            if ident == self.main_ident:
                top = frame  # the main thread's current frame is this handler; the interrupted one was passed in
            if top is None:
                continue
            thread = threads.get(ident)
            native = (thread.native_id if thread else 0) or 0
            if self.mode == "cpu" and ident != self.main_ident and not self.running(native):
                continue
            frames = self.stack(top)
            if not frames:
                continue
            if self.threads:
                frames.insert(0, self.thread_text(ident, native, thread.name if thread else ""))
            lines.append("%s %d\n" % (";".join(frames), count))
        if lines:
            self.samples += 1
            self.write("".join(lines))

    def write(self, text):
        data = text.encode("utf-8", "surrogateescape")
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:  # pyfold went away: stop sampling, let the program finish
            self.stop()

    def start(self):
        import runpy
        self.runpy = {runpy.__file__, "<frozen runpy>"}
        import time
        self.clock = time.process_time if self.mode == "cpu" else time.monotonic
        self.last, self.carry = self.clock(), 0.0
        which = signal.ITIMER_PROF if self.mode == "cpu" else signal.ITIMER_REAL
        signum = signal.SIGPROF if self.mode == "cpu" else signal.SIGALRM
        signal.signal(signum, self.on_signal)
        signal.setitimer(which, self.interval, self.interval)
        self.which = which

    def stop(self):
        if self.which is not None:
            signal.setitimer(self.which, 0, 0)

    def close(self):
        # The totals pyfold reports: ticks (samples taken), those left out as start-up or lost to an error.
        self.stop()
        self.write("#pyfold ticks=%d startup=%d errors=%d started=%d\n" % (
            self.ticks, self.startup_ticks, self.error_ticks, 1 if self.started else 0))
        try:
            os.close(self.fd)
        except OSError:
            pass


def main():
    if sys.version_info < (3, 8):
        sys.stderr.write("pyfold: the in-process recorder needs Python 3.8 or newer, not %s\n" % sys.version.split()[0])
        sys.exit(2)
    settings = _settings()
    sampler = Sampler(**settings)
    args = sys.argv[1:]
    import runpy
    if args and args[0] == "-m":
        if len(args) < 2:
            sys.stderr.write("pyfold: -m needs a module name\n")
            sys.exit(2)
        sys.argv = [args[1]] + args[2:]  # runpy puts the module's path in argv[0]
        if hasattr(runpy, "_run_module_as_main"):  # what `python -m` runs: its messages and exit codes
            target = lambda: runpy._run_module_as_main(args[1], alter_argv=True)
        else:
            target = lambda: runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        try:  # as `python script.py` says it
            open(args[0], "rb").close()
        except OSError as e:
            sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n" % (
                sys.executable, os.path.abspath(args[0]), e.errno, e.strerror))
            sampler.close()
            sys.exit(2)
        sys.argv = args
        sys.path[0] = os.path.dirname(os.path.abspath(args[0]))
        target = lambda: runpy.run_path(args[0], run_name="__main__")
    sampler.start()
    try:
        target()
    finally:
        sampler.close()


main()
