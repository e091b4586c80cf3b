"""Idempotency keys on decisions: a retried request with the same key records nothing new."""

from __future__ import annotations

import sqlite3

import pytest

from qcode.errors import ProjectError
from qcode.project import open_project
from qcode.project.sample import build_sample_project


@pytest.fixture()
def project(tmp_path):
    proj = build_sample_project(tmp_path / "study")
    yield proj
    proj.close()


def first_segment(project) -> str:
    return str(project.segments()["segment_id"].iloc[0])


def test_the_same_key_twice_records_one_event_and_returns_its_id(project):
    seg = first_segment(project)
    before = len(project.decisions())
    first = project.decide("alice", seg, "funding", "accept", note="clear", event_key="req-1")
    again = project.decide("alice", seg, "funding", "accept", note="clear", event_key="req-1")
    assert again == first
    log = project.decisions()
    assert len(log) == before + 1
    assert project.event_by_key("req-1")["event_id"] == first
    assert project.event_by_key("req-2") is None


def test_the_same_key_on_a_different_decision_is_refused(project):
    seg = first_segment(project)
    project.decide("alice", seg, "funding", "accept", event_key="req-1")
    before = len(project.decisions())
    with pytest.raises(ProjectError, match="event_key 'req-1' was already used for event .*verdict 'accept', "
                                           "not 'reject'"):
        project.decide("alice", seg, "funding", "reject", event_key="req-1")
    with pytest.raises(ProjectError, match="already used .*coder 'alice', not 'bob'"):
        project.decide("bob", seg, "funding", "accept", event_key="req-1")
    assert len(project.decisions()) == before


def test_span_decisions_and_batches_are_idempotent_too(project):
    doc = str(project.documents()["doc_id"].iloc[0])
    span = project.code_span("alice", doc, 0, 10, "funding", event_key="span-1")
    assert project.code_span("alice", doc, 0, 10, "funding", event_key="span-1") == span
    with pytest.raises(ProjectError, match="start 0, not 1"):
        project.code_span("alice", doc, 1, 10, "funding", event_key="span-1")
    events = [{"coder": "bob", "doc_id": doc, "start": 0, "end": 5, "code_id": "funding", "verdict": "accept",
               "event_key": f"b-{i}"} for i in range(2)]
    ids = project.record_many(events)
    before = len(project.decisions())
    assert project.record_many(events) == ids
    assert len(project.decisions()) == before
    # a key repeated inside one batch is the same decision given twice
    twice = project.record_many([{**events[0], "event_key": "b-9"}, {**events[0], "event_key": "b-9"}])
    assert twice[0] == twice[1]
    with pytest.raises(ProjectError, match="decision #2: event_key 'b-8' was already used"):
        project.record_many([{**events[0], "event_key": "b-8"}, {**events[1], "verdict": "reject",
                                                                 "event_key": "b-8"}])
    assert project.event_by_key("b-8") is None  # the whole batch rolled back


def test_undo_with_a_key_is_not_repeated(project):
    seg = first_segment(project)
    project.decide("alice", seg, "funding", "accept")
    project.decide("alice", seg, "staffing", "accept")
    undo = project.undo("alice", event_key="undo-1")
    assert project.undo("alice", event_key="undo-1") == undo
    assert set(project.codings(coder="alice")["code_id"]) == {"funding"}
    with pytest.raises(ProjectError, match="not an undo of 'bob'"):
        project.undo("bob", event_key="undo-1")


@pytest.mark.parametrize("key, message", [("", "non-empty"), ("x" * 201, "over the 200"), ("a\nb", "control"),
                                          (7, "non-empty text")])
def test_bad_keys_are_refused(project, key, message):
    with pytest.raises(ProjectError, match=message):
        project.decide("alice", first_segment(project), "funding", "accept", event_key=key)


def test_a_schema_1_project_upgrades_in_place_and_keeps_its_log(tmp_path):
    proj = build_sample_project(tmp_path / "old")
    seg = first_segment(proj)
    event = proj.decide("alice", seg, "funding", "accept")
    log = proj.decisions()
    proj.close()
    conn = sqlite3.connect(tmp_path / "old" / "qcode.sqlite")  # make it what qcode 0.1 wrote
    conn.execute("DROP INDEX events_by_key")
    conn.execute("ALTER TABLE events DROP COLUMN event_key")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    readonly = open_project(tmp_path / "old", readonly=True)  # reading needs no upgrade
    assert readonly.schema_version == 1 and readonly.decisions().equals(log)
    readonly.close()
    upgraded = open_project(tmp_path / "old")
    assert upgraded.schema_version == 3
    assert upgraded.decisions().equals(log)
    again = upgraded.decide("alice", seg, "staffing", "accept", event_key="after-upgrade")
    assert upgraded.decide("alice", seg, "staffing", "accept", event_key="after-upgrade") == again > event
    upgraded.close()
    assert open_project(tmp_path / "old").schema_version == 3
