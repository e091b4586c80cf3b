"""The project store: schema, versioned documents, the append-only decision log, derived codings, errors."""

from __future__ import annotations

import json
import sqlite3
import threading

import pandas as pd
import pytest

import qcode
from qcode.codebook import codebook_from_dict
from qcode.document import Document, Segment, segment_id
from qcode.errors import ProjectError
from qcode.project import init_project, open_project
from qcode.project.sample import SAMPLE_CODEBOOK, build_sample_project, sample_codebook, sample_documents


@pytest.fixture
def project(tmp_path):
    return build_sample_project(tmp_path / "study")


def seg_ids(project):
    return project.segments()["segment_id"].tolist()


def participant_segment(project, n=0):
    segs = project.segments()
    return segs[segs["role"] == "participant"].iloc[n]


# -- opening and schema -------------------------------------------------------------

def test_init_creates_wal_database_with_versioned_schema(tmp_path):
    project = init_project(tmp_path / "p")
    assert (tmp_path / "p" / "qcode.sqlite").is_file()
    assert json.loads((tmp_path / "p" / "settings.json").read_text())["qcode_project"] == project.schema_version
    conn = sqlite3.connect(tmp_path / "p" / "qcode.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "3"
    assert project._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert project._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert not list((tmp_path / "p").glob(".qcode.sqlite.init*"))


def test_public_api_is_lazy_exported(tmp_path):
    project = qcode.init_project(tmp_path / "p", codebook=sample_codebook())
    again = qcode.open_project(tmp_path / "p")
    assert again.codebook.version == project.codebook.version == sample_codebook().version


def test_open_missing_project_names_the_fix(tmp_path):
    with pytest.raises(ProjectError, match=r"not a qcode project \(run `qcode init .*nope`\)"):
        open_project(tmp_path / "nope")


def test_init_refuses_existing_project(project):
    with pytest.raises(ProjectError, match="already a qcode project"):
        init_project(project.path)


def test_newer_schema_is_refused(project):
    project._conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ProjectError, match="schema version 99 .*newer qcode"):
        open_project(project.path)


# -- documents and segments ------------------------------------------------------------

def test_add_documents_reports_new_unchanged_changed(project):
    docs, _ = sample_documents()
    report = project.add_documents(docs)
    assert report == {"new": [], "unchanged": [d.id for d in docs], "changed": []}
    edited = Document(docs[0].id, docs[0].text.replace("grant", "GRANT"))
    fresh = Document("site-c/new.txt", "P9: hello")
    report = project.add_documents([edited, fresh, docs[1]])
    assert report == {"new": ["site-c/new.txt"], "unchanged": [docs[1].id], "changed": [docs[0].id]}
    versions = project.documents(all_versions=True)
    assert versions[versions["doc_id"] == docs[0].id]["version"].tolist() == [1, 2]
    assert project.document_text(docs[0].id) == edited.text
    assert project.document_text(docs[0].id, version=1) == docs[0].text
    assert project.document(docs[0].id).turns == []
    assert project.document(docs[0].id, 1).turns == docs[0].turns


def test_decisions_stay_attached_to_the_text_they_were_made_on(project):
    seg = participant_segment(project)
    project.decide("alice", seg.segment_id, "funding", "accept")
    old_text = project.document_text(seg.doc_id)
    project.add_documents([Document(seg.doc_id, "P1: a completely different transcript now")])
    coding = project.codings().iloc[0]
    assert coding["text"] == seg.text == old_text[coding["start"]:coding["end"]]
    assert coding["doc_version"] == 1 and bool(coding["stale"]) is True
    # the old segment is no longer current: deciding on it again names the change
    with pytest.raises(ProjectError, match="version 1 of document .* has changed since"):
        project.decide("alice", seg.segment_id, "funding", "accept")


def test_segment_text_must_match_the_document(project):
    doc_id = participant_segment(project).doc_id
    bad = Segment(segment_id(doc_id, "turn", 0, 5), doc_id, 0, 5, "nope!", "turn")
    with pytest.raises(ProjectError, match=r"does not match document .* at 0:5"):
        project.add_segments([bad])
    beyond = Segment("s-x", doc_id, 0, 10 ** 6, "x", "turn")
    with pytest.raises(ProjectError, match="outside document"):
        project.add_segments([beyond])
    with pytest.raises(ProjectError, match="unknown document 'ghost.txt'"):
        project.add_segments([Segment("s-y", "ghost.txt", 0, 1, "x", "turn")])


