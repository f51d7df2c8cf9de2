/* vm/store_schema.c — the store's tables and how a file gets to them.
 *
 * `meta` holds schema_version, and migrations[i] is the SQL that takes a
 * database from version i to i + 1.  sq_migrate (at st_open) runs the
 * missing steps inside one write transaction and refuses a database newer
 * than this build; docs/store.md describes the tables and the versions. */
#include "store_sqlite.h"

#include <stdio.h>

/* migrations[i] takes the schema from version i to i + 1.  Append, never
 * edit: a database in the field may stand at any version. */
static const char *const migrations[] = {
  /* 0 -> 1 */
  "CREATE TABLE programs ("
  "  hash     BLOB PRIMARY KEY CHECK (length(hash) = 32),"
  "  playbook TEXT NOT NULL,"
  "  bytes    BLOB NOT NULL,"
  "  created  INTEGER NOT NULL);"
  "CREATE TABLE instances ("
  "  id         TEXT PRIMARY KEY,"
  "  program    BLOB NOT NULL REFERENCES programs(hash),"
  "  playbook   TEXT NOT NULL,"
  "  status     TEXT NOT NULL,"
  "  starter    TEXT NOT NULL,"
  "  input      TEXT NOT NULL,"
  "  params     TEXT NOT NULL,"
  "  mocks      TEXT,"
  "  mock_state TEXT,"
  "  result     TEXT,"
  "  error      TEXT,"
  "  owner      TEXT,"
  "  segment    INTEGER NOT NULL,"
  "  created    INTEGER NOT NULL,"
  "  updated    INTEGER NOT NULL);"
  "CREATE INDEX instances_status ON instances(status, created, id);"
  "CREATE TABLE snapshots ("
  "  instance TEXT PRIMARY KEY REFERENCES instances(id),"
  "  bytes    BLOB NOT NULL);"
  "CREATE TABLE items ("
  "  id              INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  instance        TEXT NOT NULL REFERENCES instances(id),"
  "  kind            TEXT NOT NULL,"
  "  title           TEXT NOT NULL,"
  "  payload         TEXT NOT NULL,"
  "  digest          TEXT,"
  "  \"by\"          TEXT,"
  "  quorum          INTEGER NOT NULL CHECK (quorum >= 1),"
  "  editable        TEXT NOT NULL,"
  "  status          TEXT NOT NULL,"
  "  created         INTEGER NOT NULL,"
  "  deadline        INTEGER,"          /* NULL: none (-1 in StItem) */
  "  timeout_verdict INTEGER,"          /* NULL: none, 0 approve, 1 reject */
  "  timeout_reason  TEXT);"
  "CREATE INDEX items_status ON items(status, id);"
  "CREATE INDEX items_by ON items(\"by\", status, id);"
  "CREATE TABLE verdicts ("
  "  id       INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  item     INTEGER NOT NULL REFERENCES items(id),"
  "  instance TEXT NOT NULL REFERENCES instances(id),"
  "  verdict  TEXT NOT NULL,"
  "  reviewer TEXT NOT NULL,"
  "  reason   TEXT,"
  "  edits    TEXT,"
  "  at       INTEGER NOT NULL);"
  "CREATE INDEX verdicts_item ON verdicts(item, id);"
  "CREATE TABLE events ("
  "  instance TEXT NOT NULL REFERENCES instances(id),"
  "  seq      INTEGER NOT NULL,"
  "  at       INTEGER NOT NULL,"
  "  kind     TEXT NOT NULL,"
  "  fields   TEXT NOT NULL,"
  "  PRIMARY KEY (instance, seq));"
  "CREATE TABLE calls ("
  "  instance TEXT NOT NULL REFERENCES instances(id),"
  "  idx      INTEGER NOT NULL,"
  "  action   TEXT NOT NULL,"
  "  args     TEXT NOT NULL,"
  "  state    TEXT NOT NULL,"
  "  result   TEXT,"
  "  at       INTEGER NOT NULL,"
  "  PRIMARY KEY (instance, idx));",
  /* 1 -> 2: calibrated thresholds (hitlvm calibrate --apply), per playbook
   * name and action */
  "CREATE TABLE thresholds ("
  "  playbook TEXT NOT NULL,"
  "  action   TEXT NOT NULL,"
  "  value    REAL NOT NULL CHECK (value >= 0 AND value <= 1),"
  "  target   REAL NOT NULL,"
  "  samples  INTEGER NOT NULL,"
  "  at       INTEGER NOT NULL,"
  "  PRIMARY KEY (playbook, action));",
  /* 2 -> 3: the reviewer registry (hitlvm reviewers), signed groups, one
   * vote per reviewer and item (quorum), the verdicts' signatures */
  "CREATE TABLE reviewers ("
  "  name    TEXT PRIMARY KEY,"
  "  key     TEXT,"                      /* Ed25519 public key, 64 hex, or NULL */
  "  created INTEGER NOT NULL);"
  "CREATE TABLE memberships ("
  "  reviewer TEXT NOT NULL REFERENCES reviewers(name) ON DELETE CASCADE,"
  "  grp      TEXT NOT NULL,"
  "  PRIMARY KEY (reviewer, grp));"
  "CREATE INDEX memberships_grp ON memberships(grp, reviewer);"
  "CREATE TABLE groups ("
  "  name   TEXT PRIMARY KEY,"
  "  signed INTEGER NOT NULL CHECK (signed IN (0, 1)));"
  "ALTER TABLE verdicts ADD COLUMN signature TEXT;"
  "CREATE UNIQUE INDEX verdicts_vote ON verdicts(item, reviewer);",
  /* 3 -> 4: the tamper-evident log: each event's hash chained to the one
   * before (per instance), each instance's head, and a store-wide chain of
   * the verdict rows; migrate() computes them for the rows already there */
  "ALTER TABLE events ADD COLUMN hash TEXT;"
  "CREATE TABLE heads ("
  "  instance TEXT PRIMARY KEY REFERENCES instances(id),"
  "  seq      INTEGER NOT NULL,"
  "  hash     TEXT NOT NULL);"
  "CREATE TABLE decisions ("
  "  seq     INTEGER PRIMARY KEY,"
  "  verdict INTEGER NOT NULL UNIQUE,"
  "  hash    TEXT NOT NULL);",
  /* 4 -> 5: fewer index pages written per change (docs/store.md, "Speed").
   * Only open items and running instances are ever looked up by status, so
   * their indexes hold those rows alone: opening an item adds an entry and
   * closing it removes one, where the full indexes moved the entry from one
   * status's range to another's (two pages).  The open items are indexed by
   * instance too (an instance's open items without reading every open
   * item), and by group only when they have one.  verdicts_vote (item,
   * reviewer) finds an item's verdicts, so verdicts_item goes. */
  "DROP INDEX IF EXISTS items_status;"
  "DROP INDEX IF EXISTS items_by;"
  "CREATE INDEX IF NOT EXISTS items_open ON items(instance, id) WHERE status = 'open';"
  "CREATE INDEX IF NOT EXISTS items_open_by ON items(\"by\", id) WHERE status = 'open' AND \"by\" IS NOT NULL;"
  "DROP INDEX IF EXISTS verdicts_item;"
  "DROP INDEX IF EXISTS instances_status;"
  "CREATE INDEX IF NOT EXISTS instances_running ON instances(created, id) WHERE status = 'running';",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* The schema version: 0 for an empty database; an error for a database that
 * has tables but no meta table (not a hitl store) or a malformed meta. */
static int read_version(Store *st, int64_t *version) {
  SqBind b;
  sq_start(st, Q_SCHEMA_STATE, &b);
  int rc = sq_first(st, &b, "reading the schema");
  if (rc == ST_NOTFOUND) {
    sq_err(st, "reading the schema: no answer");
    return ST_ERR;
  }
  if (rc != ST_OK) return rc;
  int64_t has_meta = sqlite3_column_int64(b.s, 0), tables = sqlite3_column_int64(b.s, 1);
  sq_done(b.s);
  if (!has_meta) {
    if (tables > 0) {
      sq_err(st, "not a hitl store: the database has tables but no meta table");
      return ST_ERR;
    }
    *version = 0;
    return ST_OK;
  }
  sq_start(st, Q_GET_VERSION, &b);
  rc = sq_first(st, &b, "reading the schema version");
  if (rc == ST_OK) {
    bool valid = sqlite3_column_type(b.s, 0) == SQLITE_INTEGER && sqlite3_column_int64(b.s, 0) >= 0;
    if (valid) *version = sqlite3_column_int64(b.s, 0);
    sq_done(b.s);
    if (valid) return ST_OK;
  } else if (rc != ST_NOTFOUND) {
    return rc;
  }
  sq_err(st, "corrupt store: the meta table has no valid schema_version");
  return ST_ERR;
}

static int too_new(Store *st, int64_t v) {
  sq_err(st, "the store's schema version %lld is newer than this hitl supports (%d): upgrade hitl",
         (long long)v, SCHEMA_VERSION);
  return ST_ERR;
}

/* The missing steps and the new version, inside the transaction. */
static int upgrade(Store *st) {
  int64_t v;
  int rc = read_version(st, &v);
  if (rc != ST_OK) return rc;
  if (v > SCHEMA_VERSION) return too_new(st, v);
  if ((rc = sq_exec(st, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)",
                    "creating the meta table")) != ST_OK)
    return rc;
  for (int64_t i = v; i < SCHEMA_VERSION; i++) {
    char what[64];
    snprintf(what, sizeof what, "migrating the schema to version %lld", (long long)i + 1);
    if ((rc = sq_exec(st, migrations[i], what)) != ST_OK) return rc;
  }
  if (v >= 1 && v < 4 && (rc = sq_backfill_chains(st)) != ST_OK) return rc;
  SqBind b;
  sq_start(st, Q_SET_VERSION, &b);
  if (!b.s) return ST_ERR;
  sq_bind_int(&b, 1, SCHEMA_VERSION);
  return sq_run(st, &b, "recording the schema version");
}

/* Bring the schema to SCHEMA_VERSION: the missing migrations in one write
 * transaction (another process may have done it meanwhile: read again
 * under the lock). */
int sq_migrate(Store *st) {
  int64_t v;
  int rc = read_version(st, &v);
  if (rc != ST_OK) return rc;
  if (v > SCHEMA_VERSION) return too_new(st, v);
  if (v == SCHEMA_VERSION) {
    st->version = (int)v;
    return ST_OK;
  }
  if ((rc = st_begin(st)) != ST_OK) return rc;
  if ((rc = upgrade(st)) != ST_OK) {
    st_rollback(st);
    return rc;
  }
  if ((rc = st_commit(st)) != ST_OK) return rc;
  st->version = SCHEMA_VERSION;
  return ST_OK;
}
