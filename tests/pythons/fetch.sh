#!/usr/bin/env bash
# Gets Debian's own builds of CPython 3.13, 3.14 and 3.15 (from the unstable suite) for the tests, without installing
# anything into the system: the packages are downloaded with a private apt state (its own sources list, lists, cache
# and an empty dpkg status) into a cache directory, unpacked there with `dpkg -x`, and started through their own
# dynamic loader (`ld-linux-x86-64.so.2 --library-path ...`), so the newer C library they need serves them alone.
#
# Usage: tests/pythons/fetch.sh           fetch (once; later runs only check) and print the wrappers' directory
#        tests/pythons/fetch.sh --where   print the wrappers' directory (bin/python3.13 ...) and do nothing else
#
# The directory: $PYFOLD_PYTHONS_DIR, else ${XDG_CACHE_HOME:-~/.cache}/pyfold/pythons. The mirror is the machine's
# own Debian mirror (the apt source that serves the host's release), read from /etc/apt; the suite is `unstable`.
set -euo pipefail

MINORS=(13 14 15)
DIR=${PYFOLD_PYTHONS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pyfold/pythons}
BIN=$DIR/bin

if [ "${1:-}" = "--where" ]; then
  echo "$BIN"
  exit 0
fi

say() { echo "fetch.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Each wrapper runs and has what the tests use (json, zlib, ssl: the stdlib and the shared libraries are found).
check_all() {
  local minor
  for minor in "${MINORS[@]}"; do
    "$BIN/python3.$minor" -c 'import sys, json, zlib, ssl, sqlite3, ctypes, subprocess
assert subprocess.run([sys.executable, "-c", "pass"]).returncode == 0' >/dev/null 2>&1 || return 1
  done
}

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9  # two test runs at once fetch once

if [ -f "$DIR/.complete" ] && check_all; then
  echo "$BIN"
  exit 0
fi

# The machine's Debian mirror and the key that signs it: the first apt source (one-line or deb822) whose suite is the
# host's own release codename (bookworm-security and third-party sources do not match).
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release: is this Debian?"
mirror="" keyring=""
for list in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$list" ] || continue
  line=$(awk -v c="$codename" '$1 == "deb" { i = 2; opts = ""
           if ($2 ~ /^\[/) { while ($i !~ /\]$/) opts = opts " " $(i++); opts = opts " " $(i++) }
           if ($(i + 1) == c) { print $i "\t" opts; exit } }' "$list")
  if [ -n "$line" ]; then
    mirror=${line%%$'\t'*}
    opts=${line#*$'\t'}
    [[ $opts =~ signed-by=([^] ]+) ]] && keyring=${BASH_REMATCH[1]}
    break
  fi
done
if [ -z "$mirror" ]; then
  for list in /etc/apt/sources.list.d/*.sources; do
    [ -f "$list" ] || continue
    # deb822 stanzas are separated by blank lines; fields are `Name: value`.
    line=$(awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" }
             { uri = ""; key = ""; deb = 0; match_ = 0
               for (i = 1; i <= NF; i++) {
                 if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
                 if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); uri = u[2] }
                 if ($i ~ /^Signed-By:/) { split($i, k, /[ \t]+/); key = k[2] }
                 if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == c) match_ = 1 }
               }
               if (deb && match_ && uri != "") { print uri "\t" key; exit } }' "$list")
    if [ -n "$line" ]; then
      mirror=${line%%$'\t'*}
      keyring=${line#*$'\t'}
      break
    fi
  done
fi
[ -n "$mirror" ] || die "no apt source for Debian $codename in /etc/apt/sources.list or /etc/apt/sources.list.d"
[ -n "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "cannot read the archive key $keyring (Debian's debian-archive-keyring package)"
say "mirror $mirror (Debian $codename's), suite unstable"

# A private apt: nothing under /etc/apt or /var/lib/apt is read or written, and the dpkg status is empty, so apt
# resolves against nothing installed (the host's packages are neither seen nor changed).
APT=$DIR/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/sources.list.d" "$APT/preferences.d" \
  "$DIR/debs"
: >"$APT/status"
echo "deb [signed-by=$keyring] $mirror unstable main" >"$APT/sources.list"
apt_opts=(-o "Dir::State=$APT" -o "Dir::State::Lists=$APT/lists" -o "Dir::State::status=$APT/status"
  -o "Dir::Cache=$APT/cache" -o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=$APT/sources.list.d"
  -o "Dir::Etc::Preferences=$APT/preferences" -o "Dir::Etc::PreferencesParts=$APT/preferences.d"
  -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1" -o "APT::Architecture=amd64" -o "APT::Architectures=amd64")
apt-get "${apt_opts[@]}" -qq update || die "apt-get update of $mirror unstable failed"

# The interpreters and everything they depend on in unstable (the C library included), minus what a running
# interpreter does not need (debconf and its front ends, data-only packages, the C toolchain's headers).
wanted=()
for minor in "${MINORS[@]}"; do
  v=3.$minor
  wanted+=("python$v" "python$v-minimal" "libpython$v-minimal" "libpython$v-stdlib" "libpython$v" "python$v-dev"
    "libpython$v-dev")
done
packages=$(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances "${wanted[@]}" |
  grep -v '^ ' | grep -v '^<' |
  grep -Ev '^(debconf|cdebconf|libdebian-installer.*|libnewt.*|libslang.*|libtextwrap.*|tzdata|netbase|media-types|readline-common|libc6-dev|libc-dev-bin|linux-libc-dev|libexpat1-dev|zlib1g-dev|libcrypt-dev|rpcsvc-proto|libnsl-dev|libtirpc-dev)$' |
  sort -u)
for p in "${wanted[@]}"; do
  grep -qx "$p" <<<"$packages" || die "unstable has no package $p"
done

# Download what is not in the cache yet (a package whose version changed is fetched again).
cd "$DIR/debs"
missing=()
while read -r name version; do
  file="${name}_${version//:/%3a}_"
  compgen -G "$file*.deb" >/dev/null || missing+=("$name")
done < <(apt-cache "${apt_opts[@]}" policy $packages | awk '/^[^ ]/ { sub(":", "", $1); n = $1 } /Candidate:/ { print n, $2 }')
if [ ${#missing[@]} -gt 0 ]; then
  say "downloading ${#missing[@]} packages"
  apt-get "${apt_opts[@]}" -qq download "${missing[@]}" || die "apt-get download failed"
fi

# Unpack the newest version of each package into a fresh tree, then swap it in.
rm -rf "$DIR/root.new"
mkdir -p "$DIR/root.new"
for name in $packages; do
  deb=$(ls -t "${name}"_*.deb | head -1)
  dpkg -x "$deb" "$DIR/root.new"
done
rm -rf "$DIR/root"
mv "$DIR/root.new" "$DIR/root"
ROOT=$DIR/root

loader=""
for l in "$ROOT/usr/lib64/ld-linux-x86-64.so.2" "$ROOT/lib64/ld-linux-x86-64.so.2" \
  "$ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"; do
  [ -e "$l" ] && loader=$l && break
done
[ -n "$loader" ] || die "no ld-linux-x86-64.so.2 in the unpacked libc6"

# The wrappers: the interpreter runs under its own loader and libraries only; nothing of the host's C library is
# mixed in, and nothing else on the machine sees the unpacked libraries. The loader passes the wrapper's path as
# argv[0], and $DIR/pyvenv.cfg (a venv whose home is the unpacked usr/bin) makes that path sys.executable while the
# standard library is found in the unpacked tree: subprocess and multiprocessing start the wrapper again, and no
# environment variable (PYTHONHOME) leaks into other Pythons the program may start.
mkdir -p "$BIN"
libs="$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu"
echo "home = $ROOT/usr/bin" >"$DIR/pyvenv.cfg"
for minor in "${MINORS[@]}"; do
  cat >"$BIN/python3.$minor" <<EOF
#!/bin/sh
# Debian unstable's CPython 3.$minor, unpacked by tests/pythons/fetch.sh and run through its own loader.
exec "$loader" --library-path "$libs" --argv0 "$BIN/python3.$minor" "$ROOT/usr/bin/python3.$minor" "\$@"
EOF
  chmod +x "$BIN/python3.$minor"
done

if ! check_all; then
  for minor in "${MINORS[@]}"; do
    "$BIN/python3.$minor" -c 'import sys, json, zlib, ssl, sqlite3, ctypes' || say "python3.$minor does not run"
  done
  die "the unpacked interpreters do not run"
fi
for minor in "${MINORS[@]}"; do
  say "$("$BIN/python3.$minor" -c 'import sys; print(sys.version.split()[0])') in $BIN/python3.$minor"
done
touch "$DIR/.complete"
echo "$BIN"
