# tests/cli/lib.bash — the harness every tests/cli/*.sh sources: where the
# checkout and the binaries are, a fresh temporary folder (the test runs in
# it), checks that print `ok`/`not ok` and the final `N passed, M failed`,
# hitlc and hitlvm run with their output in ./out and ./err, and the store
# helpers of the reviewers' desk tests.  Not a test itself (the Makefile runs
# tests/cli/*.sh); tests/cli/walks.bash adds the helpers of the walks.
#
#   . "$(dirname "$0")/lib.bash"
#   need "$HITLVM" jq          # bail out (one failure) without them
#   use_store                  # hitlvm's store: $TMP/store.db ($DB)
#   hv run x.hitl; check "runs" status_is 0
#   finish                     # the count; the script's status

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
START=$PWD
# from_start PATH: PATH, relative to the folder the test started in, made absolute
from_start() { case $1 in /*) echo "$1" ;; *) echo "$START/$1" ;; esac; }
BIN=$(from_start "${BINDIR:-bin}")   # the tests run elsewhere
HITLC="$BIN/hitlc"
HITLVM="$BIN/hitlvm"
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}

# ---- counting ------------------------------------------------------------------
passed=0
failed=0
# show FILE [N]: the first N (30) lines of FILE, indented as a TAP comment
show()   { sed 's/^/    # /' "$1" | head -"${2:-30}"; }
ok()     { passed=$((passed + 1)); echo "ok - $1"; }
# not_ok NAME: a failure, with what the last command left in ./err and ./out
not_ok() {
  failed=$((failed + 1)); echo "not ok - $1"
  [ -s err ] && sed 's/^/    # stderr: /' err | head -20
  [ -s out ] && sed 's/^/    # stdout: /' out | head -20
  return 0
}
# check NAME CONDITION...: ok when the shell condition holds
check()  { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# finish: the count, and the status of the script (0 when nothing failed)
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
# bail WHY: the test cannot run: one failure, and the end of the test
bail()   { echo "not ok - $1"; echo "0 passed, 1 failed"; exit 1; }
# need PROGRAM...: each an executable file or a command on PATH, else bail
need() {
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 || bail "$p is missing (or not an executable)"
  done
}

# golden NAME KIND OUT GOLDEN: OUT is the same as the file GOLDEN (a
# difference is shown); with UPDATE_GOLDEN=1, OUT becomes GOLDEN instead
golden() {
  local name=$1 kind=$2 out=$3 golden=$4
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$out" "$golden"
    ok "$name: $kind golden written"
  elif [ ! -f "$golden" ]; then
    not_ok "$name: no $golden (make it with UPDATE_GOLDEN=1)"
  elif diff -u "$golden" "$out" >"$TMP/diff"; then
    ok "$name: $kind matches the golden"
  else
    not_ok "$name: $kind differs from the golden (UPDATE_GOLDEN=1 to accept)"
    show "$TMP/diff" 60
  fi
}

# ---- the temporary folder ----------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hitl-$TEST_NAME.XXXXXX")
trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1

# ---- running the tools: stdout in ./out, stderr in ./err, status in $rc -------------
hc() { "$HITLC" "$@" >out 2>err; rc=$?; }
hv() { "$HITLVM" "$@" >out 2>err; rc=$?; }
status_is() { [ "$rc" -eq "$1" ]; }
err_has()   { grep -qF -- "$1" err; }
err_line()  { grep -qxF -- "$1" err; }   # a whole line of stderr
err_empty() { [ ! -s err ]; }
out_has()   { grep -qF -- "$1" out; }
out_is()    { [ "$(cat out)" = "$1" ]; }
out_empty() { [ ! -s out ]; }
# jq_is FILTER WANT: the filter applied to stdout prints exactly WANT
jq_is()     { [ "$(jq -c "$1" out 2>/dev/null)" = "$2" ]; }
jq_true()   { jq -e "$1" out >/dev/null 2>&1; }
jq_lines()  { [ "$(jq -sc "$1" out 2>/dev/null)" = "$2" ]; }   # over JSON lines
jq_any()    { jq -se "any(.[]; $1)" out >/dev/null 2>&1; }     # some line of JSON lines

# ---- the store ---------------------------------------------------------------------
# use_store [--option]: hitlvm's store is $DB, $TMP/store.db, named by
# $HITL_STORE; with --option, $HITL_STORE is unset and hv names the store
# with --store instead (for the tests of where the store is)
use_store() {
  need "$HITLVM" jq sqlite3
  DB="$TMP/store.db"
  if [ "${1:-}" = --option ]; then
    unset HITL_STORE
    hv() { "$HITLVM" "$@" --store "$DB" >out 2>err; rc=$?; }
  else
    export HITL_STORE="$DB"
  fi
}
# the whole store as text, to show a refused command changed nothing
dump()      { sqlite3 "$DB" .dump; }
# refused NAME MESSAGE ARGS...: hv ARGS exits 2 with MESSAGE on stderr (any
# message when MESSAGE is empty), nothing on stdout, the store unchanged
refused() {
  local name=$1 want=$2; shift 2
  local before after; before=$(dump)
  hv "$@"
  after=$(dump)
  if [ "$rc" -eq 2 ] && [ -s err ] && err_has "$want" && [ ! -s out ] && [ "$before" = "$after" ]; then ok "$name"
  else not_ok "$name (status $rc, store $([ "$before" = "$after" ] && echo same || echo changed))"; fi
}
