#!/usr/bin/env python3
"""README.md, the man pages and --help name the same options with the same defaults.

Usage: options_agree.py SOURCE_ROOT NAME BINARY [NAME BINARY...]

--help is printed from the option table each binary parses; the binary gives that table with the hidden
--pyfold-options-table (include/pyfold/command_line.hpp), which is the one source compared here:
- the man page: every option of the table has an entry (.TP, then a line naming -s and --long), every entry is an
  option of the table, and an option's default is written in its entry (as "[DEFAULT]" or "Default: DEFAULT");
- README.md: in a section whose heading names the tool, every option list item "- `--option VALUE` ..." is an
  option of the table, and says "[DEFAULT]" (or "[DEFAULT: ...]") when the option has a default.
"""
import re
import subprocess
import sys

MAN_PAGE = {"pyfold-dump": "pyfold-record.1"}  # pyfold dump's options are described in pyfold record's page
MAN_SECTION_ONLY = {"pyfold-dump"}  # described in prose, not as .TP entries: names only


def table(binary):
    out = subprocess.run([binary, "--pyfold-options-table"], check=True, capture_output=True, text=True).stdout
    options = {}
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] == "option":
            options[f[1]] = {"short": f[2], "default": f[5]}
    return options


def unescape(troff):
    text = troff.replace("\\-", "-").replace("\\(dq", '"').replace("\\(aq", "'")
    text = re.sub(r"\\f[BIRP]", "", text)
    return re.sub(r'^\.(B|I|BI|BR|RB|IR|RI)\s+', "", text).replace('"', "")


def man_entries(path):
    """{long name: (heading, paragraph)} of the OPTIONS section's .TP entries."""
    lines = open(path, encoding="utf-8").read().splitlines()
    entries, in_options, i = {}, False, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".SH"):
            in_options = line.strip() == ".SH OPTIONS"
        if in_options and line.startswith(".TP") and i + 1 < len(lines):
            heading = unescape(lines[i + 1])
            body = []
            j = i + 2
            while j < len(lines) and not re.match(r"\.(TP|SH|SS)\b", lines[j]):
                body.append(unescape(lines[j]))
                j += 1
            for name in re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", heading):
                entries[name] = (heading, " ".join(body))
            i = j
            continue
        i += 1
    return entries


def readme_sections(root, tool):
    """The README's lines under a heading that names the tool (pyfold-record: "pyfold record")."""
    spaced = tool.replace("pyfold-", "pyfold ", 1)
    lines, out, inside = open(f"{root}/README.md", encoding="utf-8").read().splitlines(), [], False
    for line in lines:
        if line.startswith("#"):
            inside = bool(re.search(rf"(?<![\w-]){re.escape(spaced)}(?![\w-])", line)) or \
                bool(re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", line))
            continue
        if inside:
            out.append(line)
    return out


def gives_default(body, default):
    d = re.escape(default)
    body = re.sub(r"\s+", " ", body)
    return bool(re.search(rf"\[{d}[\];]|[Dd]efault:? {d}(?![\w.])|\(default {d}|{d}.{{0,60}}the default", body))


def readme_items(lines):
    """List items ("- " lines with their indented continuation lines) as one line each."""
    items = []
    for line in lines:
        if line.startswith("- "):
            items.append(line)
        elif items and line.startswith("  ") and line.strip():
            items[-1] += " " + line.strip()
        else:
            items.append("")
    return [i for i in items if i]


def main(argv):
    root, pairs = argv[1], list(zip(argv[2::2], argv[3::2]))
    problems = []
    for name, binary in pairs:
        options = table(binary)
        if name == "pyfold":
            continue  # its options are --help and --version, in its synopsis
        page = MAN_PAGE.get(name, name + ".1")
        path = f"{root}/man/{page}"
        text = unescape(open(path, encoding="utf-8").read())
        entries = man_entries(path)
        for long, o in options.items():
            if name in MAN_SECTION_ONLY:
                if f"--{long}" not in text:
                    problems.append(f"man/{page}: {name}'s option --{long} is not described")
                continue
            if long not in entries:
                problems.append(f"man/{page}: no entry for {name}'s option --{long} (it is in --help)")
                continue
            heading, body = entries[long]
            if o["short"] and not re.search(rf"(?<![\w-]){re.escape(o['short'])}(?![\w-])", heading):
                problems.append(f"man/{page}: the entry of --{long} does not name its short form {o['short']}")
            default = o["default"]
            if default and not gives_default(body, default):
                problems.append(f"man/{page}: the entry of --{long} does not give its default '{default}' "
                                "(as [DEFAULT], [DEFAULT; ...], (default DEFAULT) or 'DEFAULT ... the default')")
        if name not in MAN_SECTION_ONLY:
            for long in entries:
                if long not in options:
                    problems.append(f"man/{page}: an entry for --{long}, which {name} does not have (not in --help)")
        for line in readme_items(readme_sections(root, name)):
            # The README's option lists: "- `--option VALUE` what it does [DEFAULT]", in the tool's section.
            item = re.match(r"- `(?:-\w, )?--([a-z][a-z0-9-]*)[^`]*`(.*)$", line)
            if not item:
                continue
            long, rest = item.group(1), item.group(2)
            if long not in options:
                problems.append(f"README.md: --{long} in {name}'s section is not an option of {name}: {line[:100]}")
                continue
            default = options[long]["default"]
            if default and not re.search(rf"\[{re.escape(default)}[\]:;]", rest):
                problems.append(f"README.md: --{long}'s default is '{default}' in --help; its item in {name}'s section "
                                f"must say [{default}]: {line[:100]}")
        print(f"{name}: {len(options)} options checked against man/{page} and README.md")
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
