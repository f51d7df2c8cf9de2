#!/usr/bin/env bash
# `from` actions through libffi, run by hitlvm: the library is found in the
# playbook's folder; a missing symbol or library is an `action` error naming
# it; a mock, when given, answers instead of the library.
set -u
HITLVM=${BINDIR:-bin}/hitlvm
LIB=${LIBTESTACTIONS:-build/tests/libtestactions.so}
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # NAME CONDITION-RESULT
  if [ "$2" = 0 ]; then echo "ok - $1"; pass=$((pass + 1)); else echo "not ok - $1"; fail=$((fail + 1)); fi
}
if [ ! -f "$LIB" ]; then echo "not ok - $LIB is missing (make $LIB)"; echo "0 passed, 1 failed"; exit 1; fi
mkdir -p "$tmp/pb"
cp "$LIB" "$tmp/pb/libtestactions.so"
cat > "$tmp/pb/ffi.hitl" <<'HITL'
playbook ffi "actions from a C library"
action add(a: int, b: int) -> int from "libtestactions.so" symbol "ta_add"
action greet(name: string) -> string from "libtestactions.so" symbol "ta_greet"
action scale(x: float, k: float) -> float from "libtestactions.so" symbol "ta_scale"
return [add(40, 2), greet("ada"), scale(1.5, 4.0)]
HITL
out=$("$HITLVM" run "$tmp/pb/ffi.hitl" --json --store "$tmp/s.db" 2>"$tmp/err")
rc=$?
check "from actions run (exit $rc)" "$([ $rc = 0 ] && echo 0 || echo 1)"
check "their results: $(echo "$out" | jq -c .result)" \
  "$(echo "$out" | jq -e '.result[0] == 42 and (.result[1] | test("ada")) and .result[2] == 6.0' >/dev/null && echo 0 || echo 1)"

cat > "$tmp/pb/missing.hitl" <<'HITL'
playbook missing "a symbol that is not there"
action nope(a: int) -> int from "libtestactions.so" symbol "ta_no_such_symbol"
return nope(1)
HITL
out=$("$HITLVM" run "$tmp/pb/missing.hitl" --json --store "$tmp/s.db" 2>/dev/null)
rc=$?
check "a missing symbol fails the run (exit $rc)" "$([ $rc = 1 ] && echo 0 || echo 1)"
check "kind action, naming the symbol" \
  "$(echo "$out" | jq -e '.error.kind == "action" and (.error.message | test("ta_no_such_symbol"))' >/dev/null && echo 0 || echo 1)"

cat > "$tmp/pb/nolib.hitl" <<'HITL'
playbook nolib "a library that is not there"
action nope(a: int) -> int from "libhitl-no-such-library.so" symbol "f"
return nope(1)
HITL
out=$("$HITLVM" run "$tmp/pb/nolib.hitl" --json --store "$tmp/s.db" 2>/dev/null)
check "a missing library is an action error naming it" \
  "$(echo "$out" | jq -e '.error.kind == "action" and (.error.message | test("libhitl-no-such-library"))' >/dev/null && echo 0 || echo 1)"

echo '{"add": 7}' > "$tmp/mock.json"
out=$("$HITLVM" run "$tmp/pb/ffi.hitl" --mock "$tmp/mock.json" --json --store "$tmp/s.db" 2>/dev/null)
check "a mock answers instead of the library" \
  "$(echo "$out" | jq -e '.result[0] == 7' >/dev/null && echo 0 || echo 1)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
