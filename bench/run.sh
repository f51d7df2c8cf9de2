#!/usr/bin/env bash
# bench/run.sh BINDIR — the performance ratios of TOOLS.md §7.
#
#   bash bench/run.sh bin                 (what `make bench` runs)
#   BENCH_SECTIONS="compile" bash bench/run.sh bin
#   BENCH_SECTIONS="vm" BENCH_VM_PROGS="fib" bash bench/run.sh bin
#
# Builds nothing: BINDIR must already hold hitlc and hitlvm.  A section whose
# binary is missing (or cannot yet do what the section measures) is skipped
# with a message saying why, and its summary row says "skipped": no figure is
# ever printed that was not measured in this run.  Each section is a function
# bench_NAME that prints its figures and appends summary rows to $SUMMARY; add
# a section by writing bench_NAME and listing NAME in SECTIONS.
#
#   compile  hitlc --check vs luac5.4 -p, and hitlc -o vs luac5.4 -o, each
#            pair run in turn (best_pair); CPU-time ratios printed beside
#   vm       bench/vm/NAME.hitl on hitlvm vs bench/vm/NAME.lua on lua5.4
#            (ratios of best wall time; CPU-time ratios printed beside them)
#   store    durable suspend + resume cycles per second (bench/store_cycles.c,
#            in process) against the bare SQLite commit rate on the same disk
#            (bench/commit_rate.c) divided by the commits one cycle makes;
#            bytes stored per suspended refund instance
#   embed    the embedding boundary (bench/embed_bench.c through libhitl.so):
#            host-callback action calls per second, and `from` calls of an
#            empty C function through libffi per second; figures, no goal
#   route    what routing costs a plain call (issue 6): the same loop of
#            host-callback calls in a playbook without rules, with five
#            rules (four that do not hold, then `auto`) and with thresholds,
#            `with confidence` and five rules; calls/s and the time ratio
#            with rules / without (embed_bench N route)
#
# Environment (all optional):
#   BENCH_SECTIONS  sections to run, in order     (default: all of SECTIONS)
#   BENCH_RUNS      timed runs per compile command; best kept (default: 5)
#   BENCH_VM_RUNS   timed runs per VM program; best kept      (default: 3)
#   BENCH_VM_PROGS  VM programs, from bench/vm     (default: all of VM_PROGS)
#   BENCH_LINES     size of the generated program            (default: 100000)
#   BENCH_OUT       scratch folder                           (default: build/bench)
#   BENCH_CYCLES    suspend + resume cycles timed             (default: 3000)
#   BENCH_COMMIT_SECONDS  length of the bare commit loop       (default: 3)
#   BENCH_EMBED     the embed_bench binary (make bench builds it; else skipped)
#   BENCH_TESTACTIONS  folder of libtestactions.so, for the `from` calls
#   BENCH_EMBED_CALLS  action calls per measured loop         (default: 1000000)
#   BENCH_ROUTE_CALLS  action calls per loop in `route`        (default: 300000)
set -euo pipefail

BINDIR=${1:-}
if [[ -z "$BINDIR" ]]; then
  echo "usage: bash bench/run.sh BINDIR" >&2
  exit 2
fi
BINDIR=$(cd "$BINDIR" 2>/dev/null && pwd) || { echo "bench: no folder $1 (run make first)" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS=${BENCH_RUNS:-5}
VM_RUNS=${BENCH_VM_RUNS:-3}
LINES=${BENCH_LINES:-100000}
OUT=${BENCH_OUT:-build/bench}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

SECTIONS="compile vm store embed route"
VM_PROGS="loop fib strings collections"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"

die() { echo "bench: FAIL: $*" >&2; exit 1; }

need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed (make deps)"
  done
}

# row MEASURE RATIO GOAL STATUS — one line of the summary
row() { printf '%-44s %8s %8s   %s\n' "$@" >>"$SUMMARY"; }

# skip MEASURE WHY — say that a measure was not taken, and record that
skip() {
  echo "   SKIPPED: $2"
  row "$1" "-" "" "skipped (see above)"
}

