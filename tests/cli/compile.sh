#!/usr/bin/env bash
# tests/cli/compile.sh — `hitlc FILE [-o OUT]` as a user runs it: where the
# bytecode goes, exit statuses (TOOLS.md §1), atomic writes, loading a .hbc
# back, and every positive playbook of tests/lang compiling to bytecode that
# the loader's verifier accepts.
#
#   BINDIR=bin bash tests/cli/compile.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
need "$HITLC"

is_hbc()    { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177HBC' ]; }
no_temps()  { [ -z "$(find . -name '*.tmp-*' -print -quit)" ]; }

printf 'playbook good "a clean playbook"\nlet x = 1 + 2\nlog x\nreturn x\n' >good.hitl
printf 'playbook bad "a type error"\nlet x = 1 + "a"\n' >bad.hitl
printf 'playbook rev "a review"\nreview "look" {\n  log 1\n}\n' >review.hitl

# ---- where the output goes -----------------------------------------------
hc good.hitl -o out.hbc
check "-o: exits 0" status_is 0
check "-o: writes the file" test -s out.hbc
check "-o: the file starts with the magic number" is_hbc out.hbc
check "-o: prints nothing" test ! -s out
check "-o: no temporary file is left" no_temps

mkdir -p sub
cp good.hitl sub/prog.hitl
hc sub/prog.hitl
check "default output: exits 0" status_is 0
check "default output: FILE.hbc beside the source" test -s sub/prog.hbc
check "default output: nothing in the working folder" test ! -e prog.hbc

cp good.hitl plain.txt
hc plain.txt
check "a name without .hitl gets .hbc added" test -s plain.txt.hbc

hc good.hitl -o out.hbc
check "an existing output is replaced" status_is 0

# ---- errors ------------------------------------------------------------------
hc bad.hitl -o bad.hbc
check "errors in the playbook: exit 1" status_is 1
check "errors in the playbook: the diagnostic" err_has "bad.hitl:2:11: error:"
check "errors in the playbook: no output" test ! -e bad.hbc
cp out.hbc keep.hbc
hc bad.hitl -o out.hbc
check "errors in the playbook: an existing output is left as it was" cmp -s out.hbc keep.hbc

hc review.hitl -o review.hbc
check "review statement: compiles" status_is 0
check "review statement: the bytecode" is_hbc review.hbc

hc missing.hitl -o x.hbc
check "a missing source: exit 2" status_is 2

hc good.hitl -o nodir/x.hbc
check "an output in a missing folder: exit 2" status_is 2
check "an output in a missing folder: says why" err_has "hitlc: cannot write 'nodir/x.hbc'"
mkdir -p adir.hbc
hc good.hitl -o adir.hbc
check "an output that is a folder: exit 2" status_is 2
check "an output that is a folder: says why" err_has "Is a directory"
check "an output that is a folder: no temporary file is left" no_temps
if [ "$(id -u)" != 0 ]; then   # root writes anywhere
  mkdir -p ro && chmod a-w ro
  hc good.hitl -o ro/x.hbc
  check "an unwritable folder: exit 2" status_is 2
fi
mkfifo pipe.hbc 2>/dev/null && {
  cat pipe.hbc >piped &
  hc good.hitl -o pipe.hbc
  wait
  check "an output that is not a regular file is written, not replaced" test -p pipe.hbc
  check "an output that is not a regular file gets the bytecode" is_hbc piped
}

hc good.hitl --check -o x.hbc
check "-o with --check is a usage error" status_is 2

# ---- loading bytecode back ---------------------------------------------------
hc --disasm out.hbc
check "--disasm of the .hbc: exit 0" status_is 0
check "--disasm of the .hbc: the listing" grep -q 'RETURN' out
head -c 20 out.hbc >trunc.hbc
hc --disasm trunc.hbc
check "--disasm of a truncated .hbc: exit 2" status_is 2
check "--disasm of a truncated .hbc: the loader's message" err_has "hitlc: cannot load 'trunc.hbc':"
printf 'not bytecode at all' >junk.hbc
hc --disasm junk.hbc
check "--disasm of a file that is not bytecode: exit 2" status_is 2
: >empty.hbc
hc --disasm empty.hbc
check "--disasm of an empty .hbc: exit 2" status_is 2
# flip one byte in the middle: the checksum or the verifier refuses it
size=$(wc -c <out.hbc)
cp out.hbc flip.hbc
printf '\377' | dd of=flip.hbc bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
hc --disasm flip.hbc
check "--disasm of a corrupted .hbc: exit 2" status_is 2
hc --disasm bad.hitl
check "--disasm of a playbook with errors: exit 1" status_is 1

# ---- every positive playbook of the language tests ---------------------------
mkdir -p lang
for src in "$ROOT"/tests/lang/ok/*.hitl "$ROOT"/tests/lang/spec/*.hitl; do
  name=$(basename "$(dirname "$src")")/$(basename "$src" .hitl)
  grep -q '^# error:' "$src" && continue   # a spec example of an error
  out="lang/${name//\//_}.hbc"
  hc "$src" -o "$out"
  if [ "$rc" -ne 0 ]; then
    not_ok "$name: does not compile (status $rc)"
    continue
  fi
  hc --disasm "$out"
  check "$name: the loader and verifier accept its bytecode" status_is 0
done

finish
