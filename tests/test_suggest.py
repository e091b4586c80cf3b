"""The Suggester: ranking quality with the real model; thresholds, determinism and learning with the fake one."""

from __future__ import annotations

import numpy as np
import pytest

from qcode import load_codebook, make_suggester
from qcode.document import Segment
from qcode.errors import QcodeError
from qcode.suggest.state import load_state, save_state

FUNDING = "Every April we have to go back and bid for the money again, and nobody knows if the post will survive."
RECORDS = ("The hospice uses one records system and the hospital another, so at night I can't see what "
           "medication the GP has prescribed.")
TRAINING = "The study days were brilliant, but they were all in the city and my nurses couldn't get the time off."


def test_ranks_codable_leaves_with_their_domain(mcn_suggester):
    cb = mcn_suggester.codebook
    out = mcn_suggester.suggest([FUNDING], top_k=5)[0]
    assert [s.rank for s in out] == [1, 2, 3, 4, 5]
    assert [s.score for s in out] == sorted((s.score for s in out), reverse=True)
    leaf_ids = {c.id for c in cb.leaves()}
    assert all(s.code_id in leaf_ids for s in out)
    for s in out:
        assert s.parent_id == cb.root_of(s.code_id).id
        assert s.parent_name == cb.root_of(s.code_id).name
    assert len(mcn_suggester.target_codes) == 19


@pytest.mark.parametrize("text, expected", [
    (FUNDING, "infrastructure.funding"),
    (RECORDS, "technology.data-sharing"),
    (TRAINING, "processes.training"),
])
def test_plain_statements_get_their_theme_in_top_3(mcn_suggester, text, expected):
    top3 = [s.code_id for s in mcn_suggester.suggest(text, top_k=3)[0]]
    assert expected in top3


def test_same_input_same_output_and_batch_independence(fake_suggester):
    alone = fake_suggester.score([RECORDS])
    batch = fake_suggester.score([FUNDING, RECORDS, TRAINING])
    np.testing.assert_allclose(alone[0], batch[1], atol=1e-5)
    again = fake_suggester.suggest([FUNDING, RECORDS], top_k=3)
    assert again == fake_suggester.suggest([FUNDING, RECORDS], top_k=3)


def test_segments_are_accepted_as_inputs(fake_suggester):
    seg = Segment(id="s-x", doc_id="d", start=0, end=len(FUNDING), text=FUNDING, unit="turn")
    assert fake_suggester.suggest([seg])[0] == fake_suggester.suggest([FUNDING])[0]


def test_threshold_and_multi_label(fake_suggester):
    full = fake_suggester.suggest([FUNDING], top_k=None)[0]
    assert len(full) == 19
    cut = full[2].score
    kept = fake_suggester.suggest([FUNDING], top_k=None, threshold=cut, multi_label=True)[0]
    assert [s.code_id for s in kept] == [s.code_id for s in full[:3]]
    nothing = fake_suggester.suggest([FUNDING], top_k=3, threshold=10.0, multi_label=True)[0]
    assert nothing == []
    # single-label mode keeps the best code even when everything is under the threshold
    best_only = fake_suggester.suggest([FUNDING], top_k=3, threshold=10.0)[0]
    assert [s.code_id for s in best_only] == [full[0].code_id]


def test_identity_records_model_codebook_and_params(mcn_suggester):
    ident = mcn_suggester.identity()
    assert ident["model"]["name"] == "all-MiniLM-L6-v2"
    assert len(ident["model"]["weights_sha256"]) == 64
    assert ident["codebook"] == {"name": "mcn-sst", "version": mcn_suggester.codebook.version}
    assert ident["params"]["lexical_weight"] == mcn_suggester.params.lexical_weight


