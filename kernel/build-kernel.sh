#!/usr/bin/env bash
# Builds the Unisharp microVM kernel from Debian's linux-source package and prints the directory that
# holds it (bzImage for QEMU -M pc, vmlinux for PVH boot on -M microvm and Firecracker).
#
#   kernel/build-kernel.sh [--arch x86_64] [--jobs N] [--tree DIR] [--result FILE] [--force | --cached]
#
# --cached only prints the directory when that kernel is already built, and exits with 3 when it is not.
# --result FILE also writes the directory to FILE (for programs that run this script and read its output).
# --tree DIR builds in DIR/<arch> (unpacked there when empty) and keeps it, so that the next build after a
# change to the fragment recompiles only what the change touches (for working on the fragment); without it
# the source is unpacked into the cache and removed after the build.
# The vmlinux is shipped compacted (compact-vmlinux.c: no symbols, no 2 MiB alignment padding in the file);
# vmlinux.full beside it is the linker's output, with its symbols (nm --size-sort -S).
#
# The kernel is cached under ${XDG_CACHE_HOME:-$HOME/.cache}/unisharp/kernel/<hash>/, where <hash> covers
# the Kconfig fragment, compact-vmlinux.c, kernel/patches/, the kernel source package and this script's recipe
# version: it is rebuilt only when one of those changes.
# Builds of one kernel are serialised by a lock file beside its cache entry (<hash>.lock): a second build
# waits for the first, then finds the kernel built. A build goes into a temporary directory, renamed into place.
# Needs (Debian): linux-source-6.1 flex bison bc lz4 patch libelf-dev libssl-dev (and make, gcc).
# Each architecture has its own fragment, kernel/unisharp-<arch>.config; arm64 is a follow-up.
set -euo pipefail

# Bump when the way the kernel is built changes (not for comments), so cached kernels are rebuilt.
recipe=3
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
arch=x86_64
jobs="$(nproc 2>/dev/null || echo 2)"
force=0
cached_only=0
tree=""
result=""
while (($# > 0)); do
  case "$1" in
    --arch) arch="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --tree) tree="$2"; shift 2 ;;
    --result) result="$2"; shift 2 ;;
    --force) force=1; shift ;;
    --cached) cached_only=1; shift ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-kernel: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "build-kernel: error: $*" >&2; exit 1; }

fragment="$here/unisharp-$arch.config"
[[ -f "$fragment" ]] || fail "no Kconfig fragment for architecture '$arch' ($fragment)"
case "$arch" in
  x86_64) karch=x86; image=arch/x86/boot/bzImage; target=bzImage ;;
  *) fail "architecture '$arch' has a fragment but this script does not know how to build it yet" ;;
esac

tarball="$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1 || true)"
# UNISHARP_KERNEL_FAKE_BUILD (below) needs none of the build's tools.
if [[ -z "${UNISHARP_KERNEL_FAKE_BUILD:-}" ]]; then
  [[ -n "$tarball" ]] || fail "Debian's kernel source is missing: apt-get install linux-source-6.1"
  for tool in make gcc flex bison bc lz4 patch; do
    command -v "$tool" >/dev/null || fail "'$tool' is missing: apt-get install build-essential flex bison bc lz4 patch libelf-dev libssl-dev"
  done
  [[ -f /usr/include/libelf.h ]] || fail "libelf headers are missing: apt-get install libelf-dev"
  [[ -f /usr/include/openssl/ssl.h ]] || fail "OpenSSL headers are missing: apt-get install libssl-dev"
fi

