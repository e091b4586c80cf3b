from __future__ import annotations

import numpy as np
import pytest

from qcode.document import Document, Segment, Turn
from qcode.suggest.abstain import NULL_PROTOTYPES, abstain_mask, abstention_figures, null_similarity
from qcode.suggest.context import embed_with_context, mix_context, preceding_question, questions_for


def _doc():
    text = "Interviewer: What about training?\nP1: Yes, the study day.\nP1: And more.\nInterviewer: Thanks."
    turns = []
    for speaker, role, line in [("Interviewer", "interviewer", "What about training?"), ("P1", "participant", "Yes, the study day."),
                                ("P1", "participant", "And more."), ("Interviewer", "interviewer", "Thanks.")]:
        start = text.index(line)
        turns.append(Turn(start, start + len(line), speaker, role))
    return Document(id="d", text=text, turns=turns)


def _seg(doc, i):
    t = doc.turns[i]
    return Segment(f"s{i}", doc.id, t.start, t.end, doc.text[t.start:t.end], "turn", t.speaker, t.role, turn_index=i)


def test_a_participant_turn_gets_the_nearest_preceding_question():
    doc = _doc()
    assert preceding_question(doc, _seg(doc, 1)) == "What about training?"
    assert preceding_question(doc, _seg(doc, 2)) == "What about training?"
    assert preceding_question(doc, _seg(doc, 0)) is None  # an interviewer turn has no question
    assert questions_for([doc], [_seg(doc, 1), Segment("x", "other", 0, 1, "a", "turn")]) == ["What about training?", None]


def test_mixing_leaves_rows_without_a_question_alone_and_keeps_unit_length():
    X = np.eye(3, dtype=np.float32)[:2]
    Q = np.eye(3, dtype=np.float32)[[2, 2]]
    out = mix_context(X, Q, np.array([True, False]), weight=0.5)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(out[1], X[1])
    assert out[0, 2] > 0 and out[0, 0] > out[0, 2]
    np.testing.assert_array_equal(mix_context(X, Q, np.array([True, True]), weight=0.0), X)


def test_context_moves_a_vague_answer_towards_its_question(fake_embedder):
    answer, question = "Yes, that's been the good bit.", "What about training and study days?"
    mixed = embed_with_context(fake_embedder, [answer], [question])[0]
    alone = fake_embedder.encode([answer])[0]
    q = fake_embedder.encode([question])[0]
    assert float(mixed @ q) > float(alone @ q)
    np.testing.assert_array_equal(embed_with_context(fake_embedder, [answer], [None])[0], alone)


def test_abstain_when_housekeeping_beats_every_code():
    scores = np.array([[0.6, 0.1], [0.2, 0.1]])
    null = np.array([[0.3, 0.2, 0.1], [0.5, 0.6, 0.0]])
    assert abstain_mask(scores, null, margin=0.1).tolist() == [False, True]
    assert abstain_mask(scores, null, margin=0.5).tolist() == [False, False]
    sims = null_similarity(np.eye(2), np.eye(2))
    assert sims.tolist() == [0.5, 0.5]
    fig = abstention_figures([True, True, False, True], [False, True, False, False])
    assert fig["precision"] == pytest.approx(0.75) and fig["recall"] == pytest.approx(0.75)
    assert fig["codable_silenced"] == pytest.approx(0.25)
    assert len(NULL_PROTOTYPES) == len(set(NULL_PROTOTYPES)) >= 10
