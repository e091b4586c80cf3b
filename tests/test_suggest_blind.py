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
from qcode.suggest import make_suggester
from qcode.suggest.coders import LearningScope, scope_for, scoped_labels

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
    base = make_suggester("mcn-sst", model=fake_embedder)
    texts = [s.text for s in segs]
    before = base.suggest(texts, top_k=3)
    for seg, ranked in zip(segs, before):
        project.decide("ana", seg.id, ranked[2].code_id, "accept")
    ana_codes = [ranked[2].code_id for ranked in before]

    # the old behaviour (learning from every coder) moves ben's top suggestions towards ana's codes
    everyone = make_suggester("mcn-sst", model=fake_embedder).learn_decisions(project)
    leaked = [r[0].code_id for r in everyone.suggest(texts, top_k=3)]
    assert sum(a == b for a, b in zip(leaked, ana_codes)) > sum(r[0].code_id == a for r, a in zip(before, ana_codes))

    # ben, blind: his scope holds only his own (no) decisions, so his suggestions equal the codebook-only ones
    scope = scope_for("ben", blind=True)
    assert scope.coders == ("ben",)
    ben = make_suggester("mcn-sst", model=fake_embedder).learn_decisions(project, coders=scope.coders)
    assert ben.identity()["learned_decisions"] == 0
    np.testing.assert_array_equal(ben.score(texts), base.score(texts))
    with pytest.raises(InputError, match="blind mode"):
        scope_for("ben", learn_from=["ana"], blind=True)

    # ana's own blind model learns from ana; a named first-pass scope (not blind) may use ana for ben
    ana = make_suggester("mcn-sst", model=fake_embedder).learn_decisions(project, coders=scope_for("ana").coders)
    assert ana.identity()["learned_decisions"] == len(segs)
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


@pytest.mark.slow
def test_the_clean_clone_case_with_the_real_model_through_the_cli(tmp_path):
    """The issue's case, as found: the real model, the whole demo corpus, ``qcode suggest --learn``.

    ana accepts the model's third choice on every demo segment. Afterwards ben's blind run (terminal
    and web rule) has the same top-1 on every segment as before, so ana's code is ben's top suggestion
    exactly as often as before (0 times); ana's own run has moved towards her codes.
    """
    import subprocess
    import sys

    from conftest import DEMO
    from qcode.project import open_project
    from qcode.review.terminal import blind_run
    from qcode.suggest.coders import run_is_independent

    def qcode(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "qcode", *args], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr

    folder = tmp_path / "p"
    qcode("init", str(folder), "--codebook", "mcn-sst")
    qcode("suggest", str(DEMO), "--project", str(folder), "--out", str(tmp_path / "first.csv"))
    project = open_project(folder)
    first = project.latest_run()
    frame = project.suggestions(first)
    top1 = dict(zip(frame.loc[frame["rank"] == 1, "segment_id"], frame.loc[frame["rank"] == 1, "code_id"]))
    third = frame[frame["rank"] == 3]
    for row in third.itertuples(index=False):
        project.decide("ana", row.segment_id, row.code_id, "accept")
    ana = dict(zip(third["segment_id"], third["code_id"]))
    assert len(ana) == len(top1) >= 80          # every segment with suggestions (housekeeping turns get none)
    assert sum(top1[s] == c for s, c in ana.items()) == 0

    qcode("suggest", str(DEMO), "--project", str(folder), "--learn")
    project = open_project(folder)

    def top_of(run_id: int) -> dict[str, str]:
        f = project.suggestions(run_id)
        return dict(zip(f.loc[f["rank"] == 1, "segment_id"], f.loc[f["rank"] == 1, "code_id"]))

    bens = blind_run(project, "ben")
    assert bens != first
    params = {int(r.run_id): r.params for r in project.runs().itertuples(index=False)}
    assert params[bens]["learned_from"] == [] and run_is_independent(params[bens], "ben")
    assert top_of(bens) == top1
    assert sum(top_of(bens)[s] == c for s, c in ana.items()) == 0
    anas = blind_run(project, "ana")
    assert params[anas]["learned_from"] == ["ana"] and not run_is_independent(params[anas], "ben")
    assert sum(top_of(anas)[s] == c for s, c in ana.items()) > len(ana) // 2
    # learning="auto" learns ana's 97 decisions with the few-shot head: no body, the version is its decisions
    from qcode.suggest.coders import LearningScope
    from qcode.suggest.learning import read_version, versions

    saved = versions(folder, LearningScope(("ana",)))[-1][1]
    info = read_version(saved)
    assert info["learned_with"] == "few-shot" and info["body"] is None
    assert sum(p.stat().st_size for p in saved.rglob("*") if p.is_file()) < 1_000_000
    assert params[anas]["learning"] == info["learned_with"]
    # a later run that reuses the saved model records the same learning (it was "blend" before a fix)
    from qcode.suggest.learning import learn_scope, suggester_factory

    again = learn_scope(project, project.codebook, LearningScope(("ana",)), suggester_factory(project.codebook))
    assert again.reused and again.suggester.identity()["learning"] == info["learned_with"]
