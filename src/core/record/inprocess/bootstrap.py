# pyfold's in-process sampler, for machines where reading another process's memory is refused (no CAP_SYS_PTRACE,
# Yama ptrace_scope 2 or 3, seccomp). pyfold-record runs it as `python -c SOURCE TARGET...` with its settings in
# the environment variable PYFOLD_INPROCESS. It starts pyfold's native sampler (libpyfold-agent.so, through ctypes:
# a thread that reads every thread's stack at each tick, as the remote recorder does), or where that cannot start
# (or for --async) samples every thread's stack from a signal handler on a timer (SIGPROF for cpu mode, SIGALRM for
# wall); then it runs the target script or module unchanged as __main__. Either writes one folded line per sample
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
        "tasks": settings.get("async", "off"),  # --async: off, running or all
        "agent": settings.get("agent", ""),  # pyfold's native sampler (a shared library), when it gave one
        "raw": raw,
    }


class Sampler:
    def __init__(self, fd, rate, mode, threads, lines, startup, tasks, agent, raw):
        self.fd, self.mode, self.threads, self.lines = fd, mode, threads, lines
        self.tasks = tasks
        self.agent_path, self.raw, self.agent = agent, raw, None
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
            lines = self.take_sample(frame)
            # pyfold's live figures: the ticks so far, with every write of stacks and every 20 ms without one
            now = self.monotonic()
            if lines or now >= self.progress_at + 0.02:
                self.progress_at = now
                # (its figures count from its start: startup=0 kept_us=0, as the first line said)
                lines.append("#pyfold-progress ticks=%d not_recorded=%d startup=0 kept_us=0\n" % (
                    self.ticks, self.error_ticks))
                self.write("".join(lines))
        except Exception:  # the handler runs inside the program: it must never raise there
            self.errors += 1
            self.error_ticks += 1
        finally:
            self.busy = False

    def take_sample(self, frame):
        # The sample's lines (none when it is start-up or no thread counts).
        # Signals that arrive while the main thread waits for the GIL are merged into one: weigh each sample by
        # the timer periods that passed since the last one, so the counts add up to the time.
        now = self.clock()
        periods = (now - self.last) / self.interval + self.carry
        self.last = now
        count = int(periods)
        self.carry = periods - count
        if count <= 0:
            return []
        self.ticks += count
        if not self.started:
            self.stack(frame, main=True)
            if not self.started and not self.keep_startup:
                self.startup_ticks += count
                return []
        # Not threading.enumerate(): it takes threading's lock, which the interrupted main thread may hold (in
        # Thread.start or join), and the handler would wait for itself forever. A copy of the dict is atomic.
        threads = getattr(threading, "_active", {}).copy()
        lines = []
        loops = self.loops() if self.tasks != "off" else {}
        for ident, top in sys._current_frames().items():
            if ident == self.main_ident:
                top = frame  # the main thread's current frame is this handler; the interrupted one was passed in
            if top is None:
                continue
            thread = threads.get(ident)
            native = (thread.native_id if thread else 0) or 0
            if self.mode == "cpu" and ident != self.main_ident and not self.running(native):
                continue
            stacks = self.task_stacks(loops[ident], top) if ident in loops else [self.stack(top)]
            for frames in stacks:
                if not frames:
                    continue
                if self.threads:
                    frames.insert(0, self.thread_text(ident, native, thread.name if thread else ""))
                lines.append("%s %d\n" % (";".join(frames), count))
        if lines:
            self.samples += 1
        return lines

    # --async: the tasks of each thread's running event loop, each drawn as its await chain under `<task> NAME` and
    # the chains of the tasks awaiting it (a task's _fut_waiter: a task, or a gather's children; a TaskGroup's
    # __aexit__ frame: its tasks; wait_for's frame before 3.12: its task), as the remote recorder draws them.
    def loops(self):
        # From sys.modules: no loop runs before asyncio is imported, and importing it here (or reading a module
        # being imported) would disturb the program.
        events, tasks = sys.modules.get("asyncio.events"), sys.modules.get("asyncio.tasks")
        if not hasattr(events, "_get_running_loop") or not hasattr(tasks, "all_tasks"):
            return {}
        loops = {}
        main = events._get_running_loop()  # the handler runs on the main thread
        if main is not None:
            loops[self.main_ident] = main
        for name in ("_all_tasks", "_scheduled_tasks", "_eager_tasks"):  # every loop's tasks (3.8-3.13)
            for task in list(getattr(tasks, name, ())):
                loop = task.get_loop()
                ident = getattr(loop, "_thread_id", None)
                if ident is not None and ident not in loops and loop.is_running():
                    loops[ident] = loop
        return loops

    @staticmethod
    def awaited(obj):
        # What a coroutine or generator awaits, if that is one too.
        nxt = getattr(obj, "cr_await", None) if hasattr(obj, "cr_await") else getattr(obj, "gi_yieldfrom", None)
        return nxt if hasattr(nxt, "cr_frame") or hasattr(nxt, "gi_frame") else None

    def chain(self, task):
        # A waiting task's await chain, outermost first, as (code, line).
        out, coro = [], task.get_coro()
        while coro is not None and len(out) < 256:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is None:
                break
            out.append((frame.f_code, frame.f_lineno))
            coro = self.awaited(coro)
        return out

    def children(self, task, chain):
        waiter = getattr(task, "_fut_waiter", None)
        if waiter is not None and hasattr(waiter, "get_coro"):
            yield waiter
        for child in getattr(waiter, "_children", ()):  # gather
            yield child
        coro = task.get_coro()
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is None:
                break
            code = frame.f_code
            if code.co_filename.endswith("taskgroups.py") and code.co_name in ("__aexit__", "_aexit"):
                for child in getattr(frame.f_locals.get("self"), "_tasks", ()):
                    yield child
            elif code.co_name == "wait_for" and code.co_filename.endswith("tasks.py"):
                fut = frame.f_locals.get("fut")
                if hasattr(fut, "get_coro"):
                    yield fut
            coro = self.awaited(coro)

    def task_text(self, task, awaiters):
        name = self.clean(task.get_name())
        return "<task> " + name + (" (awaited by %d)" % awaiters if awaiters > 1 else "")

    def task_stacks(self, loop, top):
        asyncio_tasks = sys.modules["asyncio.tasks"]
        tasks = asyncio_tasks.all_tasks(loop)
        running = asyncio_tasks.current_task(loop)
        parents, chains = {}, {}
        for task in tasks:
            chains[task] = self.chain(task) if task is not running else []
            for child in self.children(task, chains[task]):
                parents.setdefault(child, []).append(task)
        for awaiters in parents.values():  # the one at the lowest address, as the remote recorder picks
            awaiters.sort(key=id)
        if self.tasks == "running":
            leaves = [running] if running is not None else []
        else:
            awaiting = {p for awaiters in parents.values() for p in awaiters}
            leaves = [t for t in tasks if t not in awaiting]
        stacks = []
        for leaf in leaves:
            own = None
            if leaf is running:  # the thread's frames from the task's coroutine up
                frames, frame, coro_frame = [], top, getattr(leaf.get_coro(), "cr_frame", None)
                while frame is not None and frame.f_code in self.own_code:  # a signal during our handler
                    frame = frame.f_back
                while frame is not None and frame is not coro_frame:
                    frames.append((frame.f_code, frame.f_lineno))
                    frame = frame.f_back
                if frame is not None:
                    frames.append((frame.f_code, frame.f_lineno))
                    frames.reverse()
                    own = frames
                else:
                    chains[leaf] = self.chain(leaf)
            path, seen, task = [], set(), leaf
            while task is not None and task not in seen and len(path) < 256:
                seen.add(task)
                awaiters = parents.get(task, [])
                path.append((task, len(awaiters)))
                task = awaiters[0] if awaiters else None
            texts = []
            for i, (task, awaiters) in enumerate(reversed(path)):
                texts.append(self.task_text(task, awaiters))
                names = own if (own is not None and i == len(path) - 1) else chains.get(task) or self.chain(task)
                texts += [self.frame_text(code, line) for code, line in names]
            stacks.append(texts)
        # No task runs: the loop's own stack, except in all mode while it waits in its selector (that wait is the
        # waiting tasks', counted under them).
        code = top.f_code
        idle = code.co_name == "select" and code.co_filename.endswith("selectors.py")
        if running is None and not (self.tasks == "all" and stacks and idle):
            stacks.append(self.stack(top))
        return stacks

    def write(self, text):
        data = text.encode("utf-8", "surrogateescape")
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:  # pyfold went away: stop sampling, let the program finish
            self.stop()

    def start_agent(self):
        # The native sampler reads every thread's stack at the moment of its tick, from a thread of its own, as the
        # remote method does (libpyfold-agent.so, self_sampler.hpp). Python's signal handler runs only at the
        # interpreter's periodic checks, so its samples land late, on function entries and loop back edges: it is
        # what runs when the native sampler cannot (no ctypes, a kernel that refuses a process reading itself).
        if not self.agent_path:
            return False
        why = "not loaded"
        try:
            import ctypes
            library = ctypes.CDLL(self.agent_path)
            error = ctypes.create_string_buffer(512)
            library.pyfold_agent_start.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
            if library.pyfold_agent_start(self.fd, self.raw.encode(), error, len(error)) == 0:
                # Looked up now: at the end a lookup would run ctypes' Python code, which a last sample could catch.
                self.agent = library.pyfold_agent_stop
                return True
            why = error.value.decode("utf-8", "replace")
        except Exception as e:  # ImportError (no ctypes), OSError (dlopen refused)
            why = str(e)
        finally:  # loaded or not, the program does not get the library's descriptor
            try:
                os.close(int(self.agent_path.rsplit("/", 1)[1]))
            except (OSError, ValueError):
                pass
        self.write("#pyfold-note the native in-process sampler could not start (%s): sampled from Python's "
                   "signal handler, which runs late, at function entries and loop back edges\n" % self.clean(why))
        return False

    def start(self):
        if self.tasks == "off" and self.start_agent():
            return
        if self.mode == "gil":  # Python's handler runs on the main thread only: it cannot tell who holds the GIL
            sys.stderr.write("pyfold: --mode gil needs pyfold's native sampler inside the program, which could not "
                             "start; use --mode cpu or wall\n")
            self.close()
            sys.exit(2)
        import runpy
        self.runpy = {runpy.__file__, "<frozen runpy>"}
        import time
        self.clock = time.process_time if self.mode == "cpu" else time.monotonic
        self.last, self.carry = self.clock(), 0.0
        # When sampling started, on CLOCK_MONOTONIC (time.monotonic's, pyfold's too): pyfold's live figures count
        # the seconds from here, not from the launch. What is left of the start-up is runpy finding the target, a
        # few ms: the program's own time starts here too (in cpu mode a sleeping program gets no tick to tell).
        self.monotonic, self.progress_at = time.monotonic, 0.0
        self.start_time = self.monotonic()
        self.write("#pyfold-start monotonic=%.6f\n#pyfold-progress ticks=0 not_recorded=0 startup=0 kept_us=0\n"
                   % self.start_time)
        which = signal.ITIMER_PROF if self.mode == "cpu" else signal.ITIMER_REAL
        signum = signal.SIGPROF if self.mode == "cpu" else signal.SIGALRM
        signal.signal(signum, self.on_signal)
        signal.setitimer(which, self.interval, self.interval)
        self.which = which

    def stop(self):
        if self.which is not None:
            signal.setitimer(self.which, 0, 0)

    def close(self):
        if self.agent is not None:  # it writes its own totals
            self.agent()
            os.close(self.fd)
            return
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
        # Python 3.9+ gives the script its absolute path (__file__, the frames' file names), 3.8 the path as given:
        # the same names as the program run without pyfold, and as the remote method reads them.
        path = os.path.abspath(args[0]) if sys.version_info >= (3, 9) else args[0]
        target = lambda: runpy.run_path(path, run_name="__main__")
    sampler.start()
    try:
        target()
    finally:
        sampler.close()


main()
