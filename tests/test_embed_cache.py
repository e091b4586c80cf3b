"""The on-disk embedding cache: hits, corruption, crashes, concurrency, no model on a warm run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from qcode.embed import load_embedder
from qcode.embed.cache import CachedEmbedder, EmbeddingCache, entry_checksum, model_key, text_key

TEXTS = [
    "The hospice team only heard about the discharge on the Friday afternoon.",
    "We had a shared care plan but nobody could open it from the ward computers.",
    "Honestly the monthly network meeting was the one place people spoke up.",
    "The funding ran out and the coordinator post went with it.",
    "Families told us they repeated their child's story to every new person.",
]


@pytest.fixture(scope="module")
def inner():
    """A model-free embedder of the real model's width: the cache's logic does not depend on the model."""
    from qcode.embed.fake import FakeEmbedder

    return FakeEmbedder(dim=384)


@pytest.fixture(scope="module")
def real_inner():
    """A real, uncached ONNX embedder, for the tests about loading the model (or not)."""
    return load_embedder(backend="onnx", cache=False)


def fresh_cached(inner, path: Path) -> CachedEmbedder:
    return CachedEmbedder(inner, EmbeddingCache(path))


def test_second_encode_is_all_hits_and_identical(inner, tmp_path):
    emb = fresh_cached(inner, tmp_path / "c.sqlite3")
    ticks: list[int] = []
    first = emb.encode(TEXTS + TEXTS[:2], progress=ticks.append)  # duplicates embedded once
    assert emb.last_stats == {"texts": 7, "unique": 5, "hits": 0, "computed": 5, "corrupt": 0}
    assert sum(ticks) == 7 and all(t > 0 for t in ticks)
    ticks.clear()
    second = emb.encode(TEXTS[::-1] + TEXTS[:1], progress=ticks.append)[:5]
    assert ticks == [6]
    assert emb.last_stats["hits"] == 5 and emb.last_stats["computed"] == 0
    np.testing.assert_array_equal(second, first[:5][::-1])
    np.testing.assert_array_equal(first[5:], first[:2])
    np.testing.assert_allclose(first[:5], inner.encode(TEXTS), atol=2e-5)


def test_cache_hit_does_not_load_the_model(real_inner, tmp_path):
    inner = real_inner
    path = tmp_path / "c.sqlite3"
    fresh_cached(inner, path).encode(TEXTS)
    cold = load_embedder(backend="onnx", cache=path)
    out = cold.encode(TEXTS[1:3])
    assert cold.last_stats["computed"] == 0
    assert not cold.loaded
    np.testing.assert_allclose(out, inner.encode(TEXTS[1:3]), atol=2e-5)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "sentence-transformers"])
def test_warm_run_in_a_fresh_process_imports_no_model_library(tmp_path, backend):
    path = tmp_path / "c.sqlite3"
    code = textwrap.dedent(
        f"""
        import sys
        from qcode.embed import load_embedder
        emb = load_embedder(backend={backend!r}, cache={str(path)!r})
        emb.encode({TEXTS!r})
        heavy = sorted(m for m in ('torch', 'onnxruntime', 'sentence_transformers', 'tokenizers') if m in sys.modules)
        print(emb.last_stats['computed'], emb.loaded, ','.join(heavy) or 'none')
        """
    )
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert cold.stdout.split()[:2] == ["5", "True"]
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert warm.stdout.split() == ["0", "False", "none"]


@pytest.mark.slow
def test_keys_separate_models_and_backends(tmp_path):
    store = EmbeddingCache(tmp_path / "c.sqlite3")
    onnx = load_embedder(backend="onnx", cache=store)
    int8 = load_embedder(backend="onnx-int8", cache=store)
    assert onnx.model_key != int8.model_key
    onnx.encode(TEXTS[:2])
    int8.encode(TEXTS[:2])
    assert int8.last_stats["computed"] == 2  # fp32 rows are not served to the int8 model
    assert store.count(onnx.model_key) == 2 and store.count(int8.model_key) == 2


def _rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT model, text_sha, dim, vec, checksum FROM embeddings").fetchall()


@pytest.mark.parametrize("damage", ["flip", "truncate", "checksum", "dim"])
def test_corrupt_entry_is_detected_and_recomputed(inner, tmp_path, damage):
    path = tmp_path / "c.sqlite3"
    emb = fresh_cached(inner, path)
    good = emb.encode(TEXTS)
    emb.cache.close()
    target = text_key(TEXTS[2])
    with sqlite3.connect(path) as conn:
        vec, = conn.execute("SELECT vec FROM embeddings WHERE text_sha = ?", (target,)).fetchone()
        vec = bytearray(vec)
        if damage == "flip":
            vec[17] ^= 0x40
            conn.execute("UPDATE embeddings SET vec = ? WHERE text_sha = ?", (bytes(vec), target))
        elif damage == "truncate":
            conn.execute("UPDATE embeddings SET vec = ? WHERE text_sha = ?", (bytes(vec[:700]), target))
        elif damage == "checksum":
            conn.execute("UPDATE embeddings SET checksum = ? WHERE text_sha = ?", (b"\0" * 16, target))
        else:
            conn.execute("UPDATE embeddings SET dim = 383 WHERE text_sha = ?", (target,))
    again = fresh_cached(inner, path)
    out = again.encode(TEXTS)
    assert again.last_stats["corrupt"] == 1 and again.last_stats["computed"] == 1
    np.testing.assert_allclose(out, good, atol=2e-5)
    third = fresh_cached(inner, path)
    third.encode(TEXTS)
    assert third.last_stats == {"texts": 5, "unique": 5, "hits": 5, "computed": 0, "corrupt": 0}


def test_garbage_cache_file_is_moved_aside(inner, tmp_path):
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database\n" * 200)
    emb = fresh_cached(inner, path)
    with pytest.warns(RuntimeWarning, match="embedding cache unreadable"):
        out = emb.encode(TEXTS[:2])
    assert out.shape == (2, 384) and emb.last_stats["computed"] == 2
    assert list(tmp_path.glob("c.sqlite3.corrupt-*"))
    assert fresh_cached(inner, path).encode(TEXTS[:2]).shape == (2, 384)


_WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from qcode.embed.cache import EmbeddingCache
    store = EmbeddingCache(sys.argv[1])
    rng = np.random.default_rng(int(sys.argv[3]))
    batch = 0
    while True:
        rows = [(f"{sys.argv[2]}-{batch}-{i}", rng.standard_normal(384).astype("float32")) for i in range(200)]
        store.put_many("m", rows)
        batch += 1
        if batch == 3:
            print("started", flush=True)
        if batch >= int(sys.argv[4]):
            break
    print("done", flush=True)
    """
)


