#!/usr/bin/env bash
# tests/cli/ffi.sh — `from` actions through libffi, run by hitlvm: the
# library is found in the playbook's folder; a missing symbol or library is
# an `action` error naming it; a mock, when given, answers instead of the
# library.
#
#   BINDIR=bin LIBTESTACTIONS=build/tests/libtestactions.so bash tests/cli/ffi.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
need "$HITLVM" jq
LIB=$(from_start "${LIBTESTACTIONS:-build/tests/libtestactions.so}")
[ -f "$LIB" ] || bail "$LIB is missing (make $LIB)"
mkdir -p pb
cp "$LIB" pb/libtestactions.so
cat >pb/ffi.hitl <<'HITL'
playbook ffi "actions from a C library"
action add(a: int, b: int) -> int from "libtestactions.so" symbol "ta_add"
action greet(name: string) -> string from "libtestactions.so" symbol "ta_greet"
action scale(x: float, k: float) -> float from "libtestactions.so" symbol "ta_scale"
return [add(40, 2), greet("ada"), scale(1.5, 4.0)]
HITL
hv run "$TMP/pb/ffi.hitl" --json --store s.db
check "from actions run (exit $rc)" status_is 0
check "their results: $(jq -c .result out)" \
  jq_true '.result[0] == 42 and (.result[1] | test("ada")) and .result[2] == 6.0'

cat >pb/missing.hitl <<'HITL'
playbook missing "a symbol that is not there"
action nope(a: int) -> int from "libtestactions.so" symbol "ta_no_such_symbol"
return nope(1)
HITL
hv run "$TMP/pb/missing.hitl" --json --store s.db
check "a missing symbol fails the run (exit $rc)" status_is 1
check "kind action, naming the symbol" \
  jq_true '.error.kind == "action" and (.error.message | test("ta_no_such_symbol"))'

cat >pb/nolib.hitl <<'HITL'
playbook nolib "a library that is not there"
action nope(a: int) -> int from "libhitl-no-such-library.so" symbol "f"
return nope(1)
HITL
hv run "$TMP/pb/nolib.hitl" --json --store s.db
check "a missing library is an action error naming it" \
  jq_true '.error.kind == "action" and (.error.message | test("libhitl-no-such-library"))'

echo '{"add": 7}' > mock.json
hv run "$TMP/pb/ffi.hitl" --mock mock.json --json --store s.db
check "a mock answers instead of the library" jq_true '.result[0] == 7'

finish