# best_of N CMD ARGS... — run CMD N times (output discarded) and print the
# best wall-clock time in seconds; with BEST_CPU=1 print "WALL CPU", CPU the
# least user+system time of the runs (less sensitive to other load on the
# machine than wall time).  Uses time.perf_counter around a subprocess: the
# fork+exec cost is the same for every tool measured.  Fails if any run exits
# non-zero.
best_of() {
  python3 - "$@" <<'PY'
import os, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
best = cpu = None
for _ in range(runs):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.stderr.write("bench: %s exited %d\n" % (" ".join(cmd), rc))
        sys.exit(1)
    best = dt if best is None or dt < best else best
    c = ru.ru_utime + ru.ru_stime
    cpu = c if cpu is None or c < cpu else cpu
if os.environ.get("BEST_CPU") == "1":
    print("%.6f %.6f" % (best, cpu))
else:
    print("%.6f" % best)
PY
}
best_time() { best_of "$RUNS" "$@"; }

# best_pair N CMD_A... -- CMD_B... — run the two commands in turn, N times
# each (A, B, A, B, …), and print "WALL_A CPU_A WALL_B CPU_B", the best of
# each: interleaved, a burst of load on the machine hits both alike instead
# of all the runs of one of them.  Fails if any run exits non-zero.
best_pair() {
  python3 - "$@" <<'PY'
import os, subprocess, sys, time
runs, args = int(sys.argv[1]), sys.argv[2:]
k = args.index("--")
cmds = [args[:k], args[k + 1:]]
best = [[None, None], [None, None]]
for _ in range(runs):
    for i, cmd in enumerate(cmds):
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        rc = os.waitstatus_to_exitcode(status)
        if rc != 0:
            sys.stderr.write("bench: %s exited %d\n" % (" ".join(cmd), rc))
            sys.exit(1)
        c = ru.ru_utime + ru.ru_stime
        b = best[i]
        b[0] = dt if b[0] is None or dt < b[0] else b[0]
        b[1] = c if b[1] is None or c < b[1] else b[1]
print("%.6f %.6f %.6f %.6f" % (best[0][0], best[0][1], best[1][0], best[1][1]))
PY
}

