# tests/crash/lib.bash — the preamble every tests/crash/*.sh sources: the
# binaries ($HITLC, $HITLVM), the repository's top as the current folder, a
# fresh temporary folder $tmp with the store in it ($HITL_STORE), checks that
# print `ok`/`not ok`, the final `N passed, M failed`, the witness file and
# kill -9 aimed just after a mocked call.  Not a test itself (the Makefile
# runs the tests of CRASH_TESTS).
#
#   . "$(dirname "$0")/lib.bash"
#   use_witness; check "one call" [ "$(wc -l <"$HITL_WITNESS")" = 1 ]; finish

set -u
BINDIR=${BINDIR:-bin}
HITLVM=$(cd "$BINDIR" && pwd)/hitlvm
HITLC=$(cd "$BINDIR" && pwd)/hitlc
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hitl-$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export HITL_STORE="$tmp/store.db"
unset HITL_WITNESS HITL_ACTION_DELAY_US

pass=0 fail=0
# ok [WHAT]: a pass, printed when it has a name (race.sh counts its rounds quietly)
ok()     { pass=$((pass + 1)); [ $# -eq 0 ] || echo "ok - $*"; }
not_ok() { echo "not ok - $*"; fail=$((fail + 1)); }
# check WHAT CONDITION...: ok when the shell condition holds
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
# finish: the count, and the end of the test (status 1 when anything failed)
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

# use_witness: every mocked call appends a line to $HITL_WITNESS (docs/hitlvm.md)
use_witness() { export HITL_WITNESS="$tmp/witness"; : >"$HITL_WITNESS"; }

# kill_after_call CMD...: start CMD with each mocked call sleeping 30 s after
# writing its witness line; once the witness file has one line more (the call
# happened, its outcome not yet journaled), kill -9 it
kill_after_call() {
  local n
  n=$(($(wc -l <"$HITL_WITNESS") + 1))
  HITL_ACTION_DELAY_US=30000000 "$@" >/dev/null 2>>"$tmp/err" &
  local pid=$! i
  for ((i = 0; i < 1000; i++)); do
    [ "$(wc -l <"$HITL_WITNESS")" -ge "$n" ] && break
    sleep 0.01
  done
  kill -9 "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null
}
