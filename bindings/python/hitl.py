"""bindings/python/hitl.py — hitl from Python, through ctypes (standard
library only, no build step).

    import hitl
    prog = hitl.Program.compile(source, name="refund.hitl")
    run = hitl.Instance(prog)
    run.bind("lookup_order", lambda id: {"id": id, "total": 120.5})
    status = run.start({"order_id": "A-1"})
    if status == hitl.SUSPENDED:
        print(run.pending)                       # the open item, a dict
        snap = run.snapshot()                    # bytes: keep them anywhere
        ...
        later = hitl.Instance.restore(prog, snap)
        later.bind("lookup_order", ...)          # bindings are not in snapshots
        later.resume("approve")
    elif status == hitl.COMPLETED:
        print(run.result)

A Store is what `hitlvm` works on, from Python: durable instances that one
process starts and another resumes:

    store = hitl.Store("refunds.db")
    store.bind("lookup_order", lookup_order)     # each process binds its actions
    out = store.run(prog, {"order_id": "A-1"}, as_="agent")
    item = out["pending"][0]["id"]               # out["status"] == "suspended"
    ...                                          # later, in any process:
    hitl.Store("refunds.db").resume(item, "approve", as_="alice")

The library is found through $HITL_LIB, else lib/libhitl.so of the
repository this file sits in, else the system's search (ldconfig).  Action
callbacks are libffi closures made by ctypes (CFUNCTYPE); a Python exception
raised in one fails the call with kind "action" and the exception's text as
the message.  Failures of the API itself (bad source, a refused input or
verdict, a corrupt snapshot) raise HitlError (kind, message, line); a
playbook that fails makes start / resume return FAILED with the error in
Instance.error.  Threads: as include/hitl.h says — programs may be shared,
one instance belongs to one thread at a time.
"""

import ctypes
import ctypes.util
import json
import os

__all__ = ["HitlError", "Program", "Instance", "Store", "version",
           "COMPLETED", "SUSPENDED", "FAILED", "REVIEWING"]

COMPLETED = "completed"
SUSPENDED = "suspended"
FAILED = "failed"
REVIEWING = "reviewing"
_STATUS = {0: COMPLETED, 1: SUSPENDED, 2: FAILED, 3: REVIEWING}
_ERROR = -1

ACTION_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                             ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p))
EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)
NOTE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
_EXIT_REFUSED = 2


class _Limits(ctypes.Structure):
    _fields_ = [("fuel", ctypes.c_uint64), ("heap_bytes", ctypes.c_size_t),
                ("max_depth", ctypes.c_uint32), ("max_string", ctypes.c_size_t),
                ("max_list", ctypes.c_uint32)]


class HitlError(Exception):
    """An error with the library's kind ("compile", "input", "action", ...),
    message and source line (0 when none)."""

    def __init__(self, kind, message, line=0):
        super().__init__(f"{kind}: {message}" + (f" (line {line})" if line else ""))
        self.kind = kind
        self.message = message
        self.line = line


