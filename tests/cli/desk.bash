# tests/cli/desk.bash — the harness shared by the reviewers' desk tests
# (reviewers.sh, signatures.sh): hitlvm on a fresh temporary store, and checks
# that print `ok`/`not ok`.  Source it after setting TEST_NAME; it cds into
# the temporary folder.  Not a test itself (the Makefile runs tests/cli/*.sh).

BIN="${BINDIR:-bin}"
case $BIN in /*) ;; *) BIN="$PWD/$BIN" ;; esac
HITLVM="$BIN/hitlvm"
if [ ! -x "$HITLVM" ]; then
  echo "not ok - $HITLVM is not an executable"; echo "0 passed, 1 failed"; exit 1
fi
for t in jq sqlite3; do
  command -v $t >/dev/null || { echo "not ok - $t is needed"; echo "0 passed, 1 failed"; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hitlvm-${TEST_NAME:-desk}.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
export HITL_STORE="$TMP/store.db"
DB="$HITL_STORE"

passed=0
failed=0
ok()     { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() {
  failed=$((failed + 1)); echo "not ok - $1"
  [ -s err ] && sed 's/^/    # stderr: /' err | head -20
  [ -s out ] && sed 's/^/    # stdout: /' out | head -20
  return 0
}
hv()        { "$HITLVM" "$@" >out 2>err; rc=$?; }
check()     { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
status_is() { [ "$rc" -eq "$1" ]; }
err_has()   { grep -qF -- "$1" err; }
out_has()   { grep -qF -- "$1" out; }
jq_is()     { [ "$(jq -c "$1" out 2>/dev/null)" = "$2" ]; }
# the whole store as text, to show a refused command changed nothing
dump()      { sqlite3 "$DB" .dump; }
# refused NAME MESSAGE ARGS...: exit 2, MESSAGE on stderr, the store unchanged
refused() {
  local name=$1 want=$2; shift 2
  local before; before=$(dump)
  hv "$@"
  if [ "$rc" -eq 2 ] && err_has "$want" && [ "$(dump)" = "$before" ]; then ok "$name"
  else not_ok "$name (status $rc)"; fi
}