# rate LINES SECONDS — lines per second, as an integer
rate() { python3 -c "import sys; print(int(int(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
# at_least X GOAL / at_most X GOAL — "met" or "NOT MET"
at_least() { python3 -c 'import sys; print("met" if float(sys.argv[1]) >= float(sys.argv[2]) else "NOT MET")' "$1" "$2"; }
at_most()  { python3 -c 'import sys; print("met" if float(sys.argv[1]) <= float(sys.argv[2]) else "NOT MET")' "$1" "$2"; }

# ---- compile speed: hitlc against luac5.4 -----------------------------------
bench_compile() {
  need python3 luac5.4
  local hitlc="$BINDIR/hitlc"

  echo "== compile speed: hitlc --check vs luac5.4 -p ($LINES lines, best of $RUNS)"
  if [[ ! -x "$hitlc" ]]; then
    skip "compile speed (hitlc/luac5.4 lines/s)" "$hitlc not found or not executable (run make)"
    skip "full compile (hitlc -o/luac5.4 -o lines/s)" "$hitlc not found or not executable (run make)"
    return 0
  fi
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

  local hl ll th tl hc lc hr lr r rc
  hl=$(wc -l <"$h"); ll=$(wc -l <"$l")
  local times
  times=$(best_pair "$RUNS" "$hitlc" --check "$h" -- luac5.4 -p "$l") || die "timing hitlc --check / luac5.4 -p failed"
  read -r th hc tl lc <<<"$times"
  hr=$(rate "$hl" "$th"); lr=$(rate "$ll" "$tl")
  r=$(ratio "$hr" "$lr")
  rc=$(ratio "$(rate "$hl" "$hc")" "$(rate "$ll" "$lc")")
  printf '   %-22s %8s lines  %9.4f s  %10s lines/s  (CPU %.4f s)\n' "hitlc --check" "$hl" "$th" "$hr" "$hc"
  printf '   %-22s %8s lines  %9.4f s  %10s lines/s  (CPU %.4f s)\n' "luac5.4 -p" "$ll" "$tl" "$lr" "$lc"
  printf '   ratio hitl/luac lines per second: %s (goal >= 1.0; from CPU time: %s)\n' "$r" "$rc"
  row "compile speed (hitlc/luac5.4 lines/s)" "$r" ">= 1.0" "$(at_least "$r" 1.0)"

  # Full compile, source to a bytecode file: hitlc -o against luac5.4 -o.
  local what="full compile (hitlc -o/luac5.4 -o lines/s)"
  echo "== compile speed, full: hitlc -o gen.hbc vs luac5.4 -o gen.luac ($LINES lines, best of $RUNS)"
  if ! luac5.4 -o "$OUT/gen.luac" "$l" 2>"$OUT/luac.err"; then
    cat "$OUT/luac.err" >&2
    die "luac5.4 -o fails on $l"
  fi
  rm -f "$OUT/gen.hbc"
  rc=0
  "$hitlc" "$h" -o "$OUT/gen.hbc" >"$OUT/hitlc.out" 2>"$OUT/hitlc.err" || rc=$?
  if [[ $rc -eq 2 ]]; then
    skip "$what" "hitlc cannot write bytecode yet ($(head -n 1 "$OUT/hitlc.err"))"
    return 0
  fi
  if [[ $rc -ne 0 ]]; then
    head -n 20 "$OUT/hitlc.err" >&2
    die "hitlc $h -o gen.hbc exited $rc, though --check accepted the file (a compiler bug)"
  fi
  [[ -s "$OUT/gen.hbc" ]] || die "hitlc exited 0 but wrote no $OUT/gen.hbc"
  times=$(best_pair "$RUNS" "$hitlc" "$h" -o "$OUT/gen.hbc" -- luac5.4 -o "$OUT/gen.luac" "$l") \
    || die "timing hitlc -o / luac5.4 -o failed"
  read -r th hc tl lc <<<"$times"
  hr=$(rate "$hl" "$th"); lr=$(rate "$ll" "$tl")
  r=$(ratio "$hr" "$lr")
  rc=$(ratio "$(rate "$hl" "$hc")" "$(rate "$ll" "$lc")")
  printf '   %-22s %8s lines  %9.4f s  %10s lines/s  %9s bytes written  (CPU %.4f s)\n' \
    "hitlc -o gen.hbc" "$hl" "$th" "$hr" "$(wc -c <"$OUT/gen.hbc")" "$hc"
  printf '   %-22s %8s lines  %9.4f s  %10s lines/s  %9s bytes written  (CPU %.4f s)\n' \
    "luac5.4 -o gen.luac" "$ll" "$tl" "$lr" "$(wc -c <"$OUT/gen.luac")" "$lc"
  printf '   ratio hitl/luac lines per second: %s (goal >= 1.0; from CPU time: %s)\n' "$r" "$rc"
  printf '   (hitlc -o writes through a temporary file, fsync and rename; luac5.4 does not sync)\n'
  row "$what" "$r" ">= 1.0" "$(at_least "$r" 1.0)"
}

# ---- VM speed: hitlvm against lua5.4 on bench/vm/NAME.{hitl,lua} ------------
# Each program is compiled to .hbc first, so compile time is not counted.  If
# hitlc cannot write bytecode yet (exit 2), hitlvm runs the .hitl, compiling
# it on the fly, and the output and summary say so.  hitlvm's JSON "result"
# and lua5.4's printed line must be the same checksum before anything is
# timed.  hitlvm's times include opening the store and recording the instance
# (about what `hitlvm run` always costs); the "empty" line shows that fixed
# cost, on a playbook that only returns 0, and is not part of the mean.

# hitl_result FILE — the "result" of a `hitlvm run --json` output, printed as
# lua5.4 prints an integer; fails unless the run completed with a number.
hitl_result() {
  python3 - "$1" <<'PY'
import json, sys
try:
    out = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit("hitlvm run --json printed no JSON object (%s)" % e)
if not isinstance(out, dict):
    sys.exit("hitlvm run --json printed %r, not an object" % (out,))
if out.get("status") != "completed":
    sys.exit("hitlvm run ended %r, error %r" % (out.get("status"), out.get("error")))
if "result" not in out:
    sys.exit("hitlvm run --json has no \"result\": %s" % json.dumps(out)[:300])
r = out["result"]
if isinstance(r, bool) or not isinstance(r, int):
    sys.exit("result %r is not an integer" % (r,))
print(r)
PY
}

bench_vm() {
  need python3 lua5.4
  local hitlvm="$BINDIR/hitlvm" hitlc="$BINDIR/hitlc" vmdir="$HERE/vm"
  local what="VM speed (hitl/lua5.4 time, geo. mean)"
  local progs=${BENCH_VM_PROGS:-$VM_PROGS}
  echo "== VM speed: hitlvm vs lua5.4 (bench/vm, best of $VM_RUNS, wall time)"
  if [[ ! -x "$hitlvm" ]]; then
    skip "$what" "$hitlvm not found or not executable (run make)"
    return 0
  fi
  local tmp="$OUT/vm"
  rm -rf "$tmp"; mkdir -p "$tmp"
  local store="$tmp/store.db"
  printf 'playbook empty "bench baseline: start-up and store only"\nreturn 0\n' >"$tmp/empty.hitl"
  printf 'print(0)\n' >"$tmp/empty.lua"

  # Compile every program first; fall back to the .hitl only when hitlc
  # cannot write bytecode at all (exit 2), never on a compile error.
  local mode=hbc p rc src
  for p in empty $progs; do
    src="$vmdir/$p"; [[ "$p" == empty ]] && src="$tmp/$p"
    [[ -f "$src.hitl" && -f "$src.lua" ]] || die "no $src.hitl and $src.lua"
    [[ "$mode" == hbc ]] || continue
    rc=0
    if [[ -x "$hitlc" ]]; then
      "$hitlc" "$src.hitl" -o "$tmp/$p.hbc" >"$tmp/$p.hitlc.out" 2>"$tmp/$p.hitlc.err" || rc=$?
    else
      echo "$hitlc not found" >"$tmp/$p.hitlc.err"; rc=2
    fi
    if [[ $rc -eq 2 ]]; then
      mode=hitl
      echo "   NOTE: cannot precompile to .hbc ($(head -n 1 "$tmp/$p.hitlc.err"));"
      echo "         hitlvm runs the .hitl files, so the hitl times include compiling them"
    elif [[ $rc -ne 0 ]]; then
      head -n 20 "$tmp/$p.hitlc.err" >&2
      die "hitlc $src.hitl -o $p.hbc exited $rc"
    elif [[ ! -s "$tmp/$p.hbc" ]]; then
      die "hitlc exited 0 but wrote no $tmp/$p.hbc"
    fi
  done

  local ratios="" cratios="" th tl r cr hres lres target hw lw
  printf '   %-12s %18s %9s %9s %9s   %s\n' "program" "checksum" "hitl s" "lua s" "hitl/lua" "(CPU time: hitl s, lua s, ratio)"
  for p in empty $progs; do
    src="$vmdir/$p"; [[ "$p" == empty ]] && src="$tmp/$p"
    target="$src.hitl"; [[ "$mode" == hbc ]] && target="$tmp/$p.hbc"
    # correctness first: the same checksum on both sides
    rc=0
    "$hitlvm" run "$target" --json --store "$store" >"$tmp/$p.out.json" 2>"$tmp/$p.out.err" || rc=$?
    if [[ $rc -ne 0 ]]; then
      head -c 2000 "$tmp/$p.out.json" >&2; echo >&2; head -n 20 "$tmp/$p.out.err" >&2
      die "hitlvm run $target exited $rc"
    fi
    hres=$(hitl_result "$tmp/$p.out.json") || die "hitlvm run $target: no usable result (output in $tmp/$p.out.json)"
    lres=$(lua5.4 "$src.lua") || die "lua5.4 $src.lua failed"
    [[ "$hres" == "$lres" ]] || die "checksums differ for $p: hitlvm gives '$hres', lua5.4 gives '$lres'"

    hw=$(BEST_CPU=1 best_of "$VM_RUNS" "$hitlvm" run "$target" --json --store "$store") || die "timing hitlvm on $p failed"
    lw=$(BEST_CPU=1 best_of "$VM_RUNS" lua5.4 "$src.lua") || die "timing lua5.4 on $p failed"
    read -r th thc <<<"$hw"
    read -r tl tlc <<<"$lw"
    r=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$th" "$tl")
    cr=$(python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b) if b > 0 else '-')" "$thc" "$tlc")
    if [[ "$p" == empty ]]; then
      printf '   %-12s %18s %9.3f %9.3f %9s   (%.3f, %.3f)\n' "(empty)" "$hres" "$th" "$tl" "-" "$thc" "$tlc"
    else
      ratios="$ratios $r"; cratios="$cratios $cr"
      printf '   %-12s %18s %9.3f %9.3f %9s   (%.3f, %.3f, %s)\n' "$p" "$hres" "$th" "$tl" "$r" "$thc" "$tlc" "$cr"
    fi
  done
  local g gc note=""
  g=$(geomean $ratios)
  gc=$(geomean $cratios)
  [[ "$mode" == hbc ]] || note=" (hitl run from .hitl: compile time included)"
  printf '   geometric mean of the hitl/lua time ratios: %s (goal <= 1.0)%s\n' "$g" "$note"
  printf '   (the same from CPU time, user+system: %s)\n' "$gc"
  row "$what" "$g" "<= 1.0" "$(at_most "$g" 1.0)$note"
}

