"""The derived codings agree with a plain replay of the decision log, for any sequence of decisions."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcode.document import Document, Segment
from qcode.project.sample import build_sample_project
from qcode.review.terminal import build_queue

CODES = ["funding", "staffing", "communication"]
coder_names = (f"coder-{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return build_sample_project(tmp_path_factory.mktemp("log") / "study")


action = st.one_of(
    st.tuples(st.just("decide"), st.integers(0, 2), st.sampled_from(CODES),
              st.sampled_from(["accept", "reject", "skip"])),
    st.tuples(st.just("undo"), st.just(0), st.just(""), st.just("")),
)


def replay(actions, segments):
    """Reference model: a stack of live decisions; the latest accept/reject per (segment, code) stands."""
    live = []
    for kind, seg, code, verdict in actions:
        if kind == "undo":
            if live:
                live.pop()
        else:
            live.append((segments[seg], code, verdict))
    state = {}
    for seg, code, verdict in live:
        if verdict != "skip":
            state[(seg, code)] = verdict
    return {key for key, verdict in state.items() if verdict == "accept"}


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(action, max_size=14))
def test_codings_match_a_replay_of_the_log(project, actions):
    coder = next(coder_names)
    segs = project.segments()
    segments = segs[segs["role"] == "participant"]["segment_id"].tolist()[:3]
    for kind, seg, code, verdict in actions:
        if kind == "undo":
            if project.last_decision(coder) is not None:
                project.undo(coder)
        else:
            project.decide(coder, segments[seg], None if verdict == "skip" else code, verdict)
    expected = replay(actions, segments)
    if coder not in project.coders():  # never decided: nothing to compare, and the coder is unknown
        assert not expected
        return
    got = project.codings(coder)
    assert set(zip(got["segment_id"], got["code_id"])) == expected
    labels = project.labels(coder)
    assert set(zip(labels[labels["accepted"]]["segment_id"], labels[labels["accepted"]]["code_id"])) == expected


def test_suggestions_of_an_old_version_are_not_shown_for_new_text(tmp_path):
    project = build_sample_project(tmp_path / "study")
    doc = project.document("site-b/interview-02.txt")
    before = {item.segment_id for item in build_queue(project.segments(), project.suggestions())}
    # the transcript is corrected after the run; the first turn keeps its offsets (same segment id)
    changed = doc.text.replace("hospice", "HOSPICE")
    project.add_documents([Document(doc.id, changed)])
    old = project.segments(all_versions=True)
    old = old[(old["doc_id"] == doc.id) & (old["doc_version"] == 1)]
    project.add_segments([Segment(r.segment_id, r.doc_id, r.start, r.end, changed[r.start:r.end], r.unit, r.speaker,
                                  r.role, r.turn_index) for r in old.itertuples(index=False)])
    after = build_queue(project.segments(), project.suggestions())
    # the new text is queued (every segment is), with no suggestion lent from the old text
    assert {item.doc_id for item in after if item.suggestions} == {"site-a/interview-01.txt"}
    assert all(not item.suggestions for item in after if item.doc_id == doc.id)
    assert {item.segment_id for item in after if item.suggestions} < before