def _find_library():
    env = os.environ.get("HITL_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    repo_lib = os.path.normpath(os.path.join(here, "..", "..", "lib", "libhitl.so"))
    if os.path.exists(repo_lib):
        return repo_lib
    found = ctypes.util.find_library("hitl")
    if found:
        return found
    raise OSError("libhitl.so not found: set HITL_LIB to its path, or run `make` in the repository")


def _declare(lib):
    P, S, I, V = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, None
    PP = ctypes.POINTER(ctypes.c_void_p)
    size_p = ctypes.POINTER(ctypes.c_size_t)
    table = {
        "hitl_version": (S, []),
        "hitl_alloc": (P, [ctypes.c_size_t]),
        "hitl_strdup": (P, [S]),
        "hitl_free": (V, [P]),
        "hitl_compile": (I, [S, ctypes.c_size_t, S, S, PP, PP]),
        "hitl_load": (I, [S, ctypes.c_size_t, S, PP, PP]),
        "hitl_program_bytes": (P, [P, size_p]),
        "hitl_program_hash": (S, [P]),
        "hitl_program_name": (S, [P]),
        "hitl_program_free": (V, [P]),
        "hitl_instance_new": (P, [P, ctypes.POINTER(_Limits)]),
        "hitl_instance_free": (V, [P]),
        "hitl_bind": (I, [P, S, ACTION_FN, P]),
        "hitl_bind_default": (V, [P, ACTION_FN, P]),
        "hitl_bind_mocks": (I, [P, S, PP]),
        "hitl_on_event": (V, [P, EVENT_FN, P]),
        "hitl_set_param": (I, [P, S, S, PP]),
        "hitl_start": (I, [P, S, PP]),
        "hitl_resume": (I, [P, S, PP]),
        "hitl_instance_status": (I, [P]),
        "hitl_result_json": (S, [P]),
        "hitl_pending_json": (S, [P]),
        "hitl_error_json": (S, [P]),
        "hitl_pending_digest": (I, [P, S, ctypes.c_int64, ctypes.c_char_p]),
        "hitl_snapshot": (I, [P, PP, size_p, PP]),
        "hitl_restore": (I, [P, S, ctypes.c_size_t, ctypes.POINTER(_Limits), PP, PP]),
        "hitl_reviews_json": (S, [P]),
        "hitl_review": (I, [P, ctypes.c_int64, S, PP]),
        "hitl_store_open": (I, [S, PP, PP]),
        "hitl_store_close": (V, [P]),
        "hitl_store_bind": (I, [P, S, ACTION_FN, P]),
        "hitl_store_bind_default": (V, [P, ACTION_FN, P]),
        "hitl_store_bind_mocks": (I, [P, S, PP]),
        "hitl_store_set_limits": (V, [P, ctypes.POINTER(_Limits)]),
        "hitl_store_on_event": (V, [P, EVENT_FN, P]),
        "hitl_store_on_note": (V, [P, NOTE_FN, P]),
        "hitl_store_run": (I, [P, P, S, S, S, PP, PP]),
        "hitl_store_resume": (I, [P, ctypes.c_int64, S, S, S, S, S, PP, PP]),
        "hitl_store_outcome": (I, [P, S, PP, PP]),
        "hitl_store_pending": (I, [P, S, S, PP, PP]),
        "hitl_store_show": (I, [P, ctypes.c_int64, PP, PP]),
        "hitl_store_instances": (I, [P, S, PP, PP]),
        "hitl_store_log": (I, [P, S, PP, PP]),
        "hitl_store_expire": (I, [P, ctypes.c_int64, PP, PP]),
        "hitl_store_reviewers_add": (I, [P, S, ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t, PP]),
        "hitl_error_kind": (S, [P]),
        "hitl_error_message": (S, [P]),
        "hitl_error_line": (ctypes.c_int64, [P]),
        "hitl_error_free": (V, [P]),
    }
    for name, (res, args) in table.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    return lib


_lib = _declare(ctypes.CDLL(_find_library()))


def version():
    """The library's version, e.g. "0.2.0"."""
    return _lib.hitl_version().decode()


def _take_error(ptr):
    """A HitlError from a hitl_error * (which is freed)."""
    if not ptr:
        return HitlError("memory", "out of memory")
    e = HitlError(_lib.hitl_error_kind(ptr).decode(), _lib.hitl_error_message(ptr).decode(),
                  _lib.hitl_error_line(ptr))
    _lib.hitl_error_free(ptr)
    return e


def _json_arg(value):
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


def _limits(limits):
    if not limits:
        return None
    lim = _Limits()
    for k, v in limits.items():
        if k not in dict(_Limits._fields_):
            raise TypeError(f"unknown limit {k!r}")
        setattr(lim, k, v)
    return ctypes.byref(lim)


def _give_text(text, out):
    """Hand text to the library in memory it frees (hitl_strdup)."""
    out[0] = _lib.hitl_strdup(text.encode())


def _action_closure(call, errors):
    """A CFUNCTYPE callback around call(action_name, args_dict); an exception
    fails the call with its text and is kept in errors."""
    def cb(user, action, args, out):
        try:
            value = call(action.decode(), json.loads(args))
            _give_text(json.dumps(value), out)
            return 0 if out[0] else 1
        except BaseException as e:   # nothing may cross back into C
            errors.append(e)
            _give_text(str(e) or type(e).__name__, out)
            return 1
    return ACTION_FN(cb)


def _take_text(ptr):
    """The text of a char * the library handed out (freed with hitl_free)."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode()
    finally:
        _lib.hitl_free(ptr)


class Program:
    """A compiled playbook: immutable, shareable between instances and threads."""

    def __init__(self, handle):
        self._h = handle

    @classmethod
    def compile(cls, source, name=None, base_dir=None):
        """Compile source text; HitlError of kind "compile" with every
        diagnostic as text.  base_dir is the playbook's folder, where `from`
        libraries are looked for first."""
        src = source.encode() if isinstance(source, str) else bytes(source)
        prog, err = ctypes.c_void_p(), ctypes.c_void_p()
        rc = _lib.hitl_compile(src, len(src), name.encode() if name else None,
                               base_dir.encode() if base_dir else None,
                               ctypes.byref(prog), ctypes.byref(err))
        if rc != 0:
            raise _take_error(err.value)
        return cls(prog.value)

    @classmethod
    def load(cls, data, base_dir=None):
        """Load .hbc bytes (verified first); HitlError of kind "load"."""
        data = bytes(data)
        prog, err = ctypes.c_void_p(), ctypes.c_void_p()
        rc = _lib.hitl_load(data, len(data), base_dir.encode() if base_dir else None,
                            ctypes.byref(prog), ctypes.byref(err))
        if rc != 0:
            raise _take_error(err.value)
        return cls(prog.value)

    @classmethod
    def from_file(cls, path):
        """Compile a .hitl file or load a .hbc file; its folder is the base."""
        with open(path, "rb") as f:
            data = f.read()
        base = os.path.dirname(os.path.abspath(path))
        if path.endswith(".hitl"):
            return cls.compile(data, name=path, base_dir=base)
        return cls.load(data, base_dir=base)

    @property
    def bytes(self):
        """The program as .hbc bytes."""
        n = ctypes.c_size_t()
        p = _lib.hitl_program_bytes(self._h, ctypes.byref(n))
        return ctypes.string_at(p, n.value)

    @property
    def hash(self):
        return _lib.hitl_program_hash(self._h).decode()

    @property
    def name(self):
        return _lib.hitl_program_name(self._h).decode()

    def __del__(self):
        h, self._h = getattr(self, "_h", None), None
        if h and _lib:
            _lib.hitl_program_free(h)


class Instance:
    """One run of a program.  Not to be used from two threads at once."""

    def __init__(self, program, limits=None, _handle=None):
        self.program = program          # the program outlives its instances
        self._h = _handle or _lib.hitl_instance_new(program._h, _limits(limits))
        if not self._h:
            raise MemoryError("hitl_instance_new")
        self._keep = {}                 # CFUNCTYPE closures, alive as long as bound
        self.error = None               # the HitlError of a FAILED run
        self.action_errors = []         # Python exceptions raised by actions, in order

    @classmethod
    def restore(cls, program, snapshot, limits=None):
        """A suspended instance from snapshot bytes (HitlError of kind
        "snapshot" when refused).  Bind its actions again, then resume."""
        snapshot = bytes(snapshot)
        h, err = ctypes.c_void_p(), ctypes.c_void_p()
        rc = _lib.hitl_restore(program._h, snapshot, len(snapshot), _limits(limits),
                               ctypes.byref(h), ctypes.byref(err))
        if rc != 0:
            raise _take_error(err.value)
        return cls(program, _handle=h.value)

    # ---- bindings --------------------------------------------------------

    def _closure(self, call):
        return _action_closure(call, self.action_errors)

    def bind(self, action, fn):
        """Bind an action to fn, called with the arguments as keywords; its
        return value (JSON-able) is the result.  fn None removes the binding."""
        if fn is None:
            cb = ACTION_FN()
        else:
            cb = self._closure(lambda name, args: fn(**args))
        if _lib.hitl_bind(self._h, action.encode(), cb, None) != 0:
            raise HitlError("usage", f"the playbook declares no action {action!r}")
        self._keep[action] = cb
        return fn

    def action(self, name=None):
        """Decorator form of bind: @run.action() def lookup_order(id): ..."""
        def deco(fn):
            self.bind(name or fn.__name__, fn)
            return fn
        return deco

    def bind_default(self, fn):
        """fn(action_name, args_dict) for every action nothing else binds."""
        cb = self._closure(fn) if fn else ACTION_FN()
        _lib.hitl_bind_default(self._h, cb, None)
        self._keep[None] = cb

    def bind_mocks(self, mocks):
        """Mocks as hitlvm --mock takes them (a dict or its JSON text)."""
        err = ctypes.c_void_p()
        if _lib.hitl_bind_mocks(self._h, _json_arg(mocks), ctypes.byref(err)) != 0:
            raise _take_error(err.value)

    def on_event(self, fn):
        """fn(kind, fields_dict) for each event of the instance's log."""
        if fn is None:
            cb = EVENT_FN()
        else:
            def cb_py(user, kind, fields):
                try:
                    fn(kind.decode(), json.loads(fields))
                except BaseException as e:
                    self.action_errors.append(e)
            cb = EVENT_FN(cb_py)
        _lib.hitl_on_event(self._h, cb, None)
        self._keep["<events>"] = cb

    def set_param(self, name, value):
        """--param NAME=VALUE: value as text for a string param, else a JSON
        literal (a non-str value is JSON-encoded)."""
        err = ctypes.c_void_p()
        text = value if isinstance(value, str) else json.dumps(value)
        if _lib.hitl_set_param(self._h, name.encode(), text.encode(), ctypes.byref(err)) != 0:
            raise _take_error(err.value)

    # ---- running ---------------------------------------------------------

    def _status(self, rc, err):
        if rc == _ERROR:
            raise _take_error(err.value)
        self.error = _take_error(err.value) if err.value else None
        return _STATUS[rc]

    def start(self, input=None):
        """Run with input (a dict or JSON text) until it completes, fails or
        suspends: COMPLETED, SUSPENDED, FAILED or REVIEWING."""
        err = ctypes.c_void_p()
        rc = _lib.hitl_start(self._h, None if input is None else _json_arg(input), ctypes.byref(err))
        return self._status(rc, err)

    def resume(self, verdict, **fields):
        """Give the pending item a verdict and run on: verdict is "approve",
        "modify" or "reject" (with reason=..., edits={...}, reviewers=[...]
        as keywords) or a whole verdict dict."""
        if isinstance(verdict, str):
            verdict = dict(fields, kind=verdict)
        err = ctypes.c_void_p()
        rc = _lib.hitl_resume(self._h, _json_arg(verdict), ctypes.byref(err))
        return self._status(rc, err)

    @property
    def status(self):
        rc = _lib.hitl_instance_status(self._h)
        return None if rc == _ERROR else _STATUS[rc]

    @property
    def result(self):
        return json.loads(_lib.hitl_result_json(self._h))

    @property
    def pending(self):
        """The open item's payload (a dict), or None."""
        return json.loads(_lib.hitl_pending_json(self._h))

    @property
    def reviews(self):
        """The open review items: a list of {"item": N, "payload": {...}}."""
        text = _lib.hitl_reviews_json(self._h)
        if text is None:
            raise HitlError("memory", "out of memory")
        return json.loads(text)

    def review(self, item, verdict, **fields):
        """Give review item N a verdict: "pass" or "flag" (reason=...), or a
        whole verdict dict.  A flag runs the flag block (or the routed
        action's undo) now.  Returns the status after it."""
        if isinstance(verdict, str):
            verdict = dict(fields, kind=verdict)
        err = ctypes.c_void_p()
        rc = _lib.hitl_review(self._h, item, _json_arg(verdict), ctypes.byref(err))
        return self._status(rc, err)

    def pending_digest(self, instance_id, item):
        hexbuf = ctypes.create_string_buffer(65)
        if _lib.hitl_pending_digest(self._h, instance_id.encode(), item, hexbuf) != 0:
            raise HitlError("usage", "nothing is pending")
        return hexbuf.value.decode()

    def snapshot(self):
        """The whole state as bytes, of a suspended instance or one with
        review items open."""
        p, n, err = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_void_p()
        if _lib.hitl_snapshot(self._h, ctypes.byref(p), ctypes.byref(n), ctypes.byref(err)) != 0:
            raise _take_error(err.value)
        try:
            return ctypes.string_at(p.value, n.value)
        finally:
            _lib.hitl_free(p.value)

    def close(self):
        h, self._h = getattr(self, "_h", None), None
        if h and _lib:
            _lib.hitl_instance_free(h)
        self._keep = {}

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Store:
    """A durable store: what `hitlvm` works on (SQLite), used from Python.
    Instances started here suspend at checkpoints and are resumed later by
    any process — this module, another host, or `hitlvm resume` — and the
    other way round.  Every change is one transaction.

    Bindings belong to the handle, by action name, for every instance it
    runs: the process that resumes an instance binds the actions that run
    from then on (a bound Python function wins over the instance's mocks and
    its `from` function).  Refusals raise HitlError (kind "input", "verdict",
    "usage", "store"); a playbook that fails returns an outcome whose status
    is "failed", with the error in it (and in Store.error).  One handle
    belongs to one thread at a time; open one per thread."""

    def __init__(self, path=None):
        """Open (creating it when missing) the store at path; None means
        $HITL_STORE, else ./.hitl/store.db, as hitlvm."""
        h, err = ctypes.c_void_p(), ctypes.c_void_p()
        if _lib.hitl_store_open(path.encode() if path else None, ctypes.byref(h), ctypes.byref(err)) != 0:
            self._h = None
            raise _take_error(err.value)
        self._h = h.value
        self._keep = {}                 # CFUNCTYPE closures, alive as long as bound
        self.action_errors = []         # Python exceptions raised by actions, in order
        self.notes = []                 # warnings and recovery notes, in order
        self.error = None               # the HitlError of the last failed playbook
        self.on_note(self.notes.append)

    # ---- bindings --------------------------------------------------------

    def bind(self, action, fn):
        """Bind an action by name to fn, called with the arguments as
        keywords; fn None removes the binding."""
        cb = ACTION_FN() if fn is None else _action_closure(lambda name, args: fn(**args), self.action_errors)
        if _lib.hitl_store_bind(self._h, action.encode(), cb, None) != 0:
            raise MemoryError("hitl_store_bind")
        self._keep[action] = cb
        return fn

    def action(self, name=None):
        """Decorator form of bind."""
        def deco(fn):
            self.bind(name or fn.__name__, fn)
            return fn
        return deco

    def bind_default(self, fn):
        """fn(action_name, args_dict) for every action nothing else answers."""
        cb = _action_closure(fn, self.action_errors) if fn else ACTION_FN()
        _lib.hitl_store_bind_default(self._h, cb, None)
        self._keep[None] = cb

    def bind_mocks(self, mocks):
        """Mocks (a dict or hitlvm --mock JSON text) for the instances run
        starts from now on, kept with each instance; None for none."""
        err = ctypes.c_void_p()
        text = None if mocks is None else _json_arg(mocks)
        if _lib.hitl_store_bind_mocks(self._h, text, ctypes.byref(err)) != 0:
            raise _take_error(err.value)

    def set_limits(self, limits=None):
        """Limits of every run segment ({"fuel": N, ...}; None: defaults)."""
        _lib.hitl_store_set_limits(self._h, _limits(limits))

    def on_event(self, fn):
        """fn(kind, fields_dict) for each event of the segments this handle runs."""
        if fn is None:
            cb = EVENT_FN()
        else:
            def cb_py(user, kind, fields):
                try:
                    fn(kind.decode(), json.loads(fields))
                except BaseException as e:
                    self.action_errors.append(e)
            cb = EVENT_FN(cb_py)
        _lib.hitl_store_on_event(self._h, cb, None)
        self._keep["<events>"] = cb

    def on_note(self, fn):
        """fn(message) for each note (warnings, recovered instances)."""
        if fn is None:
            cb = NOTE_FN()
        else:
            def cb_py(user, message):
                try:
                    fn(message.decode(errors="replace"))
                except BaseException as e:
                    self.action_errors.append(e)
            cb = NOTE_FN(cb_py)
        _lib.hitl_store_on_note(self._h, cb, None)
        self._keep["<notes>"] = cb

    # ---- calls -----------------------------------------------------------

    @staticmethod
    def _enc(text):
        return None if text is None else text.encode()

    def _call(self, fn, *args):
        """fn(handle, *args, &out, &err): the result parsed, HitlError when refused."""
        out, err = ctypes.c_void_p(), ctypes.c_void_p()
        rc = fn(self._h, *args, ctypes.byref(out), ctypes.byref(err))
        text = _take_text(out.value)
        if rc == _EXIT_REFUSED:
            e = _take_error(err.value)
            e.partial = json.loads(text) if text else None
            raise e
        self.error = _take_error(err.value) if err.value else None
        return json.loads(text) if text else None

    def run(self, program, input=None, params=None, as_=None):
        """Start an instance of program as as_ (None: the OS user) and run it
        until it stops: the outcome {"instance", "status", "result"?,
        "error"?, "pending": [item, ...]}."""
        return self._call(_lib.hitl_store_run, program._h,
                          None if input is None else _json_arg(input),
                          None if params is None else _json_arg(params), self._enc(as_))

    def resume(self, item, verdict, reason=None, edits=None, digest=None, as_=None):
        """Give item the verdict ("approve", "modify" with edits={...},
        "reject"; "pass" or "flag" for a review item) as as_, and run its
        instance on: the outcome."""
        return self._call(_lib.hitl_store_resume, item, verdict.encode(), self._enc(reason),
                          None if edits is None else _json_arg(edits), self._enc(digest), self._enc(as_))

    def outcome(self, instance):
        """Where an instance stands: the outcome object."""
        return self._call(_lib.hitl_store_outcome, instance.encode())

    def pending(self, group=None, as_=None):
        """The open items (those of group; those as_ may decide)."""
        return self._call(_lib.hitl_store_pending, self._enc(group), self._enc(as_))

    def show(self, item):
        """One item, with "votes", "approvals" and "status"."""
        return self._call(_lib.hitl_store_show, item)

    def instances(self, status=None):
        return self._call(_lib.hitl_store_instances, self._enc(status))

    def log(self, instance):
        """The instance's events, [{"seq", "at", "kind", ...}]."""
        return self._call(_lib.hitl_store_log, instance.encode())

    def expire(self, now=None):
        """Give the timeout verdicts due at now (Unix seconds; None: the
        clock): [{"item", "instance", "verdict", "status"}]."""
        return self._call(_lib.hitl_store_expire, -1 if now is None else int(now))

    def reviewers_add(self, name, groups):
        """Add the reviewer name to the groups (created, or extended)."""
        arr = (ctypes.c_char_p * max(len(groups), 1))(*[g.encode() for g in groups])
        err = ctypes.c_void_p()
        if _lib.hitl_store_reviewers_add(self._h, name.encode(), arr, len(groups), ctypes.byref(err)) != 0:
            raise _take_error(err.value)

    def close(self):
        h, self._h = getattr(self, "_h", None), None
        if h and _lib:
            _lib.hitl_store_close(h)
        self._keep = {}

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