bench_embed() {
  local bin=${BENCH_EMBED:-} dir=${BENCH_TESTACTIONS:-} calls=${BENCH_EMBED_CALLS:-1000000}
  echo "== embedding boundary: action calls through hitl_* (bench/embed_bench.c, best of 3)"
  if [[ -z "$bin" || ! -x "$bin" ]]; then
    skip "host-callback calls per second" "no embed_bench (BENCH_EMBED; make bench builds it)"
    skip "empty \`from\` calls per second (libffi)" "no embed_bench"
    return 0
  fi
  if [[ -z "$dir" || ! -f "$dir/libtestactions.so" ]]; then
    skip "empty \`from\` calls per second (libffi)" "no libtestactions.so (BENCH_TESTACTIONS)"
    dir=.
  fi
  local out
  out=$("$bin" "$calls" "$dir") || die "embed_bench failed"
  get() { echo "$out" | awk -v k="$1" '$1 == k {print $2}'; }
  printf '   %-40s %12s %10s\n' "call (a loop of $calls)" "calls/s" "ns/call*"
  printf '   %-40s %12s %10s\n' "host callback, no arguments" "$(get host_calls_per_sec)" "$(get host_ns_per_call)"
  printf '   %-40s %12s %10s\n' "host callback, two int arguments" "$(get host_2args_calls_per_sec)" "$(get host_2args_ns_per_call)"
  printf '   %-40s %12s %10s\n' "from (libffi), empty int64_t f(void)" "$(get ffi_empty_calls_per_sec)" "$(get ffi_empty_ns_per_call)"
  printf '   %-40s %12s %10s\n' "from (libffi), int64_t add(a, b)" "$(get ffi_add_calls_per_sec)" "$(get ffi_add_ns_per_call)"
  printf '   * over the same loop without the call (%ss)\n' "$(get loop_seconds)"
  row "host-callback calls per second" "$(get host_calls_per_sec)" "-" "measured"
  row "empty \`from\` calls per second (libffi)" "$(get ffi_empty_calls_per_sec)" "-" "measured"
}

