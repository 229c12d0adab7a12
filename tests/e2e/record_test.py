#!/usr/bin/env python3
"""End-to-end tests of pyfold record and pyfold dump: the real binaries sampling real Python programs
(tests/e2e/targets/) under every CPython tests/pythons/pythons.py finds (pyenv 3.8-3.13, Debian's 3.13-3.15 from
tests/pythons/fetch.sh, else a python3.X on PATH outside /usr/bin; Debian's static /usr/bin/python3.11); a missing
interpreter is skipped with a message, or fails when PYFOLD_REQUIRE_PYTHONS names it (CI). Exit 77 when no
interpreter was found.

Usage: record_test.py PYFOLD_RECORD PYFOLD_DUMP SOURCE_ROOT PYFLAME_SPEEDSCOPE
"""
import ast
import gzip
import json
import os
import pty
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import (TARGETS, check, finish, interpreters, made_again, never_left_stopped, parse_folded, pythons, run,
                     running, share, write)

RECORD, DUMP, ROOT, SPEEDSCOPE = (os.path.abspath(a) for a in sys.argv[1:5])
TMP = tempfile.mkdtemp(prefix="pyfold-record-e2e-")


def run_record(args, timeout=60, **kw):
    return run([RECORD] + args, timeout=timeout, cwd=TMP, **kw)


def parse(folded):
    """[(frames as (name, file, line), count)]; a frame without a file is a root: `thread (TID): NAME`,
    `process PID:"cmdline"`."""
    return parse_folded(folded, bare=("thread (", "process "))


def function_lines(path):
    """{qualname-ish name: (first line, last line)} of every function and class body in a target, plus <module>."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    spans = {"<module>": (1, 10**6)}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                name = prefix + child.name
                # A class body runs too, as a code object named after the class (a sample at import can see it).
                spans[name] = (child.lineno, child.end_lineno)
                spans[child.name] = (child.lineno, child.end_lineno)  # co_name before 3.11
                visit(child, name + (".<locals>." if isinstance(child, ast.FunctionDef) else "."))
            elif isinstance(child, ast.Lambda):
                spans[prefix + "<lambda>"] = spans["<lambda>"] = (child.lineno, child.end_lineno)
            else:
                visit(child, prefix)
    visit(tree, "")
    return spans


def check_frames_real(stacks, target):
    """Every frame in the target file names one of its functions, at a line inside that function."""
    spans = function_lines(target)
    for frames, _ in stacks:
        for name, file, line in frames:
            if os.path.basename(file) != os.path.basename(target):
                continue
            assert name in spans, f"frame {name!r} is not a function of {target}"
            first, last = spans[name]
            assert first <= line <= last, f"{name} at line {line}, outside {first}-{last}"


def report(err):
    """The figures of pyfold record's summary line."""
    m = re.search(r"(\d+) samples in ([\d.]+) s \((\d+) Hz(, in-process method)?\): (\d+) recorded"
                  r"(?:, (\d+) start-up left out[^,]*)?, (\d+) not recorded(?:, (\d+) retries[^;]*)?; (\d+) stack lines", err)
    assert m, f"no summary in {err!r}"
    return {"samples": int(m.group(1)), "seconds": float(m.group(2)), "hz": int(m.group(3)),
            "recorded": int(m.group(5)), "startup": int(m.group(6) or 0), "not_recorded": int(m.group(7)),
            "retries": int(m.group(8) or 0), "stack_lines": int(m.group(9))}


def names(frames):
    return [n.split(".")[-1] if n.endswith("<lambda>") else n for n, _, _ in frames]


def contains(seq, sub):
    return any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def per_interpreter(label, python):
    nested = os.path.join(TARGETS, "nested.py")

    for method in ("remote", "inprocess"):
        nesting(label, python, nested, method)
        proportions(label, python, method)
        ends_before_first_line(label, python, method)
        startup_left_out(label, python, method)
        one_root_per_thread(label, python, method)

    minor = int(label.split(".")[1].split("-")[0])
    if minor >= 14:  # 3.14+: f_executable is a tagged _PyStackRef
        tagged_code(label, python)
    if minor >= 13:
        refused_by_debug_offsets(label, python, minor)
    per_interpreter_rest(label, python)


def nesting(label, python, nested, method):
    def attempt():
        code, out, err = run_record(["--python", python, "--method", method, nested, "1.5"])
        assert code == 0, (code, err)
        assert method == "remote" or "read by pyfold's native sampler inside the program" in err, err
        stacks = parse(out)
        check_frames_real(stacks, nested)
        paths = [names(f) for f, _ in stacks]
        minor = int(label.split(".")[1].split("-")[0])
        run_method = "Worker.run" if minor >= 11 else "run"
        init = "Made.__init__" if minor >= 11 else "__init__"
        for want in (["<module>", "main", "outer", "inner"], ["main", run_method, "inner"], ["main", "calculé", "inner"],
                     ["main", "gen", "inner"], ["main", "via_sorted", "<lambda>", "inner"], ["main", init, "inner"]):
            assert any(contains(p, want) for p in paths), f"no stack with {';'.join(want)}"
        inner_share = share(stacks, lambda f: f[-1][0] == "inner")
        assert inner_share > 0.7, f"inner does not dominate: {inner_share:.2f} of the samples"
        # The call sites: main calls outer at line 45, outer calls inner at line 16.
        right = wrong = 0
        for frames, count in stacks:
            n = names(frames)
            if contains(n, ["main", "outer", "inner"]):
                i = n.index("outer")
                if frames[i - 1][2] == 45 and frames[i][2] == 16:
                    right += count
                else:
                    wrong += count
        assert right > 30 and wrong <= 0.03 * right, (right, wrong)
        assert re.search(r"\d+ samples in [\d.]+ s", err), err

    @check(f"{label}: nesting, qualnames, non-ASCII, lambda via sorted(), generator, lines ({method})")
    def _():
        # A wall-clock run on a machine busy with other tests can stray (the in-process sampler weighs a late
        # sample by the time it waited): a second run decides, and the first one's failure is printed.
        try:
            attempt()
        except AssertionError as e:
            print(f"     (first run: {e}; running again)")
            attempt()