def test_add_segments_is_all_or_nothing_and_idempotent(project):
    before = len(project.segments())
    doc = project.document("site-a/interview-01.txt")
    good = Segment(segment_id(doc.id, "sentence", 0, 2), doc.id, 0, 2, doc.text[0:2], "sentence")
    bad = Segment("s-bad", doc.id, 0, 2, "zz", "sentence")
    with pytest.raises(ProjectError):
        project.add_segments([good, bad])
    assert len(project.segments()) == before
    assert project.add_segments([good]) == 1
    assert project.add_segments([good]) == 0
    assert len(project.segments()) == before + 1


# -- codebooks -------------------------------------------------------------------------

def smaller_codebook(drop: str, rename: dict | None = None):
    data = json.loads(json.dumps(SAMPLE_CODEBOOK))

    def keep(codes):
        out = []
        for code in codes:
            if code["id"] == drop:
                continue
            code = dict(code)
            if "children" in code:
                code["children"] = keep(code["children"])
            out.append(code)
        return out

    data["codes"] = keep(data["codes"])
    for new in (rename or {}).values():
        data["codes"].append({"id": new, "name": new.title()})
    return codebook_from_dict(data)


def test_codebook_round_trips_with_the_same_version(project):
    assert project.codebook.to_dict() == sample_codebook().to_dict()
    assert open_project(project.path).codebook.version == sample_codebook().version


def test_codebook_change_that_drops_a_decided_code_is_refused(project):
    seg = participant_segment(project)
    project.decide("alice", seg.segment_id, "staffing", "accept")
    before = project.codebook.version
    with pytest.raises(ProjectError, match=r"drops codes that carry decisions: 'staffing' \(1 decisions\)"):
        project.set_codebook(smaller_codebook("staffing"))
    assert project.codebook.version == before
    assert len(project.codebooks()) == 1
    # a code nobody used can go
    project.set_codebook(smaller_codebook("coordination"))
    assert "coordination" not in project.codebook


def test_codebook_migration_moves_codings_without_touching_the_log(project):
    seg = participant_segment(project)
    project.decide("alice", seg.segment_id, "staffing", "accept")
    log_before = project.decisions()
    version = project.set_codebook(smaller_codebook("staffing", rename={"staffing": "workforce"}),
                                   migrate={"staffing": "workforce"})
    assert project.codebook.version == version
    pd.testing.assert_frame_equal(project.decisions(), log_before)
    coding = project.codings().iloc[0]
    assert (coding["code_id"], coding["code_name"]) == ("workforce", "Workforce")
    with pytest.raises(ProjectError, match="has no code 'nowhere'"):
        project.set_codebook(smaller_codebook("funding"), migrate={"funding": "nowhere"})


def test_codebook_migration_to_none_drops_codings(project):
    seg = participant_segment(project)
    project.decide("alice", seg.segment_id, "staffing", "accept")
    project.set_codebook(smaller_codebook("staffing"), migrate={"staffing": None})
    assert project.codings().empty
    assert project.decisions()["code_id"].tolist() == ["staffing"]


# -- runs and suggestions -----------------------------------------------------------------

def test_run_records_model_codebook_and_parameters(project):
    runs = project.runs()
    assert runs.loc[0, "model"] == "hand-made"
    assert runs.loc[0, "codebook_version"] == project.codebook.version
    assert runs.loc[0, "params"] == {"note": "qcode.project.sample"}
    sugg = project.suggestions()
    assert (sugg.groupby("segment_id")["rank"].min() == 1).all()
    assert set(sugg["code_id"]) <= {c.id for c in project.codebook}


def test_add_run_validates_everything_before_writing(project):
    seg = participant_segment(project).segment_id
    with pytest.raises(ProjectError, match="has no code 'bogus'"):
        project.add_run({"model": "m"}, [(seg, "funding", 0.5, 1), (seg, "bogus", 0.4, 2)])
    with pytest.raises(ProjectError, match="unknown segment 's-nothere'"):
        project.add_run({"model": "m"}, [("s-nothere", "funding", 0.5, 1)])
    with pytest.raises(ProjectError, match="suggested twice"):
        project.add_run({"model": "m"}, [(seg, "funding", 0.5, 1), (seg, "funding", 0.4, 2)])
    assert len(project.runs()) == 1
    run = project.add_run({"model": "m2"}, [(seg, "staffing", 0.9, 1)])
    assert project.suggestions()["run_id"].unique().tolist() == [run]
    assert len(project.suggestions("all")) == len(project.suggestions(1)) + 1
    with pytest.raises(ProjectError, match="unknown run 42"):
        project.suggestions(42)


