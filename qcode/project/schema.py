"""The SQLite schema of a qcode project, and its version.

A project database holds:

* ``meta``: key/value pairs (schema version, current codebook version).
* ``documents``: every version of every document's text (``doc_id``, ``version``).
* ``segments``: coding units, each tied to the exact document version it points into.
* ``codebooks``: every codebook the project has used, keyed by content hash.
* ``code_migrations``: explicit renames/merges/drops made when the codebook changed.
* ``runs`` and ``suggestions``: suggestion runs (model, codebook, parameters) and their scores.
* ``coders``: the people (and pseudo-coders) who decided.
* ``events``: the append-only decision log. Triggers refuse UPDATE and DELETE.
  ``event_key`` (unique when given) is a client's idempotency key: a retried
  request with the same key finds the event it already made.

* ``case_events``: the append-only history of cases and their attributes. A
  case is a speaker label (``case_by = 'speaker'``) or a document id
  (``'document'``); each row sets one attribute of one case to a value (NULL:
  cleared), or, with ``attribute`` NULL, only registers the case. The latest
  row of each (case, attribute) is its current value.
* ``memo_events``: the append-only history of memos: each row is one version
  (``memo_id``, ``version``) of a memo on the project, a document, a code, a
  case or a passage (a segment id).

Schema history: 1, the first; 2 adds ``events.event_key``; 3 adds
``case_events`` and ``memo_events``. :data:`UPGRADES`
holds the statements that take a database from one version to the next, run
in place when an older project is opened for writing.
"""

from __future__ import annotations

SCHEMA_VERSION = 3

VERDICTS = ("accept", "reject", "skip", "undo")
SOURCES = ("suggestion", "manual", "import")
#: what a case is: a speaker label (across documents) or a whole document
CASE_KINDS = ("speaker", "document")
#: what a memo can be written about (``passage``: a segment id)
MEMO_TARGETS = ("project", "document", "code", "case", "passage")