source_id="none"
[[ -z "$tarball" ]] || source_id="$(basename "$tarball") $(stat -c '%s %Y' "$tarball")"
patches=("$here"/patches/*.patch)
hash="$( { cat "$fragment" "$here/compact-vmlinux.c" "${patches[@]}"; echo "$arch $source_id recipe $recipe"; } | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/unisharp/kernel/$hash"
out="$cache/$arch"

# Prints the kernel's directory (and writes it to --result's file) and exits, when the kernel is built.
print_when_built() {
  if [[ -f "$out/vmlinux" && -f "$out/$(basename "$image")" && -f "$out/config" ]]; then
    [[ -z "$result" ]] || printf '%s\n' "$out" > "$result"
    echo "$out"
    exit 0
  fi
}

[[ $force -eq 1 ]] || print_when_built
if [[ $cached_only -eq 1 ]]; then
  echo "build-kernel: the kernel for $(basename "$fragment") is not built yet (run kernel/build-kernel.sh)" >&2
  exit 3
fi

# One build of this kernel at a time: another one waits here, then finds the kernel built by the first.
mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
if ! flock -n 9; then
  echo "build-kernel: another build of this kernel is running (lock $cache.lock); waiting for it to finish" >&2
  flock 9
  [[ $force -eq 1 ]] || print_when_built
fi

# The kernel is assembled in a temporary directory and renamed into place once complete, so that no reader
# (--cached, the CLI) ever sees a partial one.
staging="$cache/$arch.partial"
rm -rf "$staging"
mkdir -p "$staging"
publish_staging() {
  if [[ -e "$out" ]]; then
    rm -rf "$cache/$arch.old"
    mv "$out" "$cache/$arch.old"
  fi
  mv "$staging" "$out"
  rm -rf "$cache/$arch.old"
}

# For the tests of this script only: a command that writes stand-in kernel files into the directory given
# as its first argument, instead of building (a real build takes minutes to tens of minutes).
if [[ -n "${UNISHARP_KERNEL_FAKE_BUILD:-}" ]]; then
  echo "build-kernel: fake build for tests: $UNISHARP_KERNEL_FAKE_BUILD" >&2
  bash -c "$UNISHARP_KERNEL_FAKE_BUILD" fake-build "$staging" >&2 || fail "the fake build failed"
  publish_staging
  print_when_built
  fail "the fake build did not write bzImage, vmlinux and config"
fi

if [[ -n "$tree" ]]; then
  work="$(mkdir -p "$tree/$arch" && cd "$tree/$arch" && pwd)"
else
  work="$cache/build"
  rm -rf "$work"
fi
mkdir -p "$work"
if [[ ! -f "$work/Makefile" ]]; then
  echo "build-kernel: unpacking $(basename "$tarball") into $work" >&2
  tar -xf "$tarball" -C "$work" --strip-components=1
fi

cd "$work"
log="$cache/build.log"
: > "$log"
# Our few changes to Debian's source (kernel/patches/, each explained at its top), applied once per tree.
for p in "${patches[@]}"; do
  if ! patch -p1 -R --dry-run -s -f < "$p" >/dev/null 2>&1; then
    patch -p1 -s -f < "$p" >>"$log" 2>&1 || fail "$(basename "$p") does not apply to $(basename "$tarball"); see $log"
  fi
done
echo "build-kernel: configuring ($arch, tinyconfig + $(basename "$fragment"))" >&2
make ARCH="$karch" tinyconfig >>"$log" 2>&1 || fail "make tinyconfig failed; see $log"
# Apply the fragment in its own order, then let Kconfig resolve dependencies.
args=()
while IFS= read -r line; do
  if [[ "$line" =~ ^CONFIG_([A-Za-z0-9_]+)=y$ ]]; then
    args+=(-e "${BASH_REMATCH[1]}")
  elif [[ "$line" =~ ^CONFIG_([A-Za-z0-9_]+)=([0-9]+)$ ]]; then
    args+=(--set-val "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
  elif [[ "$line" =~ ^#\ CONFIG_([A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
    args+=(-d "${BASH_REMATCH[1]}")
  elif [[ -n "$line" && ! "$line" =~ ^# ]]; then
    fail "$fragment: cannot read line '$line' (expected CONFIG_X=y, CONFIG_X=NUMBER or '# CONFIG_X is not set')"
  fi
done < "$fragment"
scripts/config --file .config "${args[@]}"
make ARCH="$karch" olddefconfig >>"$log" 2>&1 || fail "make olddefconfig failed; see $log"

# Every option the fragment requires must be built in, every option it forbids must be off: Kconfig
# silently drops an option whose dependencies are missing, and a kernel without it fails only at boot.
bad=()
while IFS= read -r line; do
  if [[ "$line" =~ ^CONFIG_([A-Za-z0-9_]+)=y$ ]]; then
    grep -qx "CONFIG_${BASH_REMATCH[1]}=y" .config || bad+=("CONFIG_${BASH_REMATCH[1]} should be y but is $(grep -E "^(# )?CONFIG_${BASH_REMATCH[1]}[= ]" .config || echo 'absent')")
  elif [[ "$line" =~ ^CONFIG_([A-Za-z0-9_]+)=([0-9]+)$ ]]; then
    grep -qx "$line" .config || bad+=("CONFIG_${BASH_REMATCH[1]} should be ${BASH_REMATCH[2]} but is $(grep -E "^(# )?CONFIG_${BASH_REMATCH[1]}[= ]" .config || echo 'absent')")
  elif [[ "$line" =~ ^#\ CONFIG_([A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
    if grep -qE "^CONFIG_${BASH_REMATCH[1]}=[ym]" .config; then bad+=("CONFIG_${BASH_REMATCH[1]} should be off but is on"); fi
  fi
done < "$fragment"
if grep -qE '^CONFIG_[A-Za-z0-9_]+=m$' .config; then bad+=("modules are configured: $(grep -E '=m$' .config | tr '\n' ' ')"); fi
if ((${#bad[@]} > 0)); then
  printf 'build-kernel: error: the configuration does not match %s:\n' "$(basename "$fragment")" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi

echo "build-kernel: building $target and vmlinux with $jobs jobs (a few minutes)" >&2
start=$SECONDS
make ARCH="$karch" -j"$jobs" "$target" >>"$log" 2>&1 &
make_pid=$!
# A line a minute, so that a long build (tens of minutes on a busy machine) is visibly alive.
next=60
while kill -0 "$make_pid" 2>/dev/null; do
  sleep 2
  if ((SECONDS - start >= next)); then
    echo "build-kernel: still building: $((SECONDS - start)) s, $(grep -c '^  CC' "$log" || true) files compiled" >&2
    next=$((next + 60))
  fi
done
wait "$make_pid" || { tail -n 30 "$log" >&2; fail "the kernel build failed; see $log"; }
echo "build-kernel: built in $((SECONDS - start)) s" >&2

# PVH loaders copy the vmlinux's segments as they are in the file: megabytes of padding and the symbol table.
gcc -O2 -o compact-vmlinux "$here/compact-vmlinux.c" >>"$log" 2>&1 || fail "compiling compact-vmlinux failed; see $log"
./compact-vmlinux vmlinux vmlinux.compact >>"$log" 2>&1 || fail "compact-vmlinux failed; see $log"
cp "$image" "$staging/"
cp vmlinux.compact "$staging/vmlinux"
cp vmlinux "$staging/vmlinux.full"
cp .config "$staging/config"
cd "$cache"
[[ -n "$tree" ]] || rm -rf "$work"
publish_staging
echo "build-kernel: $(basename "$image") $(stat -c %s "$out/$(basename "$image")") bytes, vmlinux $(stat -c %s "$out/vmlinux") bytes" >&2
print_when_built
fail "the build finished but $out is incomplete"