# -- decisions and codings ------------------------------------------------------------------

def test_decide_records_score_of_the_suggestion(project):
    sugg = project.suggestions().iloc[0]
    event = project.decide("alice", sugg.segment_id, sugg.code_id, "accept", run_id=int(sugg.run_id))
    row = project.decisions().set_index("event_id").loc[event]
    assert row["score"] == pytest.approx(sugg.score)
    assert row["source"] == "suggestion" and row["text"] == sugg.text
    manual = project.decide("alice", sugg.segment_id, "coordination", "accept", note="my memo")
    row = project.decisions().set_index("event_id").loc[manual]
    assert row["source"] == "manual" and pd.isna(row["score"]) and row["note"] == "my memo"
    assert project.coders() == ["alice"]


def test_change_of_mind_and_undo_are_new_events(project):
    seg = participant_segment(project).segment_id
    project.decide("alice", seg, "funding", "accept")
    assert project.codings()["code_id"].tolist() == ["funding"]
    project.decide("alice", seg, "funding", "reject")
    assert project.codings().empty
    project.undo("alice")  # undoes the reject: the accept stands again
    assert project.codings()["code_id"].tolist() == ["funding"]
    project.undo("alice")  # undoes the accept
    assert project.codings().empty
    log = project.decisions()
    assert log["verdict"].tolist() == ["accept", "reject", "undo", "undo"]
    assert log["undone"].tolist() == [True, True, False, False]
    assert log["undoes"].tolist()[2:] == [2, 1]
    with pytest.raises(ProjectError, match="no decision to undo"):
        project.undo("alice")


def test_skip_does_not_change_a_coding(project):
    seg = participant_segment(project).segment_id
    project.decide("alice", seg, "funding", "accept")
    project.decide("alice", seg, None, "skip")
    assert project.codings()["code_id"].tolist() == ["funding"]


def test_codings_are_per_coder(project):
    a, b = participant_segment(project, 0).segment_id, participant_segment(project, 1).segment_id
    project.decide("alice", a, "funding", "accept")
    project.decide("bob", a, "staffing", "accept")
    project.decide("bob", b, "staffing", "accept")
    assert project.codings(coder="bob")["segment_id"].tolist() == [a, b]
    assert set(project.codings()["coder"]) == {"alice", "bob"}
    assert list(project.codings().columns) == ["doc_id", "doc_version", "segment_id", "start", "end", "text",
                                               "code_id", "code_name", "coder", "time", "event_id", "source",
                                               "note", "stale"]
    with pytest.raises(ProjectError, match=r"unknown coder 'carol' \(coders: alice, bob\)"):
        project.codings(coder="carol")


def test_code_span_validates_offsets_and_keeps_unicode_text(project):
    doc_id = "site-a/interview-01.txt"
    text = project.document_text(doc_id)
    start = text.index("café")
    end = text.index("😀") + 1
    event = project.code_span("alice", doc_id, start, end, "communication")
    row = project.decisions().set_index("event_id").loc[event]
    assert row["text"] == text[start:end] and row["text"].endswith("😀")
    assert row["segment_id"] is None or pd.isna(row["segment_id"])
    with pytest.raises(ProjectError, match=r"span 5:99999 is outside document"):
        project.code_span("alice", doc_id, 5, 99999, "communication")
    with pytest.raises(ProjectError, match="outside document .* or empty"):
        project.code_span("alice", doc_id, 7, 7, "communication")
    with pytest.raises(ProjectError, match="unknown document 'nope'"):
        project.code_span("alice", "nope", 0, 1, "communication")


def test_span_with_segment_offsets_is_linked_to_the_segment(project):
    seg = participant_segment(project)
    project.code_span("alice", seg.doc_id, int(seg.start), int(seg.end), "funding")
    assert project.codings().iloc[0]["segment_id"] == seg.segment_id


