#!/usr/bin/env bash
# bench/run.sh BINDIR — the performance ratios of TOOLS.md §7.
#
#   bash bench/run.sh bin                 (what `make bench` runs)
#   BENCH_SECTIONS="compile" bash bench/run.sh bin
#
# Builds nothing: BINDIR must already hold hitlc (and, for later sections,
# hitlvm).  Each section is a function bench_NAME that prints its figures
# and appends one summary row to $SUMMARY; add a section by writing
# bench_NAME and listing NAME in SECTIONS.
#
# Environment (all optional):
#   BENCH_SECTIONS  sections to run, in order     (default: all of SECTIONS)
#   BENCH_RUNS      timed runs per command; best kept        (default: 5)
#   BENCH_LINES     size of the generated program            (default: 100000)
#   BENCH_OUT       scratch folder                           (default: build/bench)
set -euo pipefail

BINDIR=${1:-}
if [[ -z "$BINDIR" ]]; then
  echo "usage: bash bench/run.sh BINDIR" >&2
  exit 2
fi
BINDIR=$(cd "$BINDIR" 2>/dev/null && pwd) || { echo "bench: no folder $1 (run make first)" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS=${BENCH_RUNS:-5}
LINES=${BENCH_LINES:-100000}
OUT=${BENCH_OUT:-build/bench}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

SECTIONS="compile"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"

die() { echo "bench: FAIL: $*" >&2; exit 1; }

need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed (make deps)"
  done
}

# best_time CMD ARGS... — run CMD $RUNS times (output discarded) and print the
# best wall-clock time in seconds.  Uses time.perf_counter around a
# subprocess: the fork+exec cost is the same for every tool measured.
# Fails if any run exits non-zero.
best_time() {
  python3 - "$RUNS" "$@" <<'PY'
import subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
best = None
for _ in range(runs):
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dt = time.perf_counter() - t0
    if rc != 0:
        sys.stderr.write("bench: %s exited %d\n" % (" ".join(cmd), rc))
        sys.exit(1)
    best = dt if best is None or dt < best else best
print("%.6f" % best)
PY
}

# fmt_rate LINES SECONDS — lines per second, as an integer
rate() { python3 -c "import sys; print(int(int(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }

# ---- compile speed: hitlc --check against luac5.4 -p -----------------------
bench_compile() {
  need python3 luac5.4
  local hitlc="$BINDIR/hitlc"
  [[ -x "$hitlc" ]] || die "$hitlc not found or not executable (run make)"

  echo "== compile speed: hitlc --check vs luac5.4 -p ($LINES lines, best of $RUNS)"
  python3 "$HERE/gen" "$OUT" --lines "$LINES"
  local h="$OUT/gen.hitl" l="$OUT/gen.lua"

  # The generated files must be valid before any timing means anything.
  if ! luac5.4 -p "$l" 2>"$OUT/luac.err"; then
    cat "$OUT/luac.err" >&2
    die "luac5.4 rejects $l: bench/gen writes invalid Lua (a generator bug)"
  fi
  local rc=0
  "$hitlc" --check "$h" >"$OUT/hitlc.out" 2>"$OUT/hitlc.err" || rc=$?
  if [[ $rc -ne 0 ]]; then
    head -n 40 "$OUT/hitlc.err" >&2
    local nerr
    nerr=$(grep -c ': error: ' "$OUT/hitlc.err" || true)
    if [[ $rc -eq 1 ]]; then
      die "hitlc --check rejects $h ($nerr error(s), full list in $OUT/hitlc.err).
  Either bench/gen wrote invalid hitl (a generator bug) or the compiler rejects
  valid hitl (a compiler bug): check each message above against LANGUAGE.md."
    fi
    die "hitlc --check exited $rc on $h (2 = usage or I/O error; anything else is a crash: a compiler bug)"
  fi
  local nwarn
  nwarn=$(grep -c ': warning: ' "$OUT/hitlc.err" || true)
  [[ "$nwarn" -eq 0 ]] || echo "   (hitlc gave $nwarn warning(s) on the generated file; see $OUT/hitlc.err)"

  local hl ll th tl hr lr r
  hl=$(wc -l <"$h"); ll=$(wc -l <"$l")
  th=$(best_time "$hitlc" --check "$h") || die "timing hitlc failed"
  tl=$(best_time luac5.4 -p "$l") || die "timing luac5.4 failed"
  hr=$(rate "$hl" "$th"); lr=$(rate "$ll" "$tl")
  r=$(ratio "$hr" "$lr")
  printf '   %-22s %8s lines  %9.4f s  %10s lines/s\n' "hitlc --check" "$hl" "$th" "$hr"
  printf '   %-22s %8s lines  %9.4f s  %10s lines/s\n' "luac5.4 -p" "$ll" "$tl" "$lr"
  printf '   ratio hitl/luac lines per second: %s (goal >= 1.0)\n' "$r"
  printf '%-40s %8s %8s   %s\n' "compile speed (hitlc/luac5.4 lines/s)" "$r" ">= 1.0" \
    "$( python3 -c 'import sys; print("met" if float(sys.argv[1]) >= 1.0 else "NOT MET")' "$r")" >>"$SUMMARY"
}

# ---- main -------------------------------------------------------------------
echo "bench: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(date -u +%Y-%m-%dT%H:%MZ)"
for s in ${BENCH_SECTIONS:-$SECTIONS}; do
  declare -F "bench_$s" >/dev/null || die "no section '$s' (known: $SECTIONS)"
  "bench_$s"
done
echo
echo "== summary"
printf '%-40s %8s %8s   %s\n' "measure" "ratio" "goal" "status"
cat "$SUMMARY"
