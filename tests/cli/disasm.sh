#!/usr/bin/env bash
# tests/cli/disasm.sh — golden bytecode listings.
#
# Every tests/disasm/NAME.hitl is compiled with `hitlc --disasm` and its
# listing compared with tests/disasm/NAME.golden; then it is compiled to a
# .hbc and that file's listing (bc_write, bc_read and the verifier on the
# way) must be the same.  After an intended change to the code generator or
# the listing, regenerate the goldens and review the diff:
#
#   UPDATE_GOLDEN=1 BINDIR=bin bash tests/cli/disasm.sh
set -u

HITLC="${BINDIR:-bin}/hitlc"
case $HITLC in /*) ;; *) HITLC="$PWD/$HITLC" ;; esac
if [ ! -x "$HITLC" ]; then
  echo "not ok - $HITLC is not an executable"
  echo "0 passed, 1 failed"
  exit 1
fi

# the listing names the source as given, so run from the repository's root
cd "$(dirname "$0")/../.." || exit 1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hitlc-disasm.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
ok()     { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
show()   { sed 's/^/    # /' "$1" | head -"${2:-30}"; }

for src in tests/disasm/*.hitl; do
  name=$(basename "$src" .hitl)
  golden=tests/disasm/$name.golden
  if ! "$HITLC" --disasm "$src" >"$TMP/$name.out" 2>"$TMP/err"; then
    not_ok "$name: hitlc --disasm failed"
    show "$TMP/err"
    continue
  fi
  if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$TMP/$name.out" "$golden"
    ok "$name: golden written"
  elif [ ! -f "$golden" ]; then
    not_ok "$name: no $golden (make it with UPDATE_GOLDEN=1)"
  elif diff -u "$golden" "$TMP/$name.out" >"$TMP/diff"; then
    ok "$name: listing matches the golden"
  else
    not_ok "$name: listing differs from the golden (UPDATE_GOLDEN=1 to accept)"
    show "$TMP/diff" 60
  fi

  # the same listing from the .hbc file: write, read and verify lose nothing
  if "$HITLC" "$src" -o "$TMP/$name.hbc" 2>"$TMP/err" &&
     "$HITLC" --disasm "$TMP/$name.hbc" >"$TMP/$name.hbc.out" 2>>"$TMP/err"; then
    if cmp -s "$TMP/$name.out" "$TMP/$name.hbc.out"; then
      ok "$name: the .hbc file lists the same"
    else
      not_ok "$name: the .hbc file lists differently"
      diff -u "$TMP/$name.out" "$TMP/$name.hbc.out" >"$TMP/diff"
      show "$TMP/diff" 40
    fi
  else
    not_ok "$name: compiling to .hbc and listing it failed"
    show "$TMP/err"
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
