"""The blind-coding rule of issue 12: a coder's blind suggestions learn only from that coder's decisions.

Reproduces the case found on a clean clone: coder ana accepts the model's third
choice on every segment; before the rule, learning from the project made ana's
code the second coder ben's top suggestion almost everywhere.
"""

from __future__ import annotations

import numpy as np
import pytest

from qcode.document import Document, Segment, Turn, segment_id
from qcode.errors import InputError
from qcode.suggest import Suggester
from qcode.suggest.coders import LearningScope, learn_in_scope, scope_for, scoped_labels

LINES = [
    "We never know if the money will be there next year.",
    "Nobody can see the hospice notes from the GP system.",
    "There aren't enough nurses to cover nights.",
    "The roads over the moor close in winter.",
    "We agreed the new symptom guideline at the steering group.",
    "Half my team have never heard of the network.",
    "The study day on syringe drivers was excellent.",
    "The hospital still calls the shots on everything.",
    "We all want the same care for every child in the region.",
    "Nobody measures whether families are better off.",
    "Our own targets always come before the network's.",
    "The coordinator keeps everyone talking between meetings.",
]


def _project(tmp_path):
    from qcode.project import init_project

    text = "\n".join(f"P{i}: {line}" for i, line in enumerate(LINES))
    turns, pos = [], 0
    for i, line in enumerate(LINES):
        start = text.index(line, pos)
        turns.append(Turn(start, start + len(line), f"P{i}", "participant"))
        pos = start + len(line)
    doc = Document(id="d.txt", text=text, turns=turns)
    segs = [Segment(segment_id("d.txt", "turn", t.start, t.end), "d.txt", t.start, t.end, text[t.start:t.end],
                    "turn", t.speaker, t.role) for t in turns]
    project = init_project(tmp_path / "p", codebook="mcn-sst")
    project.add_documents([doc])
    project.add_segments(segs)
    return project, segs


def test_ana_accepting_third_choices_does_not_reach_bens_blind_suggestions(fake_embedder, tmp_path):
    project, segs = _project(tmp_path)
    base = Suggester("mcn-sst", model=fake_embedder)
    texts = [s.text for s in segs]
    before = base.suggest(texts, top_k=3)
    for seg, ranked in zip(segs, before):
        project.decide("ana", seg.id, ranked[2].code_id, "accept")
    ana_codes = [ranked[2].code_id for ranked in before]

    # the old behaviour (learning from every coder) moves ben's top suggestions towards ana's codes
    everyone = Suggester("mcn-sst", model=fake_embedder).learn_from(project)
    leaked = [r[0].code_id for r in everyone.suggest(texts, top_k=3)]
    assert sum(a == b for a, b in zip(leaked, ana_codes)) > sum(r[0].code_id == a for r, a in zip(before, ana_codes))

    # ben, blind: his scope holds only his own (no) decisions, so his suggestions equal the codebook-only ones
    scope = scope_for("ben", blind=True)
    assert scope.coders == ("ben",)
    ben = learn_in_scope(Suggester("mcn-sst", model=fake_embedder), project, scope)
    assert ben.identity()["learned_decisions"] == 0
    np.testing.assert_array_equal(ben.score(texts), base.score(texts))
    with pytest.raises(InputError, match="blind mode"):
        scope_for("ben", learn_from=["ana"], blind=True)

    # ana's own blind model learns from ana; a named first-pass scope (not blind) may use ana for ben
    assert learn_in_scope(Suggester("mcn-sst", model=fake_embedder), project,
                          scope_for("ana")).identity()["learned_decisions"] == len(segs)
    first_pass = scope_for("ben", learn_from=["ana"], blind=False)
    assert first_pass.record() == {"learned_from_coders": ["ana"]}
    assert len(scoped_labels(project, first_pass)) == len(segs)


def test_a_later_decision_of_ben_changes_only_bens_model(fake_embedder, tmp_path):
    project, segs = _project(tmp_path)
    project.decide("ana", segs[0].id, "infrastructure.funding", "accept")
    project.decide("ben", segs[1].id, "technology.data-sharing", "accept")
    ben = scoped_labels(project, LearningScope(("ben",)))
    ana = scoped_labels(project, LearningScope(("ana",)))
    assert ben["code_id"].tolist() == ["technology.data-sharing"]
    assert ana["code_id"].tolist() == ["infrastructure.funding"]
    assert LearningScope(("ben", "ana", "ben")).key == "coders:ana+ben"
    assert len(scoped_labels(project, LearningScope())) == 0