def ends_before_first_line(label, python, method):
    @check(f"{label}: a missing script or module: Python's error and exit code, no profile written ({method})")
    def _():
        output = os.path.join(TMP, f"never-{method}.folded")
        for args, code_wanted, message in ((["no_such_script.py"], 2, "can't open file"),
                                           (["-m", "no_such_module"], 1, "No module named no_such_module")):
            code, out, err = run_record(["--method", method, "--python", python] + args)
            assert code == code_wanted and out == "" and message in err, (args, code, out[:300], err)
            assert "no profile written" in err, err
            code, out, err = run_record(["--method", method, "--python", python, "-o", output] + args)
            assert code == code_wanted and not os.path.exists(output), (args, code, err)


def startup_left_out(label, python, method):
    @check(f"{label}: the interpreter's start-up left out, the script's own imports kept; --include-startup ({method})")
    def _():
        target = os.path.join(TARGETS, "own_import.py")
        # The interpreter's start-up takes 15-40 ms; when pyfold's attach (finding _PyRuntime) takes longer on a busy
        # machine there is no start-up left to leave out, so a run with some is asked for up to three times.
        for attempt in range(3):
            code, out, err = run_record(["--method", method, "--python", python, "--rate", "2000", target, "0.3"])
            assert code == 0, (code, err)
            if method == "inprocess" or report(err)["startup"] > 0:
                break
        stacks = parse(out)
        # Other roots are what runs at exit (threading._shutdown, atexit handlers such as one a site .pth's
        # import registered): a handful of samples, never the importlib or site code of the start-up.
        roots = {(f[0][0], os.path.basename(f[0][1])) for f, _ in stacks}
        assert ("<module>", "own_import.py") in roots, roots
        startup = [f[0] for f, _ in stacks if f[0][1].startswith("<frozen") or os.path.basename(f[0][1]) == "site.py"
                   or "/encodings/" in f[0][1]]
        assert not startup, startup
        assert share(stacks, lambda f: (f[0][0], os.path.basename(f[0][1])) != ("<module>", "own_import.py")) <= 0.02, \
            roots
        assert share(stacks, lambda f: any(os.path.basename(file) == "slow_module.py" for _, file, _ in f)) > 0.2
        assert report(err)["startup"] > 0 or method == "inprocess", err
        code, out, err = run_record(["--method", method, "--python", python, "-m", "hotmod", "0.3"],
                                    env=dict(os.environ, PYTHONPATH=TARGETS))
        assert code == 0, (code, err)
        stacks = parse(out)
        # (a sample may land in the microseconds runpy takes between start-up and the module's first line). What runs
        # at exit (threading._shutdown, atexit handlers such as certifi's) is not start-up: a few samples of a 0.3 s
        # run, left out of the count as in the check above.
        in_module = lambda f: ("<module>", "hotmod.py") in [(n, os.path.basename(fl)) for n, fl, _ in f]
        def at_exit(f):
            root_file = f[0][1]
            return not in_module(f) and not (root_file.startswith("<frozen") or "/encodings/" in root_file
                                             or os.path.basename(root_file) in ("runpy.py", "site.py"))
        outside = sum(c for f, c in stacks if not in_module(f) and not at_exit(f))
        assert outside <= 0.01 * sum(c for _, c in stacks), out
        assert sum(c for f, c in stacks if at_exit(f)) <= 0.05 * sum(c for _, c in stacks), out
        if method == "remote":  # the in-process sampler starts after the interpreter's start-up: nothing to keep
            for attempt in range(3):  # (as above: an attach slower than the start-up finds none to keep)
                code, out, err = run_record(["--include-startup", "--python", python, "--rate", "2000", target, "0.3"])
                assert code == 0, (code, err)
                assert report(err)["startup"] == 0, err
                roots = {(f[0][0], os.path.basename(f[0][1])) for f, _ in parse(out)}
                if len(roots) > 1:
                    break
            assert len(roots) > 1, roots


