"""``qcode suggest --engine dask``: the same output as the single-process run, on a LocalCluster (loopback)."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO
from qcode.embed.fake import FakeEmbedder
from qcode.errors import InputError
from qcode.suggest import SuggestOptions, suggest_corpus

distributed = pytest.importorskip("distributed")

from qcode.suggest.dask_engine import plan_shards, suggest_dask  # noqa: E402
from qcode.suggest.dask_shards import ClusterError  # noqa: E402

pytestmark = pytest.mark.slow  # a cluster takes seconds to start

WORDS = ("funding budget grant staff nurse rota family parents phone plan hospital hospice visit money team "
         "meeting school coordinator night care contract recruit").split()


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=40)
    with Client(cluster) as c:
        yield c
    cluster.close()


def responses(path: Path, n: int = 700, seed: int = 3) -> Path:
    """A survey table: ids, a text column (some empty, some long enough to split), another column."""
    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "age", "answer"])
        for i in range(n):
            length = rnd.choice([0, 3, 8, 15, 60]) if i % 50 else 200
            writer.writerow([f"R{i:04d}", 20 + i % 60, " ".join(rnd.choice(WORDS) for _ in range(length))])
    return path


OPTS = SuggestOptions(batch_segments=32, max_tokens=48)


def test_a_table_gives_the_single_process_bytes(tmp_path, client):
    table = responses(tmp_path / "survey.csv")
    single = suggest_corpus(table, "mcn-sst", OPTS, out=tmp_path / "one.csv", model=FakeEmbedder())
    run = suggest_dask(table, "mcn-sst", OPTS, out=tmp_path / "many.csv", model=FakeEmbedder(), client=client,
                       shard_segments=64)
    assert (tmp_path / "many.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert run.run_id == single.run_id
    assert (run.documents, run.segments, run.suggested_segments) == (single.documents, single.segments,
                                                                      single.suggested_segments)
    assert run.segments > run.documents  # long answers were split, so some rows straddle shard boundaries
    engine = json.loads((tmp_path / "many.csv.run.json").read_text())["engine"]
    assert engine["name"] == "dask" and engine["workers"] == 2 and engine["shards"] > 4
    # each worker process loaded the embedder once, however many shards it ran
    assert set(engine["embedder_loads"].values()) == {1} and len(engine["embedder_loads"]) <= 2
    assert not (tmp_path / "many.csv.shards").exists()  # shards are removed after a successful run


def test_a_folder_of_transcripts_gives_the_single_process_bytes(tmp_path, client):
    opts = SuggestOptions(batch_segments=16, unit="sentence")
    for suffix in (".csv", ".jsonl"):
        suggest_corpus(DEMO, "mcn-sst", opts, out=tmp_path / f"one{suffix}", model=FakeEmbedder())
        suggest_dask(DEMO, "mcn-sst", opts, out=tmp_path / f"many{suffix}", model=FakeEmbedder(), client=client,
                     shard_segments=16)
        assert (tmp_path / f"many{suffix}").read_bytes() == (tmp_path / f"one{suffix}").read_bytes()


def test_plan_shards_covers_every_segment_once():
    rnd = random.Random(5)
    items = [(f"item{i}", rnd.choice([0, 0, 1, 3, 7, 20])) for i in range(200)]
    shards = list(plan_shards(items, 8, lambda k, lo, hi, members: (k, lo, hi, members)))
    total = sum(n for _, n in items)
    assert [s[0] for s in shards] == list(range(len(shards)))
    covered = []
    owners: dict[str, int] = {}
    sizes = dict(items)
    for k, lo, hi, members in shards:
        for item, start, owned in members:
            covered.extend(i for i in range(start, start + sizes[item]) if lo <= i < hi)
            if owned:
                assert item not in owners
                owners[item] = k
    assert sorted(covered) == list(range(total))
    assert set(owners) == set(sizes)


def test_resume_skips_done_shards_and_recomputes_a_damaged_one(tmp_path, client):
    table = responses(tmp_path / "survey.csv", n=400)
    out = tmp_path / "s.csv"
    first = suggest_dask(table, "mcn-sst", OPTS, out=out, model=FakeEmbedder(), client=client, shard_segments=64,
                         keep_shards=True)
    expected = out.read_bytes()
    out.unlink()
    [work] = list((tmp_path / "s.csv.shards").iterdir())
    shard_files = sorted(work.glob("shard-*.json"))
    shards = first.record["engine"]["shards"]
    assert len(shard_files) == shards
    # as if the run had been killed: the last shard unfinished, the second one damaged on disk
    shard_files[-1].unlink()
    (work / "shard-00001.parquet").write_bytes(b"not parquet")
    again = suggest_dask(table, "mcn-sst", OPTS, out=out, model=FakeEmbedder(), client=client, shard_segments=64)
    assert out.read_bytes() == expected
    assert again.record["engine"]["resumed_shards"] == shards - 2
    assert not (tmp_path / "s.csv.shards").exists()


class DyingEmbedder(FakeEmbedder):
    """Kills its worker process the first time it embeds a marked text (a marker file says it did)."""

    def __init__(self, marker: str, always: bool = False):
        super().__init__()
        self.marker, self.always = marker, always

    def encode(self, texts, **kwargs):
        if any("hospice" in t for t in texts) and (self.always or not os.path.exists(self.marker)):
            Path(self.marker).touch()
            os._exit(3)
        return super().encode(texts, **kwargs)


def test_a_dead_worker_has_its_shard_retried(tmp_path, client):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    opts = SuggestOptions(batch_segments=16)
    suggest_corpus(DEMO, "mcn-sst", opts, out=tmp_path / "one.csv", model=FakeEmbedder())
    marker = tmp_path / "died"
    suggest_dask(DEMO, "mcn-sst", opts, out=tmp_path / "many.csv", model=DyingEmbedder(str(marker)), client=client,
                 shard_segments=16)
    assert marker.exists()  # a worker did die
    assert (tmp_path / "many.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_a_worker_that_always_dies_is_one_line_and_writes_nothing(tmp_path):
    import cloudpickle
    import dask

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=50)
        with Client(cluster) as small:
            with pytest.raises(ClusterError, match="died every time") as info:
                suggest_dask(DEMO, "mcn-sst", SuggestOptions(batch_segments=16), out=tmp_path / "s.csv",
                             model=DyingEmbedder(str(tmp_path / "m"), always=True), client=small)
        cluster.close()
    assert "\n" not in str(info.value)
    assert not (tmp_path / "s.csv").exists()


def test_unreachable_scheduler_is_one_line(tmp_path):
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9") as info:
        suggest_dask(DEMO, "mcn-sst", out=tmp_path / "s.csv", model=FakeEmbedder(), scheduler="tcp://127.0.0.1:9",
                     connect_timeout=2)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "s.csv").exists()


def test_bad_input_fails_before_the_cluster_starts(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("id,a,b\n1,x,y\n", encoding="utf-8")
    with pytest.raises(InputError, match="cannot tell which column holds the text"):
        suggest_dask(table, "mcn-sst", out=tmp_path / "s.csv", model=FakeEmbedder(), scheduler="tcp://127.0.0.1:9")
    with pytest.raises(InputError, match="give --scheduler or --workers, not both"):
        SuggestOptions(engine="dask", scheduler="tcp://127.0.0.1:9", workers=2)
    result = subprocess.run([sys.executable, "-m", "qcode", "suggest", str(table), "--engine", "dask",
                             "--workers", "1", "--out", str(tmp_path / "s.csv")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "cannot tell which column holds the text" in result.stderr
    assert not (tmp_path / "s.csv").exists()


def test_parquet_input_and_the_project_written_by_the_driver(tmp_path, client):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from qcode.project import init_project

    table = responses(tmp_path / "survey.csv", n=300)
    pq.write_table(pacsv.read_csv(table, convert_options=pacsv.ConvertOptions(
        column_types={"respondent_id": "string", "age": "string", "answer": "string"},
        strings_can_be_null=False)), tmp_path / "survey.parquet")
    alone, spread = init_project(tmp_path / "alone"), init_project(tmp_path / "spread")
    single = suggest_corpus(table, "mcn-sst", OPTS, out=tmp_path / "one.csv", project=alone, model=FakeEmbedder())
    run = suggest_dask(tmp_path / "survey.parquet", "mcn-sst", OPTS, out=tmp_path / "many.csv", project=spread,
                       model=FakeEmbedder(), client=client, shard_segments=64)
    assert run.documents == single.documents
    one, many = (list(csv.DictReader(open(tmp_path / f, encoding="utf-8"))) for f in ("one.csv", "many.csv"))
    strip = lambda rows: [(r["doc_id"].split("#")[1], r["segment_id"] and r["start"], r["code_id"], r["score"])
                          for r in rows]
    assert strip(one) == strip(many)
    a, b = alone.suggestions(), spread.suggestions()
    assert len(a) == len(b) == len(one)
    assert a["score"].tolist() == b["score"].tolist() and a["code_id"].tolist() == b["code_id"].tolist()
    assert len(spread.segments()) == len(alone.segments())
    assert spread.runs().iloc[0]["params"]["engine"]["name"] == "dask"


def test_cli_engine_dask_matches_the_plain_run_with_the_real_model(tmp_path):
    """As a user runs it: the real model, a local cluster of one worker, the same CSV bytes."""
    def qcode(*args):
        return subprocess.run([sys.executable, "-m", "qcode", "suggest", str(DEMO), "--quiet", *map(str, args)],
                              capture_output=True, text=True, timeout=600)

    plain = qcode("--out", tmp_path / "plain.csv")
    assert plain.returncode == 0, plain.stderr
    spread = qcode("--engine", "dask", "--workers", "1", "--out", tmp_path / "dask.csv")
    assert spread.returncode == 0, spread.stderr
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    record = json.loads((tmp_path / "dask.csv.run.json").read_text())
    assert record["engine"]["name"] == "dask" and record["engine"]["workers"] == 1
    refused = qcode("--engine", "dask", "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "x.csv")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "cannot reach the Dask scheduler" in refused.stderr and not (tmp_path / "x.csv").exists()