def test_learning_accepts_and_rejects_change_the_ranking(fake_embedder, tmp_path):
    cb = load_codebook("mcn-sst")
    s = make_suggester(cb, model=fake_embedder)
    probe = "The minibus to the hub leaves at six and the parents' group meets on Thursdays."
    before = {x.code_id: x.score for x in s.suggest(probe, top_k=None)[0]}
    target = min(before, key=before.get)  # the code the model likes least for this text
    taught = [
        "The minibus to the hub leaves early and the parents' group meets weekly.",
        "Parents ride the minibus to the hub for the Thursday group.",
        "We run a minibus so families can reach the parents' group at the hub.",
    ]
    s.learn(taught, [target] * 3, [True] * 3)
    after = {x.code_id: x.score for x in s.suggest(probe, top_k=None)[0]}
    assert after[target] > before[target]
    assert s.suggest(probe, top_k=3)[0][0].code_id == target

    # a rejection of the now-top code for this exact passage pushes it down again
    s.learn([probe], [target], [False])
    rejected = {x.code_id: x.score for x in s.suggest(probe, top_k=None)[0]}
    assert rejected[target] < after[target]

    # the learned state survives a save and reload bit for bit
    state = save_state(s, tmp_path / "state.json")
    fresh = load_state(make_suggester(cb, model=fake_embedder), state)
    np.testing.assert_allclose(fresh.score([probe]), s.score([probe]), atol=1e-6)
    assert fresh.identity()["learned_state"] == s.identity()["learned_state"]


def test_learn_validates_its_inputs(fake_suggester):
    with pytest.raises(QcodeError, match="equal length"):
        fake_suggester.learn(["a", "b"], ["infrastructure.funding"], [True, False])
    with pytest.raises(QcodeError, match="no-such-code"):
        fake_suggester.learn(["a"], ["no-such-code"], [True])


def test_classifier_takes_part_once_a_code_has_enough_labels(fake_embedder):
    from qcode.suggest import RankingParams

    cb = load_codebook("mcn-sst")
    s = make_suggester(cb, model=fake_embedder, params=RankingParams(min_labels=3), learning="blend")
    pos = [f"The hospice van number {i} broke down on the moor road again." for i in range(4)]
    neg = [f"We agreed the new guideline number {i} at the steering group." for i in range(4)]
    s.learn(pos + neg, ["infrastructure.geography"] * 8, [True] * 4 + [False] * 4)
    assert "infrastructure.geography" in s._classifiers
    assert s.suggest("The van broke down on the moor road.", top_k=1)[0][0].code_id == "infrastructure.geography"
    # with a classifier active, a segment's scores still do not depend on the rest of its batch
    probe = "The van broke down on the moor road."
    np.testing.assert_allclose(s.score([probe])[0], s.score([FUNDING, probe, TRAINING])[1], atol=1e-5)


def test_learn_from_a_project_uses_standing_decisions_only(fake_embedder, tmp_path):
    from qcode.document import Document, Turn, segment_id
    from qcode.project import init_project

    text = "P1: The van to the hub broke down again.\nP2: We agreed the new guideline at the steering group."
    doc = Document(id="d.txt", text=text, turns=[Turn(4, 40, "P1", "participant"), Turn(45, len(text), "P2", "participant")])
    segs = [Segment(segment_id("d.txt", "turn", t.start, t.end), "d.txt", t.start, t.end, text[t.start:t.end], "turn",
                    t.speaker, t.role) for t in doc.turns]
    project = init_project(tmp_path / "p", codebook="mcn-sst")
    project.add_documents([doc])
    project.add_segments(segs)
    project.decide("ana", segs[0].id, "infrastructure.geography", "accept")
    project.decide("ana", segs[1].id, "processes.best-practice", "accept")
    project.decide("ana", segs[1].id, "infrastructure.funding", "reject")
    project.undo("ana")  # takes the rejection back
    s = make_suggester("mcn-sst", model=fake_embedder).learn_decisions(project)
    assert s.examples.accepted == {"infrastructure.geography": [segs[0].text],
                                   "processes.best-practice": [segs[1].text]}
    assert s.examples.rejected == {}
    assert s.identity()["learned_decisions"] == 2