def _check_every_row(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = _rows(path)
    for model, text_sha, dim, vec, checksum in rows:
        assert len(vec) == 4 * dim
        assert entry_checksum(model, text_sha, dim, bytes(vec)) == bytes(checksum)
    return len(rows)


def test_kill_9_during_writes_leaves_only_whole_entries(tmp_path):
    path = tmp_path / "c.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), "w", "1", "100000"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n = _check_every_row(path)
    assert n >= 600 and n % 200 == 0  # whole transactions only
    store = EmbeddingCache(path)
    keys = [f"w-0-{i}" for i in range(200)]
    assert len(store.get_many("m", keys, 384)) == 200
    assert store.corrupt_found == 0


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "c.sqlite3"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, seed, "15"], stdout=subprocess.PIPE, text=True)
        for name, seed in (("a", "1"), ("b", "2"))
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out.strip().endswith("done")
    assert _check_every_row(path) == 2 * 15 * 200


def test_model_key_is_stable_and_order_independent():
    ident = {"name": "m", "backend": "onnx", "weights_sha256": "ab", "dim": 3, "normalize": True}
    assert model_key(ident) == model_key(dict(reversed(list(ident.items()))))
    assert model_key(ident) != model_key({**ident, "backend": "onnx-int8"})
    assert text_key("a") != text_key("a ")


def test_default_cache_lives_in_qcode_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("QCODE_CACHE_DIR", str(tmp_path / "custom"))
    assert EmbeddingCache.default().path == tmp_path / "custom" / "embeddings.sqlite3"
    monkeypatch.delenv("QCODE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert EmbeddingCache.default().path == tmp_path / "xdg" / "qcode" / "embeddings.sqlite3"


def test_unusable_cache_folder_is_a_one_line_model_error(inner, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    emb = fresh_cached(inner, blocker / "embeddings.sqlite3")
    from qcode.errors import ModelError

    with pytest.raises(ModelError, match="cannot create the embedding cache folder") as info:
        emb.encode(TEXTS[:1])
    assert "\n" not in str(info.value) and str(blocker) in str(info.value)


def test_damaged_pages_inside_the_file_never_give_wrong_vectors(inner, tmp_path):
    path = tmp_path / "c.sqlite3"
    store = EmbeddingCache(path)
    rng = np.random.default_rng(5)
    filler = [(f"filler-{i}", rng.standard_normal(384).astype("float32")) for i in range(3000)]
    store.put_many("m", filler)
    emb = CachedEmbedder(inner, store)
    good = emb.encode(TEXTS)
    store.close()
    with sqlite3.connect(path) as conn:  # fold the WAL into the main file, so damage hits real pages
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), 3 * page):  # scribble over a third of the pages
        data[offset : offset + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    again = fresh_cached(inner, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = again.encode(TEXTS)
    np.testing.assert_allclose(out, good, atol=2e-5)
    stats = again.last_stats
    assert stats["hits"] + stats["computed"] == 5
    # damage was noticed one way or the other: rows rejected, or the file moved aside
    assert stats["computed"] > 0 or stats["corrupt"] > 0 or any("unreadable" in str(w.message) for w in caught)
    assert fresh_cached(inner, path).encode(TEXTS).shape == (5, 384)