# ---- routing: a plain call with rules against without ----------------------
# embed_bench N route runs three playbooks in turn, five rounds, best of each
# (see its header): the loop `let r = add(i, 1); s = s + r` with a host
# callback that answers 1, (a) without rules, (b) with five rules, the fifth
# routing `auto`, (c) with thresholds, `with confidence 0.95` on the call and
# five rules reading confidence and threshold.  The ratio is the time of the
# loop with rules over the time without: the whole call, routing included.
bench_route() {
  local bin=${BENCH_EMBED:-} calls=${BENCH_ROUTE_CALLS:-300000}
  local what="routing: 5 rules / no rules (call time)"
  local what2="routing: thresholds+confidence / no rules"
  echo "== routing overhead: host-callback calls with rules vs without (bench/embed_bench.c route, best of 5)"
  if [[ -z "$bin" || ! -x "$bin" ]]; then
    skip "$what" "no embed_bench (BENCH_EMBED; make bench builds it)"
    skip "$what2" "no embed_bench"
    return 0
  fi
  local out
  out=$("$bin" "$calls" route) || die "embed_bench route failed"
  get() { echo "$out" | awk -v k="$1" '$1 == k {print $2}'; }
  printf '   %-48s %12s %9s %8s\n' "playbook (a loop of $calls calls)" "calls/s" "ns/call" "ratio"
  printf '   %-48s %12s %9s %8s\n' "no rules" "$(get norules_calls_per_sec)" "$(get norules_ns_per_call)" "1.00"
  printf '   %-48s %12s %9s %8s\n' "5 rules, the 5th routes auto" "$(get rules5_calls_per_sec)" "$(get rules5_ns_per_call)" "$(get rules5_ratio)"
  printf '   %-48s %12s %9s %8s\n' "thresholds, with confidence, 5 rules" "$(get thresholds_calls_per_sec)" "$(get thresholds_ns_per_call)" "$(get thresholds_ratio)"
  printf '   (ns/call: the whole loop iteration, the call and the loop around it)\n'
  row "$what" "$(get rules5_ratio)" "-" "measured"
  row "$what2" "$(get thresholds_ratio)" "-" "measured"
}