@pytest.mark.parametrize("kwargs, message", [
    ({"segment_id": "s-000000000000", "code_id": "funding", "verdict": "accept"}, "unknown segment 's-000000000000'"),
    ({"code_id": "Fundng", "verdict": "accept"}, "has no code 'Fundng'"),
    ({"code_id": "Funding", "verdict": "accept"}, "did you mean 'funding'"),
    ({"code_id": "funding", "verdict": "maybe"}, "verdict must be one of accept, reject, skip, got 'maybe'"),
    ({"code_id": None, "verdict": "accept"}, "'accept' decision needs a code"),
    ({"code_id": "funding", "verdict": "accept", "coder": "  "}, "coder name must be non-empty"),
    ({"code_id": "funding", "verdict": "accept", "run_id": 7}, "unknown run 7"),
])
def test_bad_decisions_raise_one_line_errors_and_write_nothing(project, kwargs, message):
    args = {"coder": "alice", "segment_id": participant_segment(project).segment_id, **kwargs}
    with pytest.raises(ProjectError, match=message) as info:
        project.decide(args.pop("coder"), args.pop("segment_id"), args.pop("code_id"), args.pop("verdict"), **args)
    assert "\n" not in str(info.value)
    assert project.decisions().empty and project.coders() == []


def test_record_many_is_one_transaction(project):
    segs = project.segments()
    good = [{"coder": "bob", "segment_id": s, "code_id": "funding", "verdict": "accept", "source": "import",
             "time": "2020-01-01T00:00:00Z"} for s in segs["segment_id"][:3]]
    bad = {"coder": "bob", "doc_id": segs.loc[0, "doc_id"], "start": 0, "end": 10 ** 6, "code_id": "funding",
           "verdict": "accept"}
    with pytest.raises(ProjectError, match=r"decision #4: span 0:1000000 is outside"):
        project.record_many([*good, bad])
    assert project.decisions().empty and project.coders() == []
    ids = project.record_many(good)
    log = project.decisions()
    assert log["event_id"].tolist() == ids and set(log["source"]) == {"import"}
    assert set(log["time"]) == {"2020-01-01T00:00:00Z"}


def test_transaction_block_rolls_back_everything_on_error(project):
    seg = participant_segment(project).segment_id
    with pytest.raises(RuntimeError):
        with project.transaction():
            project.add_coder("zoë", guid="0b6c-guid")
            project.decide("zoë", seg, "funding", "accept")
            raise RuntimeError("importer failed half-way")
    assert project.decisions().empty and project.coders() == []
    with project.transaction():
        project.add_coder("zoë", guid="0b6c-guid")
        project.decide("zoë", seg, "funding", "accept")
    assert project.coder_guids() == {"zoë": "0b6c-guid"}
    assert len(project.decisions()) == 1


