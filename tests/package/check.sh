#!/usr/bin/env bash
# Builds what a user installs, from the checkout, and uses it as a user would:
# - the Debian package (dpkg-buildpackage), checked by lintian (errors fail), installed with apt-get into the
#   system, then removed;
# - the pip wheel (meson-python), its binaries' NEEDED libraries checked with readelf, installed into a fresh venv.
# From each installed copy: record samples/app.py and draw it with pyflame-svg, -h on every binary, the man pages
# (package), the bash completions (complete -p, what `pyfold record --nat<TAB>` offers), python -m pyfold (wheel).
# Skips (77) where it cannot run (not root, no apt-get or build tools, pyfold already installed as a package);
# with CI=true those are failures.
# Usage: check.sh SOURCE_ROOT
set -euo pipefail
root=$(cd "$1" && pwd)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin  # Debian's python3, as a user has it
export LC_ALL=C.UTF-8

cannot() {
  if [[ ${CI:-} == true ]]; then echo "FAIL: $*" >&2; exit 1; fi
  echo "SKIP: $*"; exit 77
}
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo; echo "== $* ($(( SECONDS - step_start ))s so far)"; }
step_start=$SECONDS

[[ $(id -u) == 0 ]] || cannot "not root: the package is installed with apt-get"
command -v apt-get >/dev/null || cannot "no apt-get"
command -v dpkg-buildpackage >/dev/null || cannot "no dpkg-buildpackage (dpkg-dev)"
command -v lintian >/dev/null || cannot "no lintian"
command -v readelf >/dev/null || cannot "no readelf (binutils)"
[[ -f /usr/share/bash-completion/bash_completion ]] || cannot "no bash-completion"
/usr/bin/python3 -c 'import mesonpy, venv, pip' 2>/dev/null || cannot "no python3-mesonpy, python3-venv or python3-pip"
(cd "$root" && dpkg-checkbuilddeps) || cannot "the package's build dependencies are missing (apt-get build-dep ./)"
if dpkg-query -W -f '${Status}' pyfold 2>/dev/null | grep -q "install ok installed"; then
  cannot "the pyfold package is installed already: this test installs and removes it"
fi