# geomean X... — geometric mean, two decimals
geomean() { python3 -c "import math, sys; r = [float(x) for x in sys.argv[1:]]; print('%.2f' % math.exp(sum(map(math.log, r)) / len(r)))" "$@"; }

# ---- the store: durable suspend + resume cycles, bytes per instance ----------
# Both programs are built here with cc.  commit_rate uses SQLite directly (it
# is the anchor); store_cycles links lib/libhitl.a and makes, in one process,
# the runtime's calls `hitlvm resume ITEM approve --json` makes (vm/rt.h; see
# its header), on one instance among BENCH_BACKGROUND (default 1000) others
# waiting in the same store, and counts commits with SQLite's commit hook.
# The database files live in $OUT/store, on the disk the store would use.
# The three runs alternate (commit rate, cycles, commit rate, …) so both see
# the same disk; best of 3.
bench_store() {
  need cc sqlite3 python3
  local what="store cycles/s ÷ (commit rate ÷ commits per cycle)"
  local what2="bytes stored per suspended refund instance"
  local dir="$OUT/store" lib="$BINDIR/../lib/libhitl.a" hitlvm="$BINDIR/hitlvm"
  [[ -f "$lib" ]] || lib="$(dirname "$BINDIR")/lib/libhitl.a"
  rm -rf "$dir"; mkdir -p "$dir"
  echo "== store: durable suspend + resume cycles (in process) vs the bare SQLite commit rate"
  cc -O2 -o "$dir/commit_rate" "$HERE/commit_rate.c" -lsqlite3 || die "cannot build bench/commit_rate.c"
  if [[ ! -f "$lib" ]] || [[ "$(nm "$lib" 2>/dev/null | grep -c " T st_open$")" == 0 ]]; then
    skip "$what" "$lib has no store yet (st_open: vm/store_sqlite.c)"
  else
    # shellcheck disable=SC2046
    cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$HERE/.." -I"$HERE/../build/gen" \
      -o "$dir/store_cycles" "$HERE/store_cycles.c" "$lib" -Wl,--wrap=sqlite3_open_v2 \
      $(pkg-config --libs libffi sqlite3 jansson libsodium) -ldl -lm || die "cannot build bench/store_cycles.c"
    local n=${BENCH_CYCLES:-3000} secs=${BENCH_COMMIT_SECONDS:-3} bg=${BENCH_BACKGROUND:-1000} i best_rate=0 best_cps=0 cpc=0
    local c t commits snap pages bc bt bpages brate ppc=0 bppc=0
    for i in 1 2 3; do
      read -r bc bt bpages brate <<<"$("$dir/commit_rate" "$dir/commit.db" "$secs")" || die "commit_rate failed"
      if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$brate" "$best_rate"; then
        best_rate=$brate
        bppc=$(python3 -c "import sys; print('%.1f' % (int(sys.argv[1]) / int(sys.argv[2])))" "$bpages" "$bc")
      fi
      read -r c t commits snap pages <<<"$(HITL_STORE_SYNC=FULL "$dir/store_cycles" "$HERE/store_cycle.hitl" "$dir/cycles.db" "$n" "$bg")" \
        || die "store_cycles failed"
      cpc=$(python3 -c "import sys; print('%.2f' % (int(sys.argv[1]) / int(sys.argv[2])))" "$commits" "$c")
      ppc=$(python3 -c "import sys; print('%.1f' % (int(sys.argv[1]) / int(sys.argv[2])))" "$pages" "$commits")
      best_cps=$(python3 -c "import sys; print('%.1f' % max(float(sys.argv[1]), int(sys.argv[2]) / float(sys.argv[3])))" "$best_cps" "$c" "$t")
    done
    local normal
    read -r c t commits snap pages <<<"$(HITL_STORE_SYNC=NORMAL "$dir/store_cycles" "$HERE/store_cycle.hitl" "$dir/cycles.db" "$n" "$bg")" \
      || die "store_cycles failed"
    normal=$(python3 -c "import sys; print('%.0f' % (int(sys.argv[1]) / float(sys.argv[2])))" "$c" "$t")
    local bound r
    bound=$(python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$best_rate" "$cpc")
    r=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$best_cps" "$bound")
    printf '   bare SQLite commits/s (WAL, synchronous=FULL, 1 row each, best of 3): %8.0f  (%s WAL pages a commit)\n' "$best_rate" "$bppc"
    printf '   suspend + resume cycles/s, durable (%s cycles, %s other instances waiting, best of 3): %8.0f\n' "$n" "$bg" "$best_cps"
    printf '   commits per cycle (commit hook): %s, WAL pages per commit: %s, snapshot: %s bytes\n' "$cpc" "$ppc" "$snap"
    printf '   bound = commit rate / commits per cycle: %s cycles/s\n' "$bound"
    printf '   ratio cycles/s / bound: %s (goal >= 0.70)\n' "$r"
    printf '   (HITL_STORE_SYNC=NORMAL, no fsync per commit: %s cycles/s: the CPU and write() part)\n' "$normal"
    row "$what" "$r" ">= 0.70" "$(at_least "$r" 0.70)"
  fi

  echo "== store: bytes stored per suspended refund instance"
  if [[ ! -x "$hitlvm" ]] || ! "$hitlvm" pending --store "$dir/probe.db" >/dev/null 2>&1; then
    skip "$what2" "hitlvm has no store yet ('hitlvm pending' fails)"
    return 0
  fi
  local db="$dir/refund.db" pb="$HERE/../playbooks" out id
  rm -f "$db"*
  # refund.hitl routed to a person by a low score, and refund-demo.hitl at its checkpoint
  python3 -c "import json,sys; m=json.load(open(sys.argv[1])); m['score_refund']=0.5; json.dump(m, open(sys.argv[2],'w'))" \
    "$pb/refund.mock.json" "$dir/refund-low.mock.json"
  local worst=0 name
  for name in refund refund-demo; do
    local mock="$pb/$name.mock.json"
    [[ "$name" == refund ]] && mock="$dir/refund-low.mock.json"
    out=$("$hitlvm" run "$pb/$name.hitl" --input "@$pb/$name.input.json" --mock "$mock" --as agent --json --store "$db" 2>"$dir/$name.err") \
      && die "$name.hitl did not suspend"
    id=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['instance'])" "$out") \
      || die "no instance from $name: $(head -n 5 "$dir/$name.err")"
    local bytes state
    bytes=$(store_bytes "$db" "$id")
    state=$(sqlite3 "$db" "$(store_bytes_sql "$id" state)")
    printf '   %-12s instance %s: %s bytes (to resume it: %s; its log: %s)\n' "$name" "$id" "$bytes" "$state" "$((bytes - state))"
    sqlite3 "$db" "$(store_bytes_sql "$id" breakdown)" | sed 's/^/      /'
    worst=$(python3 -c "import sys; print(max(int(sys.argv[1]), int(sys.argv[2].split()[0])))" "$worst" "$bytes")
  done
  printf '   (the program, stored once per program, not counted: %s bytes)\n' \
    "$(sqlite3 "$db" 'SELECT sum(length(bytes)) FROM programs')"
  # on disk: the store's pages in use grow by this much per suspended refund
  # instance (indexes, B-tree overhead and free space in pages included)
  local k=${BENCH_DISK_INSTANCES:-100} disk=$dir/disk.db i used0 used1
  rm -f "$disk"*
  used() { sqlite3 "$1" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null; sqlite3 "$1" 'SELECT (SELECT page_count FROM pragma_page_count) - (SELECT freelist_count FROM pragma_freelist_count), (SELECT page_size FROM pragma_page_size)' | awk -F'|' '{print $1 * $2}'; }
  run_refund() {
    local rc=0
    HITL_STORE_SYNC=NORMAL "$hitlvm" run "$pb/refund.hitl" --input "@$pb/refund.input.json" --mock "$dir/refund-low.mock.json" \
      --as agent --json --store "$disk" >/dev/null 2>&1 || rc=$?
    [[ $rc == 3 ]] || die "refund.hitl did not suspend (exit $rc)"
  }
  run_refund
  used0=$(used "$disk")
  for ((i = 0; i < k; i++)); do run_refund; done
  used1=$(used "$disk")
  printf '   on disk: %s bytes per suspended refund instance (pages in use, %s instances added to a store)\n' \
    "$(( (used1 - used0) / k ))" "$k"
  printf '   bytes per suspended instance, the larger: %s (goal <= 1024)\n' "$worst"
  row "$what2" "$worst" "<= 1024" "$(at_most "$worst" 1024)"
}

