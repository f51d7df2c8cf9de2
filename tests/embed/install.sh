#!/usr/bin/env bash
# tests/embed/install.sh — what `make install PREFIX=...` put in PREFIX is
# usable the way a user would use it: pkg-config finds hitl.pc, the C
# example (bindings/examples/embed.c) builds against the installed header
# and shared library with `pkg-config --cflags --libs hitl` and runs, and
# the installed tools run; bindings/examples/embed_store.c runs to a
# checkpoint over a store and a second process approves it.  Called by
# `make test-embed` after the install.
set -u
: "${PREFIX:?}" "${WORK:?}"
CC=${CC:-cc}
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }

for f in bin/hitlc bin/hitlvm lib/libhitl.a lib/libhitl.so lib/libhitl.so.0 include/hitl.h lib/pkgconfig/hitl.pc; do
  if [ -e "$PREFIX/$f" ]; then ok "installed $f"; else bad "missing $f"; fi
done

export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
want=$(sed -n 's/^#define HITL_VERSION_STRING "\(.*\)"/\1/p' include/hitl.h)
if [ "$(pkg-config --modversion hitl)" = "$want" ]; then ok "pkg-config --modversion hitl = $want"; else bad "pkg-config --modversion: $(pkg-config --modversion hitl 2>&1)"; fi

flags=$(pkg-config --cflags --libs hitl)
if $CC -std=c11 -Wall -Wextra -Werror bindings/examples/embed.c $flags -o "$WORK/embed" 2>"$WORK/cc.err"; then
  ok "embed.c builds with: $flags"
else
  bad "embed.c does not build: $(cat "$WORK/cc.err")"
fi
if readelf -d "$WORK/embed" 2>/dev/null | grep -q 'NEEDED.*libhitl.so.0'; then ok "embed needs libhitl.so.0 (the soname)"; else bad "embed does not link libhitl.so.0"; fi

out=$(LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/embed" 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '^result: {"refunded":99.5,"receipt":"R-1"}$' && echo "$out" | grep -q "^hitl $want$"; then
  ok "embed runs: suspends, snapshots, restores, resumes"
else
  bad "embed (exit $rc): $out"
fi

# the static library with the private dependencies
if $CC -std=c11 bindings/examples/embed.c $(pkg-config --cflags hitl) "$PREFIX/lib/libhitl.a" \
     $(pkg-config --libs-only-l --static hitl | sed 's/-lhitl//') -o "$WORK/embed-static" 2>"$WORK/cc.err" &&
   "$WORK/embed-static" >/dev/null 2>&1; then
  ok "embed links statically with libhitl.a and Libs.private"
else
  bad "static link: $(cat "$WORK/cc.err")"
fi

# the store: one process runs to the checkpoint, another approves and its
# own binding of the action runs there (bindings/examples/embed_store.c)
if $CC -std=c11 -Wall -Wextra -Werror bindings/examples/embed_store.c $flags -o "$WORK/embed_store" 2>"$WORK/cc.err"; then
  ok "embed_store.c builds with: $flags"
else
  bad "embed_store.c does not build: $(cat "$WORK/cc.err")"
fi
db="$WORK/refunds.db"
run_out=$(LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/embed_store" "$db" run 2>&1)
rc=$?
item=$(echo "$run_out" | sed -n 's/^suspended: .*"pending":\[{"id":\([0-9]*\),.*/\1/p')
inst=$(echo "$run_out" | sed -n 's/^suspended: {"instance":"\([0-9a-f]*\)".*/\1/p')
if [ $rc = 0 ] && [ -n "$item" ] && [ -n "$inst" ] && ! echo "$run_out" | grep -q '^issue_refund' &&
   echo "$run_out" | grep -q "^alice may decide: \[{\"id\":$item,"; then
  ok "embed_store run: suspended at item $item, nothing refunded"
else
  bad "embed_store run (exit $rc): $run_out"
fi
approve_out=$(LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/embed_store" "$db" approve "$item" 2>&1)
rc=$?
pid_line=$(echo "$approve_out" | grep '^issue_refund{"order_id":"A-1","amount":120.5} in process ')
if [ $rc = 0 ] && [ "$(echo "$pid_line" | grep -c .)" = 1 ] &&
   echo "$approve_out" | grep -q '^completed: {"instance":"'"$inst"'","status":"completed","result":{"refunded":120.5,"receipt":"R-1"},"pending":\[\]}$'; then
  ok "embed_store approve, another process: the refund issued there once, completed"
else
  bad "embed_store approve (exit $rc): $approve_out"
fi
again=$(LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/embed_store" "$db" approve "$item" 2>&1)
if [ $? = 1 ] && echo "$again" | grep -q "verdict: item $item already decided" && ! echo "$again" | grep -q '^issue_refund'; then
  ok "a second approval is refused, nothing refunded"
else
  bad "second approval: $again"
fi
if [ "$("$PREFIX/bin/hitlvm" log "$inst" --store "$db" --json | jq -r .kind | tr '\n' ' ')" = \
     "started action checkpoint verdict resumed action completed " ]; then
  ok "the installed hitlvm reads the instance's log from the same store"
else
  bad "hitlvm log: $("$PREFIX/bin/hitlvm" log "$inst" --store "$db" 2>&1)"
fi

if "$PREFIX/bin/hitlc" --version >/dev/null 2>&1; then ok "installed hitlc runs"; else bad "installed hitlc"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