#: the tables of schema version 3, one statement each (also the upgrade from version 2)
CASES_AND_MEMOS = (
    """CREATE TABLE IF NOT EXISTS case_events (
    event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    time       TEXT NOT NULL,
    author     TEXT,
    case_by    TEXT NOT NULL CHECK (case_by IN ('speaker', 'document')),
    case_name  TEXT NOT NULL,
    attribute  TEXT,
    value      TEXT,
    source     TEXT
)""",
    "CREATE INDEX IF NOT EXISTS case_events_by_case ON case_events (case_by, case_name, attribute, event_id)",
    """CREATE TRIGGER IF NOT EXISTS case_events_no_update BEFORE UPDATE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case attribute events are append-only: UPDATE is not allowed');
END;""",
    """CREATE TRIGGER IF NOT EXISTS case_events_no_delete BEFORE DELETE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case attribute events are append-only: DELETE is not allowed');
END;""",
    """CREATE TABLE IF NOT EXISTS memo_events (
    event_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    memo_id      INTEGER NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    guid         TEXT NOT NULL,
    time         TEXT NOT NULL,
    author       TEXT NOT NULL,
    target_kind  TEXT NOT NULL CHECK (target_kind IN ('project', 'document', 'code', 'case', 'passage')),
    target_id    TEXT NOT NULL,
    text         TEXT NOT NULL,
    UNIQUE (memo_id, version)
)""",
    "CREATE INDEX IF NOT EXISTS memo_events_by_target ON memo_events (target_kind, target_id)",
    """CREATE TRIGGER IF NOT EXISTS memo_events_no_update BEFORE UPDATE ON memo_events
BEGIN
    SELECT RAISE(ABORT, 'memo events are append-only: UPDATE is not allowed');
END;""",
    """CREATE TRIGGER IF NOT EXISTS memo_events_no_delete BEFORE DELETE ON memo_events
BEGIN
    SELECT RAISE(ABORT, 'memo events are append-only: DELETE is not allowed');
END;""",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS documents (
    doc_id    TEXT NOT NULL,
    version   INTEGER NOT NULL CHECK (version >= 1),
    sha256    TEXT NOT NULL,
    text      TEXT NOT NULL,
    source    TEXT,
    metadata  TEXT NOT NULL DEFAULT '{}',
    turns     TEXT NOT NULL DEFAULT '[]',
    added_at  TEXT NOT NULL,
    PRIMARY KEY (doc_id, version)
);

CREATE TABLE IF NOT EXISTS segments (
    seg_row     INTEGER PRIMARY KEY,
    segment_id  TEXT NOT NULL,
    doc_id      TEXT NOT NULL,
    doc_version INTEGER NOT NULL,
    start       INTEGER NOT NULL,
    "end"       INTEGER NOT NULL,
    text        TEXT NOT NULL,
    unit        TEXT NOT NULL,
    speaker     TEXT,
    role        TEXT NOT NULL,
    turn_index  INTEGER,
    timestamp   REAL,
    UNIQUE (segment_id, doc_version),
    FOREIGN KEY (doc_id, doc_version) REFERENCES documents (doc_id, version)
);
CREATE INDEX IF NOT EXISTS segments_by_doc ON segments (doc_id, doc_version, start);

CREATE TABLE IF NOT EXISTS codebooks (
    version   TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    json      TEXT NOT NULL,
    added_at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS code_migrations (
    migration_id     INTEGER PRIMARY KEY,
    from_code        TEXT NOT NULL,
    to_code          TEXT,
    codebook_version TEXT NOT NULL REFERENCES codebooks (version),
    time             TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
    run_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    time             TEXT NOT NULL,
    model            TEXT,
    codebook_version TEXT REFERENCES codebooks (version),
    params           TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS suggestions (
    run_id   INTEGER NOT NULL REFERENCES runs (run_id),
    seg_row  INTEGER NOT NULL REFERENCES segments (seg_row),
    code_id  TEXT NOT NULL,
    score    REAL NOT NULL,
    rank     INTEGER NOT NULL,
    PRIMARY KEY (run_id, seg_row, code_id)
);

CREATE TABLE IF NOT EXISTS coders (
    name      TEXT PRIMARY KEY,
    guid      TEXT,
    added_at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS events (
    event_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time             TEXT NOT NULL,
    coder            TEXT NOT NULL REFERENCES coders (name),
    doc_id           TEXT NOT NULL,
    doc_version      INTEGER NOT NULL,
    segment_id       TEXT,
    start            INTEGER NOT NULL,
    "end"            INTEGER NOT NULL,
    text             TEXT NOT NULL,
    code_id          TEXT,
    verdict          TEXT NOT NULL CHECK (verdict IN ('accept', 'reject', 'skip', 'undo')),
    note             TEXT,
    run_id           INTEGER REFERENCES runs (run_id),
    score            REAL,
    source           TEXT NOT NULL CHECK (source IN ('suggestion', 'manual', 'import')),
    undoes           INTEGER REFERENCES events (event_id),
    codebook_version TEXT,
    event_key        TEXT,
    FOREIGN KEY (doc_id, doc_version) REFERENCES documents (doc_id, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_key ON events (event_key);
CREATE INDEX IF NOT EXISTS events_by_coder ON events (coder, event_id);
CREATE INDEX IF NOT EXISTS events_by_segment ON events (segment_id);
CREATE INDEX IF NOT EXISTS events_by_undoes ON events (undoes);

CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'decision events are append-only: UPDATE is not allowed');
END;

CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'decision events are append-only: DELETE is not allowed');
END;
""" + "\n".join(s if s.endswith(";") else s + ";" for s in CASES_AND_MEMOS) + "\n"

#: version -> statements that upgrade a database of that version to the next one
UPGRADES: dict[int, tuple[str, ...]] = {
    1: ("ALTER TABLE events ADD COLUMN event_key TEXT",
        "CREATE UNIQUE INDEX IF NOT EXISTS events_by_key ON events (event_key)"),
    2: CASES_AND_MEMOS,
}
