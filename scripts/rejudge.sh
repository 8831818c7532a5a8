#!/usr/bin/env bash
# Judge stored result directories again with one binary and keep what it wrote, so that two
# binaries (before and after a refactoring) can be compared file by file:
#   scripts/rejudge.sh BIN OUT DIR...   then   diff -r OUT_BEFORE OUT_AFTER
# Each DIR is copied (the original is never rewritten); `analyze` exits as `run` would, so its
# exit code is kept beside the files.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BIN OUT RESULT_DIR..." >&2; exit 2; }
bin=$(realpath "$1"); out=$2; shift 2
mkdir -p "$out"
for dir in "$@"; do
  name=$(basename "$(realpath "$dir")")
  work=$(mktemp -d)
  cp -r "$(realpath "$dir")/." "$work"
  set +e; "$bin" analyze "$work" >/dev/null 2>&1; code=$?; set -e
  mkdir -p "$out/$name"
  echo "$code" > "$out/$name/exit-code"
  for f in summary.json summary.csv junit.xml report.md report.html; do
    [ -f "$work/$f" ] && cp "$work/$f" "$out/$name/$f"
  done
  for cell in "$work"/cells/*/; do
    c=$(basename "$cell")
    [ -f "$cell/analysis.json" ] && { mkdir -p "$out/$name/cells/$c"; cp "$cell/analysis.json" "$out/$name/cells/$c/"; }
  done
  rm -rf "$work"
done
