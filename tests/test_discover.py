"""Discovering candidate codes (issue 20): the pure core, the sources, the CLI, and candidate -> code.

Logic tests use the FakeEmbedder (character n-grams): passages that share words cluster together.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import yaml

from qcode.codebook.model import Code
from qcode.discovery import DiscoverError, DiscoverParams, discover_candidates, residue_mask
from qcode.discovery.labels import capitalised_names, class_tfidf, label_from

THEMES = {
    "parking": ["The hospital car park was full again and parking cost eight pounds.",
                "Parking at the hospital car park takes forty minutes every visit.",
                "We gave up on the car park, parking there is impossible for families.",
                "Car park charges and parking fines at the hospital add up.",
                "Finding parking in the hospital car park is a nightmare."],
    "interpreters": ["Nobody booked an interpreter for the family, so the interpreter never came.",
                     "The interpreter service for languages other than English is thin.",
                     "Without an interpreter the parents could not follow the plan, interpreter needed.",
                     "We used the sister as interpreter because the booked interpreter failed.",
                     "Interpreter phone lines help but an interpreter in the room is better."],
}


def corpus():
    texts, docs = [], []
    for theme in ("parking", "interpreters"):
        for i, text in enumerate(THEMES[theme]):
            texts.append(text)
            docs.append(f"p{i % 3}.txt")
    return texts, docs


def embed(texts):
    from qcode.embed.fake import FakeEmbedder

    return FakeEmbedder().encode(texts)


def test_core_finds_both_themes_with_spread_examples_and_stable_output():
    texts, docs = corpus()
    X = embed(texts)
    params = DiscoverParams(min_size=3, method="kmeans")
    a = discover_candidates(texts, X, doc_ids=docs, segment_ids=[f"s{i}" for i in range(10)], params=params)
    b = discover_candidates(texts, X, doc_ids=docs, segment_ids=[f"s{i}" for i in range(10)], params=params)
    assert [c.to_dict() for c in a.candidates] == [c.to_dict() for c in b.candidates]
    groups = sorted(sorted(int(m.segment_id[1:]) for m in c.members) for c in a.candidates)
    assert groups == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    for cand in a.candidates:
        assert 3 <= len(cand.examples) <= 5
        example_docs = [docs[texts.index(e)] for e in cand.examples]
        assert len(set(example_docs[:3])) == 3  # spread across documents before any repeats
        assert cand.definition.startswith("[draft]")
        assert cand.draft and cand.size == 5
    labels = " ".join(c.label.lower() for c in a.candidates)
    assert "park" in labels and "interpreter" in labels


def test_core_too_few_passages_is_one_line_error():
    texts, docs = corpus()
    with pytest.raises(DiscoverError, match="fewer than the minimum candidate size 20"):
        discover_candidates(texts, embed(texts), doc_ids=docs, segment_ids=[str(i) for i in range(10)],
                            params=DiscoverParams(min_size=20))


def test_cluster_that_matches_an_existing_code_becomes_a_note():
    texts, docs = corpus()
    X = embed(texts)
    scores = np.zeros((10, 2), dtype=np.float32)
    scores[:5, 0] = 0.9  # the parking passages are explained by code "parking" as well as its passages are
    scores[5:, 0] = 0.3  # the interpreter passages' best code is "parking" too, but a poor fit: a candidate
    out = discover_candidates(texts, X, doc_ids=docs, segment_ids=[str(i) for i in range(10)], scores=scores,
                              code_ids=["parking", "other"], params=DiscoverParams(min_size=3, method="kmeans"))
    assert [n.looks_like for n in out.notes] == ["parking"]
    assert len(out.candidates) == 1 and out.candidates[0].id == "cand-01"
    assert out.to_dict()["notes"][0]["note"] == "this looks like parking"


def test_residue_takes_worst_explained_share_plus_rejected_minus_accepted():
    scores = np.array([[.9], [.1], [.2], [.8]])
    mask = residue_mask(scores, 0.5, rejected=np.array([True, False, False, False]),
                        explained=np.array([False, False, True, False]))
    assert mask.tolist() == [True, True, False, False]


def test_labels_never_hold_names_capitalised_mid_sentence_or_speakers():
    texts = ["I spoke to Priya about the Harbridge waiting list.", "The waiting list at Harbridge grew.",
             "It was Ruth's waiting list, then Ruth's post.",
             "Priya said the waiting list is long.", "Waiting list times doubled for Dr Okafor."]
    names = capitalised_names(texts, extra=["Dr Okafor"])
    assert {"priya", "harbridge", "okafor", "ruth"} <= names and "waiting" not in names and "the" not in names
    labels = np.zeros(5, dtype=int)
    matrix, vocab, _ = class_tfidf(texts, labels, names)
    assert not any(n in term.split() for term in vocab for n in names)
    assert "waiting list" in vocab


def test_label_prefers_a_phrase_then_a_new_word():
    assert label_from(["waiting", "waiting list", "delay"]) == "Waiting list, delay"
    assert label_from([]) == "Unlabelled"


@pytest.fixture
def fake_model(monkeypatch, fake_embedder):
    import qcode.embed

    monkeypatch.setattr(qcode.embed, "load_embedder", lambda *a, **k: fake_embedder)
    return fake_embedder


def write_folder(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    texts, _ = corpus()
    for i in range(3):
        lines = [f"P{i}: {t}" for t in texts[i::3]]
        (folder / f"p{i}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return folder


def run_cli(monkeypatch, capsys, *args):
    from qcode.cli.app import main

    monkeypatch.setattr(sys, "argv", ["qcode", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_api_discover_folder_without_codebook(tmp_path, fake_model):
    import qcode

    out = qcode.discover(write_folder(tmp_path), min_size=3, params=DiscoverParams(method="kmeans"))
    assert sum(c.size for c in out.candidates) == 10
    member = out.candidates[0].members[0]
    assert member.doc_id.endswith(".txt") and member.segment_id.startswith("s-")
    assert out.provenance["from"] == "all" and out.provenance["model"]["backend"] == "fake"


def test_api_discover_table_names_members_file_hash_id(tmp_path, fake_model):
    import qcode

    texts, _ = corpus()
    table = tmp_path / "answers.csv"
    table.write_text("rid,answer\n" + "".join(f"r{i},\"{t}\"\n" for i, t in enumerate(texts)), encoding="utf-8")
    out = qcode.discover(table, min_size=3, id_column="rid", text_column="answer",
                         params=DiscoverParams(method="kmeans"))
    doc_ids = {m.doc_id for c in out.candidates for m in c.members}
    assert "answers.csv#r0" in doc_ids


def test_cli_discover_writes_yaml_and_json(tmp_path, fake_model, monkeypatch, capsys):
    folder = write_folder(tmp_path)
    code, out, err = run_cli(monkeypatch, capsys, "discover", str(folder), "--min-size", "3", "--from", "all",
                             "--out", str(tmp_path / "c.yaml"))
    assert code in (0, None), err
    data = yaml.safe_load((tmp_path / "c.yaml").read_text())
    cand = data["candidates"][0]
    assert set(cand) >= {"id", "label", "keywords", "definition", "size", "examples", "members"}
    assert set(cand["members"][0]) == {"doc_id", "segment_id", "text"}
    assert "candidates from" in out
    code, _, err = run_cli(monkeypatch, capsys, "discover", str(folder), "--min-size", "3",
                           "--out", str(tmp_path / "c.json"))
    assert code in (0, None), err
    assert json.loads((tmp_path / "c.json").read_text())["candidates"]


def test_cli_discover_fewer_passages_than_min_size(tmp_path, fake_model, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "discover", str(write_folder(tmp_path)), "--min-size", "50",
                           "--out", str(tmp_path / "c.json"))
    assert code == 2 and err.count("\n") == 1 and "fewer than --min-size 50" in err
    assert not (tmp_path / "c.json").exists()


def sample_project(tmp_path):
    from qcode.project.sample import build_sample_project

    return build_sample_project(tmp_path / "proj")


def test_project_whose_codebook_explains_everything_has_nothing_to_propose(tmp_path, fake_model, monkeypatch,
                                                                           capsys):
    project = sample_project(tmp_path)
    segs = project.segments()
    code_id = project.codebook.leaves()[0].id
    with project.transaction():
        for seg_id in segs.loc[segs["role"] != "interviewer", "segment_id"]:
            project.decide("alice", seg_id, code_id, "accept")
    project.close()
    code, _, err = run_cli(monkeypatch, capsys, "discover", "--project", str(tmp_path / "proj"), "--min-size", "2",
                           "--out", str(tmp_path / "c.json"))
    assert code == 2 and "nothing to propose" in err and err.count("\n") == 1
    assert not (tmp_path / "c.json").exists()


def candidates_file(tmp_path, label="Parking at the hospital"):
    path = tmp_path / "cands.yaml"
    path.write_text(yaml.safe_dump({"candidates": [
        {"id": "cand-01", "label": label, "definition": "Getting to appointments by car.",
         "examples": THEMES["parking"][:3]},
        {"id": "cand-02", "label": "Interpreters", "definition": "[draft] interpreter", "examples": []}]}))
    return path


def test_codebook_add_from_candidates_logs_a_new_version(tmp_path, monkeypatch, capsys):
    project = sample_project(tmp_path)
    before = project.codebook.version
    project.close()
    code, out, err = run_cli(monkeypatch, capsys, "codebook", "add", str(tmp_path / "proj"), "--from",
                             str(candidates_file(tmp_path)), "--pick", "cand-01", "--author", "lead")
    assert code in (0, None), err
    from qcode.project import open_project

    with open_project(tmp_path / "proj") as p:
        cb = p.codebook
        assert cb.version != before and cb["parking-at-the-hospital"].examples == tuple(THEMES["parking"][:3])
        history = p.codebook_history()
        last = history.iloc[-1]
        assert (last["action"], last["author"]) == ("add", "lead")
        assert json.loads(last["detail"])["codes"] == ["parking-at-the-hospital"]
    code, out, _ = run_cli(monkeypatch, capsys, "codebook", "history", str(tmp_path / "proj"), "--out",
                           str(tmp_path / "h.csv"))
    assert code in (0, None) and "lead" in out and "add" in (tmp_path / "h.csv").read_text()


def test_codebook_add_unknown_pick_or_name_clash_changes_nothing(tmp_path, monkeypatch, capsys):
    project = sample_project(tmp_path)
    before = project.codebook.version
    clash_name = project.codebook.leaves()[0].name
    project.close()
    code, _, err = run_cli(monkeypatch, capsys, "codebook", "add", str(tmp_path / "proj"), "--from",
                           str(candidates_file(tmp_path)), "--pick", "cand-09")
    assert code == 2 and "no candidate 'cand-09'" in err and err.count("\n") == 1
    code, _, err = run_cli(monkeypatch, capsys, "codebook", "add", str(tmp_path / "proj"), "--from",
                           str(candidates_file(tmp_path, label=clash_name.upper())), "--pick", "cand-01")
    assert code == 2 and "clashes with code" in err and err.count("\n") == 1
    from qcode.project import open_project

    with open_project(tmp_path / "proj") as p:
        assert p.codebook.version == before
        assert "add" not in p.codebook_history()["action"].tolist()


def test_split_maps_past_decisions_by_appending_never_rewriting(tmp_path):
    project = sample_project(tmp_path)
    segs = project.segments()
    ids = segs.loc[segs["role"] != "interviewer", "segment_id"].tolist()[:3]
    old = project.codebook.leaves()[0].id
    for seg_id in ids:
        project.decide("alice", seg_id, old, "accept")
    log_before = project.decisions()
    project.split_code(old, Code(old, "Kept part"), Code("new-half", "New half"), [ids[0]], author="lead")
    log_after = project.decisions()
    cols = ["event_id", "time", "coder", "segment_id", "code_id", "verdict", "note"]
    assert log_after[cols].iloc[: len(log_before)].astype(str).values.tolist() == \
        log_before[cols].astype(str).values.tolist()  # nothing rewritten
    assert len(log_after) == len(log_before) + 2
    codings = project.codings()
    assert set(codings.loc[codings["code_id"] == "new-half", "segment_id"]) == {ids[0]}
    assert set(codings.loc[codings["code_id"] == old, "segment_id"]) == set(ids[1:])
    last = project.codebook_history().iloc[-1]
    assert last["action"] == "split" and json.loads(last["detail"])["to_second"] == [ids[0]]
    with pytest.raises(Exception, match="not coded"):
        project.split_code(old, Code(old, "Again"), Code("other", "Other"), ["s-nope"])


@pytest.mark.slow
def test_demo_corpus_labels_hold_no_speaker_or_place_names(fake_model):
    """The demo transcripts name people and places (Harbridge, the moor's villages): none reaches a label."""
    from pathlib import Path

    import qcode
    from qcode.ingest import read_corpus

    demo = Path(qcode.__file__).parents[1] / "corpora" / "demo"
    out = qcode.discover(demo, min_size=3, max_candidates=50, params=DiscoverParams(n_clusters=12))
    docs = list(read_corpus(demo))
    speakers = {w.lower() for d in docs for t in d.turns if t.speaker for w in t.speaker.replace(".", " ").split()}
    names = capitalised_names([d.text for d in docs], extra=speakers)
    assert "harbridge" in names
    words = {w.strip(",").lower() for c in out.candidates + out.notes for w in (c.label + " " + " ".join(c.keywords)).split()}
    assert not words & names