def one_root_per_thread(label, python, method):
    @check(f"{label}: --threads and --timeline: one root per thread, named by threading from the first sample, "
           f"one speedscope profile each ({method})")
    def _():
        target = os.path.join(TARGETS, "named_threads.py")
        for extra in ([], ["--timeline"], ["--include-startup"]):
            if extra == ["--include-startup"] and method == "inprocess":
                continue
            # Each thread spins 0.5 s from the program's start: an attach slowed down that long by a loaded machine
            # misses the first one (made_again); a wrong name fails at once.
            def attempt():
                code, out, err = run_record(["--method", method, "--python", python, "--threads"] + extra +
                                            [target, "0.5"])
                assert code == 0, (extra, code, err)
                roots = {f[0][0] for f, _ in parse(out)}
                by_tid = {}
                for r in roots:
                    m = re.match(r"^thread \((\d+)\): (.*)$", r)
                    assert m, r
                    by_tid.setdefault(m.group(1), set()).add(m.group(2))
                named = sorted(n for names_ in by_tid.values() for n in names_)
                assert set(named) <= {"MainThread", "alpha", "beta", "gamma"}, (extra, roots)
                return out, roots, by_tid, named
            out, roots, by_tid, named = made_again(
                attempt, lambda r: r[3] == ["MainThread", "alpha", "beta", "gamma"],
                lambda r: f"{label} ({method}) {extra}: threads {r[3]} only")
            assert named == ["MainThread", "alpha", "beta", "gamma"], (extra, roots)
            assert all(len(n) == 1 for n in by_tid.values()), by_tid
            r = subprocess.run([SPEEDSCOPE], input=out.encode(), capture_output=True, timeout=60)
            assert r.returncode == 0, r.stderr
            profiles = json.loads(r.stdout)["profiles"]
            assert sorted(p["name"] for p in profiles) == sorted(roots), [p["name"] for p in profiles]


def proportions(label, python, method):
    @check(f"{label}: two functions doing the same loop 3:1 measure 75% +- 5 points ({method})")
    def _():
        # Wall-clock sampling on a loaded machine also samples the target while it is preempted, so one run can
        # stray; the best of three runs must be within 5 points.
        target = os.path.join(TARGETS, "proportions.py")
        ratios = []
        for attempt in range(3):
            code, out, err = run_record(["--python", python, "--method", method, "--function", target, "3"])
            assert code == 0, (code, err)
            stacks = parse(out)
            check_frames_real(stacks, target)
            three = sum(c for f, c in stacks if "three_parts" in names(f))
            one = sum(c for f, c in stacks if "one_part" in names(f))
            assert three + one > 300, (three, one)
            ratios.append(three / (three + one))
            if abs(ratios[-1] - 0.75) <= 0.05:
                break
        assert abs(ratios[-1] - 0.75) <= 0.05, f"three_parts {ratios}"



def tagged_code(label, python):
    @check(f"{label}: a frame whose f_executable carries _PyStackRef tag bits (an immortal code object) is read")
    def _():
        target = os.path.join(TARGETS, "immortal_code.py")
        code, out, err = run_record(["--python", python, target, "1.5"])
        assert code == 0 and "IMMORTAL" in err, (code, err)
        stacks = parse(out)
        check_frames_real(stacks, target)
        assert share(stacks, lambda f: names(f)[-1:] == ["tagged"]) > 0.8, out[-1000:]
        summary = report(err)
        assert summary["not_recorded"] < 0.05 * summary["samples"], err  # untagged, all fail "not a code object"


def refused_by_debug_offsets(label, python, minor):
    @check(f"{label}: _Py_DebugOffsets naming 3.16 or a free-threaded build: refused by name (record and dump)")
    def _():
        target = os.path.join(TARGETS, "fake_version.py")
        for version, free_threaded, message in (
                ("0x031000a1", "0", "CPython 3.16 is not supported (supported: 3.8 to 3.15)"),
                (f"0x030{minor:x}00f0", "1", f"CPython 3.{minor} free-threaded builds (python3.{minor}t) are not supported")):
            with running([python, target, version, free_threaded]) as p:
                for tool in ([DUMP, "--pid", str(p.pid)], [RECORD, "--pid", str(p.pid), "--duration", "1"]):
                    r = subprocess.run(tool, capture_output=True, text=True, timeout=30)
                    assert r.returncode == 1 and message in r.stderr and r.stdout == "", (tool, r.returncode, r.stderr)


