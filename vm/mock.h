/* vm/mock.h — mock action bindings (TOOLS.md §2, `hitlvm run --mock FILE`).
 *
 * A mock file is a JSON object from action name to what a call returns:
 *
 *   {"lookup_order": {"id": "A-1", "email": "a@example.com"},   VALUE: every call
 *    "score_refund": {"results": [0.95, 0.4]},                  one per call, the last repeating
 *    "notify":       {"error": "smtp is down"}}                 every call fails (kind action)
 *
 * An object whose only key is "results" or "error" is the special form and
 * must be well formed ("results" a non-empty list, "error" a string); any
 * other value, including other objects, is a plain VALUE.  A value that is
 * itself such an object is written as a one-element results list:
 * {"results": [{"error": "not a failure"}]}.  See docs/hitlvm.md.
 *
 *   char err[256];
 *   Mocks *mk = mock_parse("mocks.json", text, len, err, sizeof err);
 *   vm_bind_actions(vm, mock_call, mk);
 *   ...
 *   mock_free(mk);
 *
 * The module does not depend on the interpreter: it only produces the JSON
 * texts a VmActionFn returns.  Calls are counted per action; the counts are
 * the only state, and mock_state_json / mock_set_state_json carry them across
 * processes (a resume later uses the mocks as they were left). */
#ifndef HITL_MOCK_H
#define HITL_MOCK_H

#include <stdbool.h>
#include <stddef.h>

typedef struct Mocks Mocks;

/* Parse a mock file's text (len bytes; it may hold NUL bytes, which are
 * refused).  name is the file name messages show.  NULL with a message in
 * err (size n) when the text is malformed or memory runs out. */
Mocks *mock_parse(const char *name, const char *text, size_t len, char *err, size_t n);
void mock_free(Mocks *mk);

/* A VmActionFn (vm/vm.h) over a Mocks passed as user: 0 with the next result
 * as JSON text in *result_json, or non-zero with the message in *result_json
 * (the mock's "error", or "no binding for action 'x'").  Both texts are
 * mem_alloc'd and belong to the caller (mem_free(p, 0)); *result_json is NULL
 * when memory runs out.  args_json only goes to the witness line (below). */
int mock_call(void *user, const char *action, const char *args_json, char **result_json);

/* Test hooks (docs/hitlvm.md, "Test hooks").  With HITL_WITNESS=FILE set,
 * every mock_call of a mocked action appends the line
 * "ID ACTION ARGS_JSON" to FILE and fsyncs it before returning; ID is the
 * one given here (the instance), else the process id.  HITL_ACTION_DELAY_US=N
 * makes each mock_call sleep N µs after that line.  A journal replaying a
 * recorded call must not call mock_call (that would witness a call that was
 * not made) but mock_skip, which only moves the action's counter on.
 * mock_set_witness_id copies id (NULL = back to the pid); false on out of
 * memory. */
bool mock_set_witness_id(Mocks *mk, const char *id);
void mock_skip(Mocks *mk, const char *action);

/* The mocked action names, in the file's order (to warn about a name the
 * program does not declare). */
size_t mock_count(const Mocks *mk);
const char *mock_name(const Mocks *mk, size_t i);

/* Calls made so far to one action (0 when it has no mock). */
unsigned long mock_calls(const Mocks *mk, const char *action);

/* The call counts as a JSON object {"action": calls, …} (actions not called
 * yet are left out); mem_alloc'd, NULL on out of memory. */
char *mock_state_json(const Mocks *mk);
/* Restore counts from mock_state_json's text.  A name with no mock or a
 * count that is not a non-negative integer is refused (false, message). */
bool mock_set_state_json(Mocks *mk, const char *json, char *err, size_t n);

#endif
