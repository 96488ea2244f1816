#!/usr/bin/env bash
# Packs every Unisharp package into a local NuGet feed (default: artifacts/packages):
#   Unisharp, Unisharp.Net, Unisharp.Block, Unisharp.AspNetCore, Unisharp.Linux, Unisharp.Targets.Unix, Unisharp.Targets.MicroVm  (libraries)
#   Unisharp.Sdk (MSBuild SDK), Unisharp.Templates (dotnet new), Unisharp.Cli (the `unisharp` .NET tool)
#   Unisharp.Kernel.x86_64 (our microVM kernel; built by kernel/build-kernel.sh when it is not cached)
#
#   packaging/pack.sh [--out DIR] [--version VERSION] [--no-kernel]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/artifacts/packages"
version=""
kernel=1
while (($# > 0)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --no-kernel) kernel=0; shift ;;
    -h|--help) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pack: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"
props=(-c Release -o "$out" --nologo -v q -p:ContinuousIntegrationBuild=true)
[[ -n "$version" ]] && props+=("-p:Version=$version")
[[ -n "${UNISHARP_PACK_ARTIFACTS:-}" ]] && props+=(--artifacts-path "$UNISHARP_PACK_ARTIFACTS")

echo "pack: libraries, tool, SDK and templates ..." >&2
dotnet pack "$root/packaging/Unisharp.Packages.slnx" "${props[@]}" >&2
if ((kernel)); then
  if ! bash "$root/kernel/build-kernel.sh" --cached >/dev/null 2>&1; then
    echo "pack: building the kernel first (kernel/build-kernel.sh) ..." >&2
    bash "$root/kernel/build-kernel.sh" >&2
  fi
  echo "pack: kernel ..." >&2
  dotnet pack "$root/packaging/Unisharp.Kernel/Unisharp.Kernel.csproj" "${props[@]}" >&2
fi
echo "$out"
