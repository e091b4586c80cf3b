"""On-disk embedding cache, keyed by (model identity, sha256 of the text).

One SQLite file (``<user cache dir>/embeddings.sqlite3``) in WAL mode holds, in
its table ``embeddings``, one row per (model, text): the float32 vector and a checksum over model key, text
hash, dimension and vector bytes. A row whose checksum or size does not match is
never returned: it is counted as corrupt, deleted and recomputed. SQLite's
transactions make a write all-or-nothing, so a process killed mid-write leaves
the rows of earlier commits and nothing half-written; WAL lets several processes
read and write at once. A file that is not a database at all is moved aside
(``*.corrupt-<time>``) and a fresh cache started.

>>> from qcode.embed import load_embedder
>>> emb = load_embedder()                      # a CachedEmbedder
>>> _ = emb.encode(["It felt like nobody owned the plan."])
>>> emb.last_stats["computed"] + emb.last_stats["hits"]
1
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .._io import user_cache_dir
from ..errors import ModelError
from .base import Embedder, Progress, check_texts

SCHEMA_VERSION = "2"
_LOOKUP_CHUNK = 500  # keys per SELECT ... IN (...), below SQLite's parameter limit
_WRITE_CHUNK = 512  # texts embedded between commits, so a killed run keeps its work


def text_key(text: str) -> str:
    """sha256 hex of a text's UTF-8 bytes (lone surrogates kept, not dropped)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def model_key(identity: dict) -> str:
    """A short stable key for a model identity: sha256 of its canonical JSON, 32 hex digits."""
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def entry_checksum(model: str, text_sha: str, dim: int, blob: bytes) -> bytes:
    """16-byte checksum binding a vector to its model, text and dimension."""
    digest = hashlib.sha256()
    digest.update(f"{model}\0{text_sha}\0{dim}\0".encode("ascii"))
    digest.update(blob)
    return digest.digest()[:16]