# A fixed directory: the Debian build's file-prefix-map names it in every compile command, so ccache hits on the
# next run only where the path is the same.
tmp=${TMPDIR:-/tmp}/pyfold-package
rm -rf "$tmp"
mkdir -p "$tmp"
installed=false
cleanup() {
  if $installed; then apt-get remove -y pyfold >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

version=$(sed -n "s/^  version : '\(.*\)',\$/\1/p" "$root/meson.build")
[[ -n $version ]] || fail "no version in meson.build"
changelog_version=$(cd "$root" && dpkg-parsechangelog -S Version)
[[ $changelog_version == "$version" ]] ||
  fail "debian/changelog's version $changelog_version is not meson.build's $version: add a changelog entry (dch -v $version)"

# The checkout as it is (tracked and new files, not ignored ones such as build directories).
mkdir -p "$tmp/src/pyfold"
git -C "$root" ls-files -z -co --exclude-standard | (cd "$root" && tar --null -T - -cf -) | tar -xf - -C "$tmp/src/pyfold"

# Runs the sample through record | pyflame-svg, with the binaries of directory $1.
record_and_draw() {
  local bin=$1 out=$2
  "$bin/pyfold" record --quiet --duration 20 "$root/samples/app.py" 25 >"$out.folded" ||
    fail "$bin/pyfold record samples/app.py failed"
  grep -q "app.py" "$out.folded" || fail "$bin/pyfold record wrote no stack of samples/app.py: $(head -c 300 "$out.folded")"
  "$bin/pyflame-svg" --colors python --title samples/app.py "$out.folded" >"$out.svg" || fail "$bin/pyflame-svg failed"
  grep -q "<svg" "$out.svg" && grep -q "fib" "$out.svg" || fail "$out.svg has no flame graph of samples/app.py's fib"
  echo "ok: $bin/pyfold record samples/app.py | $bin/pyflame-svg: $(wc -l <"$out.folded") stacks, $(wc -c <"$out.svg") bytes of SVG"
}

help_on_every_binary() {
  local b
  local b text
  for b in "$@"; do
    # Read whole: a reader that quits after the first line would end a long help with SIGPIPE.
    text=$("$b" -h) || fail "$b -h exits with $?"
    [[ $text == Usage:* ]] || fail "$b -h does not print its usage: ${text:0:200}"
    text=$("$b" --version) || fail "$b --version exits with $?"
    [[ $text == *"(pyfold) $version" ]] || fail "$b --version does not say $version: $text"
  done
  echo "ok: -h and --version on $# binaries"
}

bash_completion_offers() {  # the bash-completion loader finds pyfold's completion and it offers --native(-all)
  local offered
  offered=$(bash -c '
    source /usr/share/bash-completion/bash_completion
    _completion_loader pyfold >/dev/null 2>&1 || __load_completion pyfold
    complete -p pyfold >&2
    COMP_WORDS=(pyfold record --nat); COMP_CWORD=2; COMPREPLY=()
    $(complete -p pyfold | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' "$@")
  [[ $offered == "--native --native-all " ]] ||
    fail "the installed bash completion offers [$offered] for 'pyfold record --nat', expected [--native --native-all]"
  echo "ok: bash completes 'pyfold record --nat' to [$offered]"
}

step "Debian package: dpkg-buildpackage -b -us -uc"
(cd "$tmp/src/pyfold" && dpkg-buildpackage -b -us -uc >"$tmp/dpkg-buildpackage.log" 2>&1) ||
  { tail -40 "$tmp/dpkg-buildpackage.log"; fail "dpkg-buildpackage failed (log above)"; }
deb=$tmp/src/pyfold_${version}_$(dpkg --print-architecture).deb
[[ -f $deb ]] || fail "no $deb after dpkg-buildpackage: $(ls "$tmp/src")"
echo "ok: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"

step "lintian"
lintian --fail-on error "$deb" | tee "$tmp/lintian.log" || fail "lintian reports errors (above)"
echo "ok: lintian: no errors ($(grep -c '^W:' "$tmp/lintian.log" || true) warnings)"

step "apt-get install ./$(basename "$deb")"
installed=true
apt-get install -y "$deb" >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get install $deb failed"; }
mapfile -t deb_binaries < <(dpkg -L pyfold | grep '^/usr/bin/' | sort)
(( ${#deb_binaries[@]} >= 8 )) || fail "the package installs ${#deb_binaries[@]} binaries in /usr/bin: ${deb_binaries[*]}"
help_on_every_binary "${deb_binaries[@]}"
for b in "${deb_binaries[@]}"; do
  dpkg -L pyfold | grep -q "^/usr/share/man/man1/$(basename "$b").1.gz\$" || fail "no man page for $(basename "$b")"
  [[ -f /usr/share/bash-completion/completions/$(basename "$b") && -f /usr/share/zsh/vendor-completions/_$(basename "$b") &&
    -f /usr/share/fish/vendor_completions.d/$(basename "$b").fish ]] || fail "$(basename "$b") lacks a bash, zsh or fish completion"
done
echo "ok: a man page and bash, zsh and fish completions for each of them"
bash_completion_offers
record_and_draw /usr/bin "$tmp/deb"
apt-get remove -y pyfold >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get remove pyfold failed"; }
installed=false
[[ ! -e /usr/bin/pyfold ]] || fail "/usr/bin/pyfold is still there after apt-get remove"
echo "ok: removed"

step "wheel: pip wheel --no-build-isolation"
/usr/bin/python3 -m pip wheel --no-build-isolation --no-deps -w "$tmp/wheel" "$tmp/src/pyfold" >"$tmp/wheel.log" 2>&1 ||
  { tail -40 "$tmp/wheel.log"; fail "building the wheel failed (log above)"; }
wheel=$(ls "$tmp"/wheel/pyfold-"$version"-*.whl)
echo "ok: $(basename "$wheel"), $(du -k "$wheel" | cut -f1) KiB"
mkdir "$tmp/unpacked"
(cd "$tmp/unpacked" && /usr/bin/python3 -m zipfile -e "$wheel" .)
allowed='^(libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1)$'
count=0
for b in "$tmp"/unpacked/pyfold-"$version".data/scripts/*; do
  needed=$(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  echo "  $(basename "$b"): NEEDED $(echo $needed)"
  extra=$(echo "$needed" | grep -Ev "$allowed" || true)
  [[ -z $extra ]] || fail "the wheel's $(basename "$b") needs $(echo $extra) at run time (only libc, libm, ld-linux allowed)"
  count=$((count + 1))
done
(( count >= 8 )) || fail "the wheel carries $count binaries"
echo "ok: readelf -d: the wheel's $count binaries need only the C library"

step "fresh venv: pip install the wheel"
/usr/bin/python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --no-index --no-deps "$wheel" >"$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log"; fail "pip install failed"; }
mapfile -t venv_binaries < <(for b in "$tmp"/unpacked/pyfold-"$version".data/scripts/*; do echo "$tmp/venv/bin/$(basename "$b")"; done)
help_on_every_binary "${venv_binaries[@]}"
[[ $("$tmp/venv/bin/python" -m pyfold --version) == "pyfold (pyfold) $version" ]] || fail "python -m pyfold --version"
[[ $("$tmp/venv/bin/python" -m pyfold record -h) == "Usage: pyfold record"* ]] || fail "python -m pyfold record -h"
echo "ok: python -m pyfold"
(PATH=$tmp/venv/bin:$PATH; [[ $(command -v pyflame-svg) == "$tmp/venv/bin/pyflame-svg" ]]) || fail "pyflame-svg is not on the venv's PATH"
record_and_draw "$tmp/venv/bin" "$tmp/wheel"

echo
echo "ok: package test passed in $(( SECONDS - step_start ))s"
