#!/usr/bin/env bash
# tests/cli/pathological.sh — hostile input to hitlc: each case must end
# with a diagnostic (exit 1) or success, never a crash, a sanitizer report or
# a hang.
#
#   BINDIR=bin bash tests/cli/pathological.sh
set -u

# shellcheck source=tests/cli/lib.bash
. "$(dirname "$0")/lib.bash"
need "$HITLC" python3 timeout

# hostile NAME EXPECTED-EXIT EXPECTED-STDERR-PHRASE (python3 writes NAME.hitl)
hostile() {
  local name=$1 want=$2 phrase=$3
  timeout 60 "$HITLC" --check "$name.hitl" >/dev/null 2>"$name.err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then not_ok "$name: exit $rc, want $want"; show "$name.err" 5
  elif grep -q -e 'Sanitizer' -e 'runtime error:' "$name.err"; then not_ok "$name: sanitizer report"; show "$name.err" 20
  elif [ -n "$phrase" ] && ! grep -q -- "$phrase" "$name.err"; then not_ok "$name: stderr lacks '$phrase'"; show "$name.err" 5
  else ok "$name"; fi
}

python3 - "$TMP" <<'PY'
import sys
d = sys.argv[1]
h = 'playbook p "hostile"\n'
def w(name, body, mode='w'):
    with open(f'{d}/{name}.hitl', 'wb') as f:
        f.write(body if isinstance(body, bytes) else body.encode())
w('brackets', h + 'let x = ' + '[' * 10000 + ']' * 10000 + '\n')
w('parens', h + 'let x = ' + '(' * 10000 + '1' + ')' * 10000 + '\n')
w('braces', h + 'if true ' + '{ if true ' * 5000 + '{}' + ' }' * 5000 + '\n')
w('unary', h + 'let x = ' + '- ' * 100000 + '1\n')
w('nots', h + 'let x = ' + 'not ' * 100000 + 'true\n')
w('sum', h + 'let x = ' + '1 + ' * 1000000 + '1\n')
w('long_string', h + 'let x = "' + 'a' * 10_000_000 + '"\nlog x\n')
w('long_comment', h + '#' + 'c' * 10_000_000 + '\nlog 1\n')
w('long_name', h + 'let ' + 'n' * 10_000_000 + ' = 1\n')
w('nul_bytes', (h + 'let x = 1\n').encode() + b'\x00' * 1000 + b'\nlog x\n')
w('bad_utf8', (h + 'let x = "').encode() + bytes(range(0x80, 0x100)) + b'"\n')
w('interp_nest', h + 'let x = ' + '"{' * 5000 + '1' + '}"' * 5000 + '\n')
w('many_errors', h + 'let x x\n' * 100000)
w('empty', '')
w('only_nl', '\n' * 100000)
PY

hostile brackets 1 "nested too deeply"
hostile parens 1 "nested too deeply"
hostile braces 1 "nested too deeply"
hostile unary 1 "nested too deeply"
hostile nots 1 "nested too deeply"
hostile sum 1 "nested too deeply"
hostile long_string 0 ""
hostile long_comment 0 ""
hostile long_name 0 ""
hostile nul_bytes 1 "NUL byte"
hostile bad_utf8 1 "invalid UTF-8"
hostile interp_nest 1 "nested too deeply"
hostile many_errors 1 "too many errors"
hostile empty 1 "unexpected end of file"
hostile only_nl 1 "unexpected end of file"

finish