class EmbeddingCache:
    """A file of cached vectors; safe for several threads and processes at once.

    Parameters
    ----------
    path : the SQLite file (created with its folder on first use).

    Attributes
    ----------
    corrupt_found : rows rejected by their checksum since this object was made.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self.corrupt_found = 0
        self._local = threading.local()

    @classmethod
    def default(cls) -> EmbeddingCache:
        """The cache in qcode's user cache folder (honours QCODE_CACHE_DIR, XDG_CACHE_HOME)."""
        return cls(user_cache_dir() / "embeddings.sqlite3")

    # -- connection ---------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelError(f"{self.path.parent}: cannot create the embedding cache folder ({exc.strerror})") from None
        try:
            conn = self._open()
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise _cache_error(self.path, exc) from None
            self._move_aside(exc)
            try:
                conn = self._open()
            except sqlite3.DatabaseError as again:
                raise _cache_error(self.path, again) from None
        self._local.conn = conn
        self._local.pid = os.getpid()
        return conn

    def _run(self, operation):
        """``operation(conn)``; on a damaged file, move it aside and run once more on a fresh cache."""
        try:
            return operation(self._connect())
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise _cache_error(self.path, exc) from None
            self.close()
            self._move_aside(exc)
            try:
                return operation(self._connect())
            except sqlite3.DatabaseError as again:
                raise _cache_error(self.path, again) from None

    def _open(self) -> sqlite3.Connection:
        # Two processes creating the cache at once: switching a new file to WAL can answer
        # "database is locked" at once, without waiting on the busy timeout; so retry, bounded.
        deadline = time.monotonic() + 60.0
        while True:
            try:
                return self._open_once()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _open_once(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # a rowid table with a unique index: 3-4x faster than WITHOUT ROWID for 1.5 KB rows
            conn.execute(
                "CREATE TABLE IF NOT EXISTS embeddings ("
                " model TEXT NOT NULL, text_sha TEXT NOT NULL, dim INTEGER NOT NULL,"
                " vec BLOB NOT NULL, checksum BLOB NOT NULL, created REAL NOT NULL,"
                " UNIQUE (model, text_sha))"
            )
            conn.execute("DROP TABLE IF EXISTS vectors")  # schema 1 (WITHOUT ROWID), superseded
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            conn.execute("SELECT count(*) FROM meta").fetchone()
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _move_aside(self, exc: Exception) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        warnings.warn(f"{self.path}: embedding cache unreadable ({exc}); moved to {target.name}, starting afresh", RuntimeWarning, stacklevel=3)
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                try:
                    os.replace(src, Path(str(target) + suffix))
                except OSError:
                    pass

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- reads and writes ---------------------------------------------------
    def get_many(self, model: str, text_shas: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """Valid cached vectors for ``text_shas`` under ``model``: ``{text_sha: (dim,) float32}``.

        Rows with a bad checksum, size or dimension are deleted and left out.
        """
        return self._run(lambda conn: self._get_many(conn, model, list(text_shas), dim))

    def _get_many(self, conn: sqlite3.Connection, model: str, text_shas: list[str], dim: int) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        bad: list[str] = []
        for start in range(0, len(text_shas), _LOOKUP_CHUNK):
            chunk = text_shas[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT text_sha, dim, vec, checksum FROM embeddings WHERE model = ? AND text_sha IN ({marks})",
                [model, *chunk],
            ).fetchall()
            for text_sha, row_dim, blob, checksum in rows:
                blob = bytes(blob)
                if (
                    row_dim != dim
                    or len(blob) != 4 * dim
                    or entry_checksum(model, text_sha, row_dim, blob) != bytes(checksum)
                ):
                    bad.append(text_sha)
                    continue
                found[text_sha] = np.frombuffer(blob, dtype="<f4")
        if bad:
            self.corrupt_found += len(bad)
            with _transaction(conn):
                conn.executemany("DELETE FROM embeddings WHERE model = ? AND text_sha = ?", [(model, s) for s in bad])
        return found

    def put_many(self, model: str, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Store ``(text_sha, vector)`` pairs under ``model`` in one transaction; returns the count."""
        rows = []
        now = time.time()
        for text_sha, vector in items:
            vec = np.ascontiguousarray(vector, dtype="<f4")
            blob = vec.tobytes()
            rows.append((model, text_sha, int(vec.shape[0]), blob, entry_checksum(model, text_sha, int(vec.shape[0]), blob), now))
        if not rows:
            return 0
        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?, ?)", rows)

        self._run(write)
        return len(rows)

    def count(self, model: str | None = None) -> int:
        """Rows in the cache (for one model key, or all)."""
        if model is None:
            return self._run(lambda conn: conn.execute("SELECT count(*) FROM embeddings").fetchone()[0])
        return self._run(lambda conn: conn.execute("SELECT count(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0])

    def clear(self, model: str | None = None) -> int:
        """Delete cached rows (for one model key, or all); returns how many."""
        def delete(conn: sqlite3.Connection) -> int:
            with _transaction(conn):
                if model is None:
                    return conn.execute("DELETE FROM embeddings").rowcount
                return conn.execute("DELETE FROM embeddings WHERE model = ?", (model,)).rowcount

        return self._run(delete)


_DAMAGE_WORDS = ("not a database", "malformed", "corrupt", "file is encrypted")


def _is_damage(exc: Exception) -> bool:
    """Whether an SQLite error means the file itself is damaged (as opposed to locked or read-only)."""
    return any(word in str(exc).lower() for word in _DAMAGE_WORDS)


def _cache_error(path: Path, exc: Exception) -> ModelError:
    return ModelError(
        f"{path}: cannot use the embedding cache ({exc}); point QCODE_CACHE_DIR at a writable folder, "
        "or run without the cache"
    )


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


class _CountedProgress:
    """Passes the model's batch-level progress on (one count per unique text) and counts what it passed."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.count = 0

    def __call__(self, n: int) -> None:
        self.count += n
        self.progress(n)


class CachedEmbedder(Embedder):
    """Wraps an :class:`Embedder`; reads vectors from an :class:`EmbeddingCache` first.

    The wrapped model is loaded only when some text is missing from the cache, so a
    run on an unchanged corpus needs no model (and imports no torch or onnxruntime).
    After each :meth:`encode`, ``last_stats`` holds ``texts``, ``unique``, ``hits``,
    ``computed`` and ``corrupt`` (rows rejected by their checksum and recomputed).
    """

    def __init__(self, inner: Embedder, cache: EmbeddingCache):
        self.inner = inner
        self.cache = cache
        self.last_stats: dict[str, int] = {}

    @property
    def identity(self) -> dict:
        return self.inner.identity

    @property
    def loaded(self) -> bool:
        return self.inner.loaded

    @property
    def model_key(self) -> str:
        return model_key(self.identity)

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        items = check_texts(texts)
        dim = self.dim
        out = np.zeros((len(items), dim), dtype=np.float32)
        if not items:
            self.last_stats = {"texts": 0, "unique": 0, "hits": 0, "computed": 0, "corrupt": 0}
            return out
        positions: dict[str, list[int]] = {}
        first_text: dict[str, str] = {}
        for index, text in enumerate(items):
            key = text_key(text)
            positions.setdefault(key, []).append(index)
            first_text.setdefault(key, text)
        keys = list(positions)
        mkey = self.model_key
        corrupt_before = self.cache.corrupt_found
        cached = self.cache.get_many(mkey, keys, dim)
        hit_positions = 0
        for key, vector in cached.items():
            out[positions[key]] = vector
            hit_positions += len(positions[key])
        if progress is not None and hit_positions:
            progress(hit_positions)
        missing = [key for key in keys if key not in cached]
        for start in range(0, len(missing), _WRITE_CHUNK):
            chunk = missing[start : start + _WRITE_CHUNK]
            forward = _CountedProgress(progress) if progress is not None else None
            vectors = self.inner.encode([first_text[k] for k in chunk], progress=forward)
            self.cache.put_many(mkey, zip(chunk, vectors))
            done = 0
            for key, vector in zip(chunk, vectors):
                out[positions[key]] = vector
                done += len(positions[key])
            if progress is not None and forward is not None and done > forward.count:
                progress(done - forward.count)  # the duplicates of this chunk's texts
        self.last_stats = {
            "texts": len(items),
            "unique": len(keys),
            "hits": len(cached),
            "computed": len(missing),
            "corrupt": self.cache.corrupt_found - corrupt_before,
        }
        return out