def per_interpreter_rest(label, python):
    @check(f"{label}: --method inprocess on the ray tracer, by the native sampler and (no ctypes) by the signal "
           f"handler it falls back to, which a frame without f_lineno never breaks")
    def _():
        raytrace = os.path.join(TARGETS, "raytrace.py")
        code, out, err = run_record(["--method", "inprocess", "--python", python, raytrace, "200"], timeout=120)
        assert code == 0 and "Traceback" not in err and "native sampler inside the program" in err, (code, err[-2000:])
        assert sum(c for _, c in parse(out)) > 50, err
        code, out, err = run_record(["--method", "inprocess", "--python", python, raytrace, "200"], timeout=120,
                                    env=dict(os.environ, PYTHONPATH=os.path.join(TARGETS, "no_ctypes")))
        assert code == 0 and "Traceback" not in err, (code, err[-2000:])
        assert "native in-process sampler could not start (this Python has no ctypes" in err, err
        assert "read by pyfold's native sampler" not in err and sum(c for _, c in parse(out)) > 50, err

    @check(f"{label}: a script given by a relative path has the file name python gives it, by both methods")
    def _():
        # (3.9+ makes the script's path absolute, 3.8 keeps it as given; the in-process method once kept it as given)
        folder = os.path.join(TMP, f"relative-{label}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "spin.py"), "w") as f:
            f.write("import sys, time\n"
                    "def spin():\n"
                    "    end = time.time() + 0.4\n"
                    "    while time.time() < end:\n"
                    "        pass\n"
                    "spin()\n"
                    "open(sys.argv[1], 'w').write(spin.__code__.co_filename)\n")
        script = os.path.relpath(os.path.join(folder, "spin.py"), TMP)
        seen = {}
        for method in ("remote", "inprocess"):
            told = os.path.join(folder, f"{method}.txt")
            code, out, err = run_record(["--method", method, "--python", python, script, told])
            assert code == 0, (method, code, err[-1000:])
            files = {file for frames, _ in parse(out) for name, file, _ in frames if name == "spin"}
            with open(told) as f:
                assert files == {f.read()}, (method, files)
            seen[method] = files
        assert seen["remote"] == seen["inprocess"], seen

    @check(f"{label}: --threads roots with threading names, --mode cpu drops the sleeping thread, --mode gil")
    def _():
        target = os.path.join(TARGETS, "threads.py")

        def complete(args, has_all):
            """The stacks of a run in which has_all(stacks) holds: the threads run 1 s from the start, which an
            attach slowed down that long by a loaded machine misses (made_again)."""
            def attempt():
                code, out, err = run_record(["--python", python] + args + [target, "1"])
                assert code == 0, (args, code, err)
                return parse(out), out, err
            stacks, out, err = made_again(attempt, lambda r: has_all(r[0]),
                                          lambda r: f"{label} {args}: a thread missing ({sum(c for _, c in r[0])} samples)")
            assert has_all(stacks), f"{args}: a thread missing in three runs: {out[-800:]} {err[-800:]}"
            return stacks

        def named(stacks):
            return {re.sub(r"^thread \(\d+\): ", "", f[0][0]) for f, _ in stacks}
        stacks = complete(["--threads"], lambda s: {"MainThread", "spinner", "sléepy"} <= named(s))
        roots = {f[0][0] for f, _ in stacks}
        assert all(r.startswith("thread (") for r in roots), roots
        assert {"MainThread", "spinner", "sléepy"} <= named(stacks), roots  # threading.Thread names
        assert any("sleeper" in names(f) for f, _ in stacks) and any("spin" in names(f) for f, _ in stacks)
        spinning = lambda s: any("spin" in names(f) for f, _ in s)  # noqa: E731
        stacks = complete(["--mode", "cpu"], spinning)
        sleeping = share(stacks, lambda f: "sleeper" in names(f))
        assert sleeping < 0.10, f"sleeper has {sleeping:.1%} in cpu mode (a third in wall mode)"
        for method in ("remote", "inprocess"):  # the in-process native sampler reads the GIL as the remote does
            stacks = complete(["--method", method, "--mode", "gil"], spinning)
            assert share(stacks, lambda f: "spin" in names(f)) > 0.5, (method, stacks[-5:])
            assert share(stacks, lambda f: "sleeper" in names(f)) < 0.10, method


    @check(f"{label}: pyfold dump: every thread by its real TID and threading name, the spinner active, the sleeper idle")
    def _():
        with running([python, os.path.join(TARGETS, "threads.py"), "3"], ready=None) as p:
            time.sleep(0.7)
            r = subprocess.run([DUMP, "--pid", str(p.pid)], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            tasks = sorted(int(t) for t in os.listdir(f"/proc/{p.pid}/task"))
            headers = re.findall(r'^Thread (\d+) \((\w+)(?:\+gil)?\): "(.*)"$', r.stdout, re.M)
            assert sorted(int(t) for t, _, _ in headers) == tasks, (headers, tasks)
            assert {n for _, _, n in headers} == {"MainThread", "spinner", "sléepy"}, headers
            blocks = r.stdout.split("\nThread ")[1:]
            sleeper = next(b for b in blocks if "\n    sleeper (" in b)
            assert "(idle)" in sleeper.splitlines()[0], sleeper
            assert any("\n    spin (" in b for b in blocks), r.stdout


def common(python, label):
    """Every option and every way a run ends, on one interpreter (run for 3.12 and for the newest one)."""
    env = dict(os.environ, PATH=os.path.dirname(python) + ":" + os.environ["PATH"])

    def check(name):
        return globals()["check"](f"{label}: {name}")
    ending = os.path.join(TARGETS, "ending.py")

    @check("exit code of the program is pyfold's, samples written")
    def _():
        code, out, err = run_record(["--python", python, ending, "exit", "0.3", "7"])
        assert code == 7 and "busy" in out, (code, err)

    @check("the program's own output goes to stderr without -o, so stdout holds only folded lines")
    def _():
        script = os.path.join(TMP, "chatty.py")
        with open(script, "w") as f:
            f.write("import sys, time\nprint('report line')\nend = time.time() + 0.3\nwhile time.time() < end: pass\n"
                    "print('more', file=sys.stdout)\n")
        code, out, err = run_record(["--python", python, script])
        assert code == 0 and "report line" in err and "more" in err, (code, err)
        assert "report" not in out and parse(out), out[:200]
        code, out, err = run_record(["--python", python, "-o", os.path.join(TMP, "chatty.folded"), script])
        assert code == 0 and out == "report line\nmore\n", (code, out)

    @check("os.abort(): samples written, exit 128+SIGABRT")
    def _():
        code, out, err = run_record(["--python", python, ending, "abort", "0.3"])
        assert code == 128 + signal.SIGABRT and "busy" in out, (code, err)

    def background(args, **kw):
        return subprocess.Popen([RECORD] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=TMP, **kw)

    @check("Ctrl-C (SIGINT to the process group) writes every sample")
    def _():
        p = background(["--python", python, ending, "wait", "0"], start_new_session=True)
        time.sleep(1.0)
        os.killpg(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=20)
        stacks = parse(out.decode())
        assert sum(c for _, c in stacks) > 50 and any("busy" in names(f) for f, _ in stacks), err
        assert p.returncode in (1, 130, 128 + signal.SIGINT), p.returncode

    @check("SIGTERM to pyfold writes every sample and ends the program")
    def _():
        p = background(["--python", python, "-o", os.path.join(TMP, "term.folded.gz"), ending, "wait", "0"])
        time.sleep(1.0)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 128 + signal.SIGTERM, (p.returncode, err)
        stacks = parse(gzip.open(os.path.join(TMP, "term.folded.gz")).read().decode())
        assert sum(c for _, c in stacks) > 50 and any("busy" in names(f) for f, _ in stacks), err

    @check("SIGKILL of the program: samples written, exit 137")
    def _():
        p = background(["--python", python, ending, "wait", "0"])
        time.sleep(1.0)
        child = int(open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()[0])
        os.kill(child, signal.SIGKILL)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 137 and "busy" in out.decode(), (p.returncode, err)

    @check("--duration ends recording on time")
    def _():
        start = time.time()
        code, out, err = run_record(["--python", python, "-d", "0.5", ending, "wait", "0"])
        assert time.time() - start < 5 and code == 0 and "busy" in out, (code, err)

    @check("--method inprocess: exit code passed on, Ctrl-C and SIGTERM write every sample, --duration, timeline")
    def _():
        code, out, err = run_record(["--method", "inprocess", "--python", python, ending, "exit", "0.3", "7"])
        assert code == 7 and "busy" in out and "in-process method" in err, (code, err)
        p = background(["--method", "inprocess", "--python", python, ending, "wait", "0"], start_new_session=True)
        time.sleep(1.0)
        os.killpg(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=20)
        stacks = parse(out.decode())
        assert sum(c for _, c in stacks) > 50 and any("busy" in names(f) for f, _ in stacks), err
        p = background(["--method", "inprocess", "--python", python, ending, "wait", "0"])
        time.sleep(1.0)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 128 + signal.SIGTERM and "busy" in out.decode(), (p.returncode, err)
        start = time.time()
        # 1.5 s: the interpreter's start-up, left out, is slow for Debian's 3.13-3.15 started through their loader.
        code, out, err = run_record(["--method", "inprocess", "--timeline", "--python", python, "-d", "1.5", ending,
                                     "wait", "0"])
        assert time.time() - start < 5 and code == 0 and "busy" in out, (code, err)

    @check("--method: auto reads from outside here; what the in-process method cannot do is refused plainly")
    def _():
        code, out, err = run_record(["--python", python, ending, "exit", "0.2", "0"])
        assert code == 0 and "us per sample" in err and "in-process" not in err, err
        for args, message in ((["--pid", "1"], "--pid attaches from outside"),
                              (["--", python, ending], "not -- COMMAND"),
                              (["--mode", "gil", "--async", ending], "--mode gil with the in-process method needs"),
                              (["--blocking", ending], "--blocking needs the remote method")):
            code, out, err = run_record(["--method", "inprocess", "--python", python] + args)
            assert code == 2 and message in err, (args, code, err)

    def start_sleeper():
        return running([python, os.path.join(TARGETS, "sleeper.py")])

    def state(pid):
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("State:"):
                return line.split()[1]

    @check("--pid attaches to a sleeping process, detaches, and it keeps running")
    def _():
        with start_sleeper() as p:
            code, out, err = run_record(["--pid", str(p.pid), "-d", "0.5"])
            assert code == 0 and "nap" in out, (code, err)
            time.sleep(0.1)
            assert p.poll() is None and state(p.pid) in ("S", "R"), state(p.pid)

    @check("--blocking never leaves the target stopped (also after SIGINT and SIGTERM to pyfold)")
    def _():
        with start_sleeper() as p:
            code, out, err = run_record(["--blocking", "--pid", str(p.pid), "-d", "0.5"])
            assert code == 0 and "nap" in out, (code, err)
            for sig in (signal.SIGINT, signal.SIGTERM):
                r = background(["--blocking", "--pid", str(p.pid)])
                time.sleep(0.5)
                r.send_signal(sig)
                out, err = r.communicate(timeout=20)
                assert r.returncode == 0 and b"nap" in out, (r.returncode, err)
            time.sleep(0.1)
            status = open(f"/proc/{p.pid}/status").read()
            assert state(p.pid) in ("S", "R") and "TracerPid:\t0" in status, status[:300]

    @check("--blocking --mode cpu on a launched program: states read before the stop, exit code passed on")
    def _():
        code, out, err = run_record(["--blocking", "--mode", "cpu", "--rate", "200", "--python", python,
                                     os.path.join(TARGETS, "threads.py"), "1"])
        assert code == 0, (code, err)
        stacks = parse(out)
        assert share(stacks, lambda f: "spin" in names(f)) > 0.5, out[-300:]  # a stopped thread would read 't'
        assert share(stacks, lambda f: "sleeper" in names(f)) < 0.10
        code, out, err = run_record(["--blocking", "--python", python, ending, "exit", "0.3", "9"])
        assert code == 9 and "busy" in out, (code, err)

    @check("--nonblocking reads the threads while they run (never the program stopped); not with --blocking")
    def _():
        target = os.path.join(TARGETS, "proportions.py")
        # As in the proportions check: on a loaded machine the sampler gets its CPU at the scheduler's ticks, which
        # can fall in step with the program's 1.3 ms loop for a whole run; the best of three runs must hold.
        counts = []
        for attempt in range(3):
            code, out, err = run_record(["--nonblocking", "--python", python, "--function", target, "2"])
            assert code == 0 and "read with the program stopped" not in err, (code, err)
            stacks = parse(out)
            three = sum(c for f, c in stacks if "three_parts" in names(f))
            one = sum(c for f, c in stacks if "one_part" in names(f))
            counts.append((three, one))
            if three + one > 300 and 0.6 < three / (three + one) < 0.9:
                break
        else:
            assert False, counts
        code, out, err = run_record(["--nonblocking", "--blocking", "--python", python, target, "1"])
        assert code == 2 and "exclude each other" in err, (code, err)

    @check("pyfold dump: every thread, innermost first, with id, name and state; the program stopped for the read only")
    def _():
        with start_sleeper() as p:
            r = subprocess.run([DUMP, "--pid", str(p.pid)], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            lines = r.stdout.splitlines()
            header = next(i for i, l in enumerate(lines) if l.startswith("Thread "))
            assert re.match(rf'Thread {p.pid} \((active|idle)(\+gil)?\): ".*"', lines[header]), lines[header]
            assert lines[header + 1].strip().startswith("nap (") and lines[header + 2].strip().startswith("<module> ("), lines
            # Stopped for the read only: every thread runs on (none left in ptrace's stop, 't'); --nonblocking reads
            # the same while it runs.
            for tid in os.listdir(f"/proc/{p.pid}/task"):
                with open(f"/proc/{p.pid}/task/{tid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
                assert state in "RS", f"thread {tid} left in state {state}"
            r = subprocess.run([DUMP, "--nonblocking", "--pid", str(p.pid)], capture_output=True, text=True)
            assert r.returncode == 0 and lines[header + 1].split("(")[0] in r.stdout, r.stdout + r.stderr
            assert p.poll() is None, "the program ended"

    @check("recursion 5,000 deep is recorded whole")
    def _():
        code, out, err = run_record(["--python", python, "--rate", "50", os.path.join(TARGETS, "recurse.py"), "1"])
        assert code == 0, (code, err)
        stacks = parse(out)
        assert stacks, f"no stack recorded: {err[-800:]}"
        depth = max(len(f) for f, _ in stacks)
        assert depth >= 5002, depth

    @check("-m module, and a pyenv-style shim / `sh -c 'exec python3 ...'` (the process becomes Python)")
    def _():
        code, out, err = run_record(["--python", python, "-m", "hotmod", "0.5"], env=dict(env, PYTHONPATH=TARGETS))
        assert code == 0 and "hot (" in out, (code, err)
        shim = os.path.join(TMP, "python-shim")
        write(shim, f'#!/bin/bash\nexec "{python}" "$@"\n')
        os.chmod(shim, 0o755)
        code, out, err = run_record(["--", shim, os.path.join(TARGETS, "hotmod.py"), "0.5"])
        assert code == 0 and "hot (" in out, (code, err)
        code, out, err = run_record(["--", "sh", "-c", f'sleep 0.2; exec "{python}" {TARGETS}/hotmod.py 0.5'])
        assert code == 0 and "hot (" in out, (code, err)

    @check("a program that execs a new Python (same PID) is followed into it")
    def _():
        if not os.path.realpath(python).startswith(pythons.pyenv_root() + "/") and "/usr/bin/" not in python:
            # tests/pythons/fetch.sh's interpreters are shell wrappers: os.execv(sys.executable) goes through a
            # shell and the loader, which the recorder does not follow (yet); known, checked on pyenv's builds.
            print("skip - exec of a new Python through a shell wrapper (fetched interpreters)")
            return
        code, out, err = run_record(["--python", python, os.path.join(TARGETS, "execs.py")])
        assert code == 0 and "before (" in out and "hot (" in out, (code, err)

    @check("--subprocesses follows a multiprocessing pool's workers")
    def _():
        code, out, err = run_record(["--python", python, "--subprocesses", "--rate", "200",
                                     os.path.join(TARGETS, "pool.py"), "1"])
        assert code == 0, (code, err)
        stacks = parse(out)
        roots = {f[0][0] for f, _ in stacks if "work" in names(f)}
        assert len(roots) >= 2 and all(r.startswith("process ") for r in roots), roots

    @check("--timeline, --nolineno, -o FILE.gz, and a Python started through its dynamic loader")
    def _():
        target = os.path.join(TARGETS, "nested.py")
        gz = os.path.join(TMP, "timeline.folded.gz")
        code, out, err = run_record(["--python", python, "--timeline", "--nolineno", "-o", gz, target, "0.5"])
        assert code == 0 and out == "", (code, err)
        stacks = parse(gzip.open(gz).read().decode("utf-8"))
        assert all(line == 0 for f, _ in stacks for _, _, line in f), "line numbers with --nolineno"
        assert all(stacks[i][0] != stacks[i + 1][0] for i in range(len(stacks) - 1)), "repeats not merged"
        assert len(stacks) > 10 and sum(c for _, c in stacks) > 200
        loader = "/lib64/ld-linux-x86-64.so.2"
        # tests/pythons/fetch.sh's interpreters are always started through their own loader (by a wrapper script).
        with open(python, "rb") as f:
            elf = f.read(4) == b"\x7fELF"
        if os.path.exists(loader) and elf:
            code, out, err = run_record(["--", loader, python, os.path.join(TARGETS, "hotmod.py"), "0.5"])
            assert code == 0 and "hot (" in out, (code, err)

    @check("not Python, no such process: clear messages")
    def _():
        with running(["sleep", "10"], ready=None) as p:
            code, out, err = run_record(["--pid", str(p.pid)])
            assert code == 1 and f"PID {p.pid} is not a Python process" in err, (code, err)
        code, out, err = run_record(["--pid", "999999999"])
        assert code == 1 and "no process with PID 999999999" in err, (code, err)

    @check("an unsupported Python (pyenv 3.7, 2.7 when installed) is refused with a message naming it")
    def _():
        olds = sorted(pythons.pyenv_pythons("3.7") + pythons.pyenv_pythons("2.7"))
        if not olds:
            print("     (skipped: no CPython 3.7 or 2.7 installed)")
            return
        for old in olds:
            start = time.time()
            code, out, err = run_record(["--python", old, os.path.join(TARGETS, "hotmod.py"), "5"])
            assert code == 1 and "not supported (supported: 3.8 to 3.15)" in err and out == "", (old, code, err)
            assert time.time() - start < 4, "the unsupported program was left running"

    @check("permission refused (pyfold as nobody, target root's): the cause and the fix, non-zero exit")
    def _():
        if os.geteuid() != 0:
            print("     (skipped: not root)")
            return
        with start_sleeper() as p:
            nobody = pwd.getpwnam("nobody")
            r = subprocess.run([RECORD, "--pid", str(p.pid), "-d", "0.2"], capture_output=True, text=True,
                               user=nobody.pw_uid, group=nobody.pw_gid, cwd="/")
            assert r.returncode != 0 and "runs as user root (uid 0)" in r.stderr and "sudo" in r.stderr, r.stderr


def launch_and_stop(python):
    """The launch-and-stop module: shims, programs that never become Python, pyfold killed, rotation, the summary."""
    @check("200 launches through shims (sh exec, bash that runs commands first, then exec): 0 failures")
    def _():
        # pyenv's shim is a bash script whose children run and exit, then it execs Python: reads of a process
        # that is execing or exiting are refused for a moment (1 launch in 12 failed before).
        py311 = pythons.pyenv_pythons("3.11")
        interpreter = py311[-1] if py311 else python
        shims = []
        for name, text in (("sh-shim", f'#!/bin/sh\nexec {interpreter} "$@"\n'),
                           # like pyenv's: children that run and exit while pyfold looks for Python (with
                           # refusals not retried, 16 of 40 launches through this one failed)
                           ("bash-shim", '#!/bin/bash\nset -e\nfor i in $(seq 40); do v=$(cat /dev/null; echo $i); '
                                         f'/bin/true; done\nexec {interpreter} "$@"\n')):
            path = os.path.join(TMP, name)
            write(path, text)
            os.chmod(path, 0o755)
            shims.append(path)
        script = os.path.join(TMP, "short.py")
        write(script, "import time\nend = time.time() + 0.02\nwhile time.time() < end: pass\n")
        failures = []
        for i in range(200):
            shim = shims[i % 2]
            code, out, err = run_record(["-q", "--python", shim, script])
            if code != 0:
                failures.append((os.path.basename(shim), code, err.strip()[:200]))
        assert not failures, f"{len(failures)} of 200 failed: {failures[:3]}"

    @check("-- COMMAND that never becomes Python: non-zero exit, a clear message, nothing on stdout")
    def _():
        code, out, err = run_record(["--", "ls", "/"])
        assert code != 0 and out == "" and "without becoming Python" in err, (code, out[:200], err)
        code, out, err = run_record(["--", "sh", "-c", "exit 3"])
        assert code == 3 and out == "" and "without becoming Python" in err, (code, err)

    @check("pyfold SIGKILLed: a launched program dies with it (both methods); a --pid target keeps running")
    def _():
        ending = os.path.join(TARGETS, "ending.py")
        for method in ("remote", "inprocess"):
            p = subprocess.Popen([RECORD, "--method", method, "--python", python, ending, "wait", "0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            child = int(open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()[0])
            p.kill()
            p.wait()
            for _ in range(100):
                try:
                    os.kill(child, 0)
                except ProcessLookupError:
                    break
                if open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
                    break  # dead, waiting for its new parent to reap it
                time.sleep(0.02)
            else:
                os.kill(child, signal.SIGKILL)
                raise AssertionError(f"{method}: the program outlived pyfold")
        with running([python, os.path.join(TARGETS, "sleeper.py")]) as target:
            p = subprocess.Popen([RECORD, "--pid", str(target.pid)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            p.kill()
            p.wait()
            time.sleep(0.3)
            assert target.poll() is None, "the attached process died with pyfold"

    @check("--rotate: one complete profile per interval; the files sum to the recording's count (none lost or twice)")
    def _():
        with running([python, os.path.join(TARGETS, "sleeper.py")]) as target:
            folder = os.path.join(TMP, "rotated")
            os.makedirs(folder)
            code, out, err = run_record(["--pid", str(target.pid), "--rotate", "1", "-d", "3.5", "--rate", "500",
                                         "-o", os.path.join(folder, "prof-{n}-{time}-{start}-{end}.folded.gz")])
            assert code == 0 and out == "", (code, err)
            files = sorted(os.listdir(folder), key=lambda n: int(n.split("-")[1]))
            assert len(files) == 4, files
            assert all(re.match(r"^prof-\d-\d{8}T\d{6}Z-\d+-\d+\.folded\.gz$", n) for n in files), files
            starts = [int(n.split("-")[3]) for n in files]
            assert all(b - a == 1 for a, b in zip(starts, starts[1:])), files
            counts = [sum(c for _, c in parse(gzip.open(os.path.join(folder, n)).read().decode())) for n in files]
            summary = report(err)
            assert sum(counts) == summary["stack_lines"] == summary["recorded"], (counts, summary)
            assert all(350 < c < 650 for c in counts[:3]), counts  # 1 s at 500 Hz each
            assert "4 profiles written" in err, err
        for args, message in ((["--rotate", "1"], "--rotate writes files"),
                              (["--rotate", "1", "-o", "x.folded"], "{time}, {start}, {end} or {n}"),
                              (["--rotate", "0.5", "-o", "x-{n}.folded"], "at least 1 second")):
            code, out, err = run_record(args + ["--pid", "1"])
            assert code == 2 and message in err, (args, code, err)

    @check("the summary's rate counts samples taken; on a terminal, the five functions with the most self time")
    def _():
        target = os.path.join(TARGETS, "proportions.py")
        master, slave = pty.openpty()
        p = subprocess.Popen([RECORD, "--python", python, target, "1"], stdout=subprocess.PIPE, stderr=slave, cwd=TMP)
        os.close(slave)
        out = p.stdout.read()
        p.wait(timeout=60)
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        os.close(master)
        err = err.decode(errors="replace").replace("\r", "")
        assert p.returncode == 0, err
        summary = report(err)
        assert abs(summary["hz"] - summary["samples"] / summary["seconds"]) <= 0.01 * summary["hz"] + 1, summary
        assert summary["samples"] == summary["recorded"] + summary["startup"] + summary["not_recorded"], summary
        top = err[err.index("most self time"):].splitlines()[2:]
        rows = [re.match(r"^\s+([\d.]+)%\s+(.*)$", line) for line in top if line.strip()]
        rows = [r for r in rows if r]
        assert 1 <= len(rows) <= 5 and rows[0].group(2).startswith("loop (") and ":" not in rows[0].group(2), top
        shares = [float(r.group(1)) for r in rows]
        assert shares == sorted(shares, reverse=True) and shares[0] > 80, top  # the loop does the work
        code, out, err = run_record(["--python", python, target, "0.3"])  # not a terminal: no table
        assert "most self time" not in err, err


def stress(python, others):
    """Hostile lives of a sampled program: no crash, no garbage frame, samples written, exit code passed on."""
    target = os.path.join(TARGETS, "stress.py")

    def clean(args, want_code=0):
        code, out, err = run_record(["--python", python] + args, timeout=120)
        assert code == want_code, (code, err)
        stacks = parse(out)
        assert sum(c for _, c in stacks) > 0, err
        check_frames_real(stacks, target)
        return stacks, err

    @check("stress: 1,000 threads started and ended while sampled (--threads), every frame real")
    def _():
        stacks, err = clean(["--threads", target, "churn", "1000"])
        assert any("short_life" in names(f) for f, _ in stacks) or any("churn" in names(f) for f, _ in stacks), err

    @check("stress: a fork that execs a non-Python program, and subprocess.run, with --subprocesses")
    def _():
        stacks, err = clean(["--subprocesses", target, "forkexec"])
        assert any("work" in names(f) for f, _ in stacks), err

    @check("stress: the program execs another Python version, and is followed into it")
    def _():
        other = next((p for p in others if os.path.realpath(p) != os.path.realpath(python)), None)
        if other is None:
            print("skip - only one Python version installed")
            return
        code, out, err = run_record(["--python", python, target, "execpython", other], timeout=120)
        assert code == 0, (code, err)
        stacks = parse(out)
        assert any("work" in names(f) for f, _ in stacks) and any("hot" in n for f, _ in stacks for n in names(f)), out

    @check("stress: the main thread returns while a worker still runs; os._exit(5) from a thread passes 5 on")
    def _():
        stacks, err = clean(["--threads", target, "mainexits"])
        assert any("work" in names(f) for f, _ in stacks), err
        stacks, err = clean([target, "threadexit", "5"], want_code=5)
        assert any("worker_then_exit" in names(f) for f, _ in stacks), err

    @check("stress: --subprocesses with a pool of 8 workers: every worker sampled")
    def _():
        code, out, err = run_record(["--python", python, "--subprocesses", "--rate", "100",
                                     os.path.join(TARGETS, "pool.py"), "1.5", "8"], timeout=120)
        assert code == 0, (code, err)
        roots = {f[0][0] for f, _ in parse(out) if "work" in names(f)}
        assert len(roots) == 8, roots

    @check("stress: pyfold --blocking killed with SIGKILL mid-sample never leaves the target stopped")
    def _():
        never_left_stopped(python, os.path.join(TARGETS, "sleeper.py"), [RECORD, "--blocking", "--rate", "2000"])


found = [(p.label, p.path) for p in interpreters()]
for label, python in found:
    per_interpreter(label, python)
if found:
    main = next(((l, p) for l, p in found if l == "3.12"), found[0])
    # The newest version too (3.15): every option on the interpreter most likely to have moved things.
    newest = max((f for f in found if "static" not in f[0]), key=lambda f: int(f[0].split(".")[1].split("-")[0]))
    for label, python in [main] + ([newest] if newest != main else []):
        common(python, label)
    stress(main[1], [p for _, p in found])
    launch_and_stop(main[1])
shutil.rmtree(TMP, ignore_errors=True)
finish(skip_reason="no CPython found: nothing tested")
