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

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
need "$HITLC"
# the listing names the source as given, so run from the repository's root
cd "$ROOT" || exit 1

for src in tests/disasm/*.hitl; do
  name=$(basename "$src" .hitl)
  golden=tests/disasm/$name.golden
  if ! "$HITLC" --disasm "$src" >"$TMP/$name.out" 2>"$TMP/err"; then
    not_ok "$name: hitlc --disasm failed"
    show "$TMP/err"
    continue
  fi
  golden "$name" listing "$TMP/$name.out" "$golden"

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

finish
