#!/usr/bin/env bash
# tests/cli/hitlc.sh — hitlc as a user runs it: options, exit statuses,
# messages, and the diagnostics' format (TOOLS.md §1).
#
#   BINDIR=bin bash tests/cli/hitlc.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
need "$HITLC"

no_escape() { ! grep -q $'\033' err; }

# ---- files ---------------------------------------------------------------
printf 'playbook good "a clean playbook"\nlet x = 1 + 2\nlog x\n' >good.hitl
# the `=` on line 2 is where a name should be
printf 'playbook bad "a syntax error"\nlet = 5\n' >bad.hitl
# errors on three lines (one each, so every one is reported)
printf 'playbook many "three errors"\nlet = 1\nlog 2\nlet = 3\nlog 4\nlet = 5\n' >many.hitl
# a tab before the error column: the tab is copied into the caret line
printf 'playbook tabs "a tab"\n\tlet = 5\n' >tab.hitl
# multibyte characters before the error: é and ü are 2 bytes, 1 column each
printf 'playbook utf "utf-8"\nlet s = "\xc3\xa9\xc3\xbc" 5\n' >utf.hitl

# ---- options --------------------------------------------------------------
hc --version
check "--version exits 0" status_is 0
check "--version prints 'hitlc 0.1.0'" grep -qxF 'hitlc 0.1.0' out

hc --help
check "--help exits 0" status_is 0
check "--help prints usage to stdout" grep -q '^usage: hitlc' out
check "--help writes nothing to stderr" err_empty

hc --bogus good.hitl
check "unknown option exits 2" status_is 2
check "unknown option is named" err_has "hitlc: unknown option '--bogus'"

hc --check
check "missing file argument exits 2" status_is 2
check "missing file argument is explained" err_has "hitlc: no input file"

hc --check good.hitl bad.hitl
check "two file arguments exit 2" status_is 2

hc --check no-such-file.hitl
check "missing file exits 2" status_is 2
check "missing file message" \
  err_line "hitlc: cannot read 'no-such-file.hitl': No such file or directory"

mkdir adir.hitl
hc --check adir.hitl
check "a directory as file exits 2" status_is 2
check "a directory as file is explained" err_has "hitlc: cannot read 'adir.hitl': Is a directory"

# compiling and --disasm: more in tests/cli/compile.sh and disasm.sh
hc good.hitl
check "compiling exits 0" status_is 0
check "compiling writes good.hbc" test -s good.hbc
rm -f good.hbc
hc --disasm good.hitl
check "--disasm exits 0" status_is 0
# --explain: more in tests/cli/explain.sh
hc --explain good.hitl
check "--explain exits 0" status_is 0
check "--explain prints the table's header" grep -q '^line:col  *action  *irreversible' out
hc --explain bad.hitl
check "--explain of a file with errors exits 1" status_is 1
check "--explain of a file with errors prints no table" test ! -s out
hc --json good.hitl
check "--json without --explain is a usage error" status_is 2

# ---- checking --------------------------------------------------------------
hc --check good.hitl
check "good file exits 0" status_is 0
check "good file: empty stderr" err_empty
check "good file: empty stdout" test ! -s out

hc --check bad.hitl
check "bad file exits 1" status_is 1
check "bad file: FILE:LINE:COL: error:" grep -q '^bad\.hitl:2:5: error: ' err
check "bad file: the source line is quoted" err_line "    2 | let = 5"
check "bad file: a caret under the column" err_line "      |     ^"
check "no colour when stderr is not a terminal" no_escape

hc --check many.hitl
check "several errors: exit 1" status_is 1
check "several errors: all reported, in order" \
  test "$(grep -o '^many\.hitl:[0-9]*:[0-9]*: error:' err | tr '\n' ' ')" = \
       "many.hitl:2:5: error: many.hitl:4:5: error: many.hitl:6:5: error: "

hc --check tab.hitl
check "tab: error column counts the tab as one" grep -q '^tab\.hitl:2:6: error: ' err
check "tab: the tab is copied into the caret line" err_line $'      | \t    ^'

hc --check utf.hitl
check "utf-8: the column counts characters" grep -q '^utf\.hitl:2:14: error: ' err
check "utf-8: the caret is under the 14th character" \
  err_line "      |              ^"

# a file with NUL bytes and a very long line is read whole, quoted safely
{ printf 'playbook big "long line"\nlet x = 1 '; head -c 3000000 /dev/zero | tr '\0' ' '; printf '$\n'; } >long.hitl
hc --check long.hitl
check "long line: exit 1" status_is 1
check "long line: the quote is cut to a window" \
  test "$(grep -c '^    2 | \.\.\.' err)" -ge 1 -a "$(wc -c <err)" -lt 5000
printf 'playbook z "nul"\nlet x = 1\x00\n' >nul.hitl
hc --check nul.hitl
check "NUL byte: exit 1, no crash" status_is 1
check "NUL byte: not written raw to the terminal" test "$(tr -d '\0' <err | wc -c)" -eq "$(wc -c <err)"

# ---- --strict ----------------------------------------------------------------
hc --strict --check good.hitl
check "--strict on a clean file exits 0" status_is 0
hc --check --strict bad.hitl
check "--strict with errors exits 1" status_is 1
# an irreversible action that the rules may route auto: a warning
printf 'playbook w "a warning"\naction pay(n: int) { irreversible }\nrules {\n  otherwise -> auto\n}\npay(1)\n' >warn.hitl
hc --check warn.hitl
check "a warning alone exits 0" status_is 0
check "the warning: FILE:LINE:COL: warning:" grep -q '^warn\.hitl:6:1: warning: irreversible action' err
hc --strict --check warn.hitl
check "--strict: a warning exits 1" status_is 1
check "--strict: the warning is reported as an error" grep -q '^warn\.hitl:6:1: error: irreversible' err
check "--strict: says why the status is 1" err_has "1 warning treated as error (--strict)"
hc --strict warn.hitl
check "--strict: compiling with a warning exits 1" status_is 1
check "--strict: nothing is written" test ! -e warn.hbc

# ---- colour ----------------------------------------------------------------
# With stderr on a terminal (script(1) gives one) colour is on, unless NO_COLOR.
if command -v script >/dev/null 2>&1; then
  script -qec "$HITLC --check bad.hitl" /dev/null >tty.out 2>&1 </dev/null
  check "colour when stderr is a terminal" grep -q $'\033\\[' tty.out
  NO_COLOR=1 script -qec "$HITLC --check bad.hitl" /dev/null >tty.out 2>&1 </dev/null
  check "NO_COLOR turns colour off" bash -c "! grep -q \$'\\033' tty.out"
else
  echo "# skipped colour-on-a-terminal checks: no script(1)"
fi

finish