def test_events_cannot_be_updated_or_deleted(project):
    project.decide("alice", participant_segment(project).segment_id, "funding", "accept")
    conn = sqlite3.connect(project.db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET verdict = 'reject'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.close()
    assert project.decisions()["verdict"].tolist() == ["accept"]


# -- hostile environment ------------------------------------------------------------------

def test_full_disk_is_a_project_error_and_writes_nothing(project):
    seg = participant_segment(project).segment_id
    project.decide("alice", seg, "funding", "accept")
    pages = project._conn.execute("PRAGMA page_count").fetchone()[0]
    project._conn.execute(f"PRAGMA max_page_count = {pages}")  # the database may not grow: a full disk
    huge = [{"coder": "alice", "segment_id": seg, "code_id": "funding", "verdict": "accept", "note": "x" * 5000}
            for _ in range(50)]
    with pytest.raises(ProjectError, match="disk is full .*nothing of this change was written"):
        project.record_many(huge)
    with pytest.raises(ProjectError, match="disk is full"):
        project.add_documents([Document("big.txt", "y" * 200_000)])
    fresh = open_project(project.path)
    assert len(fresh.decisions()) == 1
    assert "big.txt" not in fresh.documents()["doc_id"].tolist()
    assert fresh.integrity_check() == "ok"


def test_read_only_database_is_a_project_error(project):
    project.close()
    project.db_path.chmod(0o444)
    try:
        readonly = open_project(project.path)
        assert readonly.readonly
        assert len(readonly.segments()) == len(sample_documents()[1])
        with pytest.raises(ProjectError, match="read-only; nothing was written"):
            readonly.decide("alice", participant_segment(readonly).segment_id, "funding", "accept")
    finally:
        project.db_path.chmod(0o644)
    assert open_project(project.path).decisions().empty


def test_locked_database_times_out_with_a_project_error(project):
    seg = participant_segment(project).segment_id
    blocker = sqlite3.connect(project.db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        impatient = open_project(project.path, lock_timeout=0.3)
        with pytest.raises(ProjectError, match="locked by another process"):
            impatient.decide("alice", seg, "funding", "accept")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert open_project(project.path).decisions().empty


def test_writer_waits_for_a_short_lock_instead_of_failing(project):
    seg = participant_segment(project).segment_id
    blocker = sqlite3.connect(project.db_path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.4, lambda: blocker.execute("COMMIT"))
    release.start()
    patient = open_project(project.path, lock_timeout=10)
    event = patient.decide("alice", seg, "funding", "accept")
    release.join()
    blocker.close()
    assert project.decisions()["event_id"].tolist() == [event]


def test_status_counts(project):
    seg = participant_segment(project).segment_id
    project.decide("alice", seg, "funding", "accept")
    project.decide("alice", seg, "staffing", "accept")
    project.undo("alice")
    info = project.status()
    assert info["documents"] == 2 and info["segments"] == len(sample_documents()[1]) and info["runs"] == 1
    assert info["suggestions"] == len(project.suggestions())
    assert info["coders"]["alice"] == {"decisions": 2, "undos": 1, "codings": 1}


def test_labels_keep_standing_rejections_and_drop_undone_decisions(project):
    a, b = participant_segment(project, 0).segment_id, participant_segment(project, 1).segment_id
    project.decide("alice", a, "funding", "accept")
    project.decide("alice", a, "staffing", "reject")
    project.decide("alice", b, "funding", "accept")
    project.decide("alice", b, "funding", "reject")   # change of mind: the reject stands
    project.decide("alice", b, "communication", "accept")
    project.undo("alice")                            # ...and this accept never happened
    labels = project.labels()
    got = {(r.segment_id, r.code_id): bool(r.accepted) for r in labels.itertuples(index=False)}
    assert got == {(a, "funding"): True, (a, "staffing"): False, (b, "funding"): False}
    assert "verdict" not in labels.columns
    assert labels["text"].tolist() == [project.segments().set_index("segment_id").loc[s, "text"]
                                       for s in labels["segment_id"]]


def test_init_never_overwrites_a_database_made_concurrently(tmp_path):
    from qcode.project.opening import _publish_new

    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "qcode.sqlite").write_bytes(b"the other process's project")
    (folder / ".new").write_bytes(b"ours")
    with pytest.raises(ProjectError, match="already a qcode project"):
        _publish_new(folder / ".new", folder / "qcode.sqlite", folder)
    assert (folder / "qcode.sqlite").read_bytes() == b"the other process's project"
    assert not (folder / ".new").exists()


def test_public_names_for_what_the_cli_needs_and_no_old_aliases(tmp_path):
    from qcode.project import base, store, validation
    from qcode.project.store import Project

    project = init_project(tmp_path / "p")
    assert project.codebook_or_none() is None
    project.set_codebook(sample_codebook())
    assert project.codebook_or_none().version == project.codebook.version
    with pytest.raises(ProjectError, match="unknown coder 'zoe'"):
        project.require_coder("zoe")
    assert not hasattr(Project, "_codebook_or_none") and not hasattr(Project, "_known_coder")
    assert validation.check_coder(" ann ") == "ann" and not hasattr(store, "_check_coder")
    assert not hasattr(validation, "_check_coder") and not hasattr(base, "_translate")
    with pytest.raises(ProjectError, match="control characters"):
        validation.check_coder("a\tb")


def test_the_split_store_keeps_every_public_method_of_project():
    from qcode.project.store import Project

    for name in ("add_documents", "document", "document_text", "documents", "add_segments", "segments", "codebook",
                 "codebook_version", "set_codebook", "codebooks", "add_run", "runs", "latest_run", "suggestions",
                 "add_coder", "coders", "coder_guids", "decide", "code_span", "record_many", "undo",
                 "last_decision", "decisions", "codings", "labels", "status", "integrity_check", "transaction",
                 "close", "schema_version", "event_by_key"):
        assert hasattr(Project, name), name