# store_bytes_sql INSTANCE [breakdown|state] — the bytes of an instance's rows:
# every column's stored length (text as UTF-8 bytes, blobs as their length,
# integers and reals as 8), summed over instances, snapshots, items, heads
# (the chain's head of its log) — what resuming it needs — and events (with
# their chain hashes), calls and verdicts: its log.  `state`: the first four.
store_bytes_sql() {
  python3 - "$1" "${2:-}" <<'PY'
import sys
inst, mode = sys.argv[1], sys.argv[2]
state = {
  "instances": ("id", "id program playbook status starter input params mocks mock_state result error owner segment created updated"),
  "snapshots": ("instance", "instance bytes"),
  "items": ("instance", "id instance kind title payload digest \"by\" quorum editable status created deadline timeout_verdict timeout_reason"),
  "heads": ("instance", "instance seq hash"),
}
log = {
  "events": ("instance", "instance seq at kind fields hash"),
  "calls": ("instance", "instance idx action args state result at"),
  "verdicts": ("instance", "id item instance verdict reviewer reason edits at signature"),
}
tables = dict(state, **({} if mode == "state" else log))
def size(c):
    return "(CASE typeof(%s) WHEN 'integer' THEN 8 WHEN 'real' THEN 8 WHEN 'null' THEN 0 ELSE length(CAST(%s AS BLOB)) END)" % (c, c)
parts = []
for t, (key, cols) in tables.items():
    expr = " + ".join(size(c) for c in cols.split())
    parts.append("SELECT '%s' AS t, count(*) AS n, coalesce(sum(%s), 0) AS b FROM %s WHERE %s = '%s'" % (t, expr, t, key, inst))
u = " UNION ALL ".join(parts)
if mode == "breakdown":
    print("SELECT printf('%%-10s %%3d rows %%6d bytes', t, n, b) FROM (%s)" % u)
else:
    print("SELECT sum(b) FROM (%s)" % u)
PY
}
store_bytes() { sqlite3 "$1" "$(store_bytes_sql "$2")"; }

# ---- main -------------------------------------------------------------------
echo "bench: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(date -u +%Y-%m-%dT%H:%MZ)"
for s in ${BENCH_SECTIONS:-$SECTIONS}; do
  declare -F "bench_$s" >/dev/null || die "no section '$s' (known: $SECTIONS)"
  "bench_$s"
done
echo
echo "== summary"
printf '%-44s %8s %8s   %s\n' "measure" "ratio" "goal" "status"
cat "$SUMMARY"
