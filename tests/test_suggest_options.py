"""One SuggestOptions object for the CLI, suggest_corpus and the run record; a public API independent of import order."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import DEMO
from qcode.embed.fake import FakeEmbedder
from qcode.errors import InputError
from qcode.formats import FormatError
from qcode.suggest import SuggestOptions, make_suggester, suggest_corpus

P07 = DEMO / "interview_p07.txt"


def test_options_validate_and_record_what_shapes_the_output():
    opts = SuggestOptions(unit="sentence", top_k=None, threshold=0.3, multi_label=True,
                          interviewers=["Zoe", "Anna"], batch_segments=8)
    assert opts.interviewers == ("Zoe", "Anna")
    assert opts.record() == {"unit": "sentence", "top_k": None, "threshold": 0.3, "multi_label": True,
                             "min_probability": None, "include_interviewer": False, "interviewers": ["Anna", "Zoe"], "max_tokens": 256}
    with pytest.raises(InputError, match="unknown unit 'word'"):
        SuggestOptions(unit="word")
    with pytest.raises(InputError, match="top_k=0"):
        SuggestOptions(top_k=0)
    with pytest.raises(TypeError, match="unknown suggest option.*topk"):
        opts.replace(topk=2)
    assert opts.replace(top_k=2).top_k == 2 and opts.top_k is None


def test_options_object_and_old_keywords_give_the_same_run(tmp_path):
    cb = "mcn-sst"
    opts = SuggestOptions(unit="sentence", top_k=2, include_interviewer=True)
    new = suggest_corpus(P07, make_suggester(cb, model=FakeEmbedder()), opts, out=tmp_path / "new.csv")
    old = suggest_corpus(P07, make_suggester(cb, model=FakeEmbedder()), out=tmp_path / "old.csv",
                         unit="sentence", top_k=2, include_interviewer=True)
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
    assert new.run_id == old.run_id and new.options == old.options == opts
    record = json.loads((tmp_path / "new.csv.run.json").read_text())
    assert record["parameters"] == opts.record()
    assert new.skipped_interviewer == 0 and new.suggested_segments == new.segments > 0


def test_keywords_override_the_options_object(tmp_path):
    run = suggest_corpus(P07, "mcn-sst", SuggestOptions(top_k=3), model=FakeEmbedder(), top_k=1)
    assert run.options.top_k == 1 and run.record["parameters"]["top_k"] == 1
    with pytest.raises(TypeError, match="unknown suggest option"):
        suggest_corpus(P07, "mcn-sst", model=FakeEmbedder(), no_such_option=1)


def test_bad_requests_fail_before_any_work(tmp_path):
    with pytest.raises(FormatError, match=r"out\.txt: unknown table format '\.txt'"):
        suggest_corpus(P07, "mcn-sst", model=FakeEmbedder(), out=tmp_path / "out.txt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("first", ["qcode.suggest.ranking", "qcode.suggest.pipeline", "qcode.segmentation",
                                   "qcode.suggest.lexical", "qcode.cli.suggest_cmd", "qcode"])
def test_the_public_names_do_not_depend_on_what_was_imported_first(first):
    code = (f"import {first}\n"
            "import sys, types, qcode\n"
            "assert qcode.suggest is sys.modules['qcode.suggest'], qcode.suggest\n"
            "assert isinstance(qcode.suggest, types.ModuleType) and qcode.suggest.__path__\n"
            "assert isinstance(qcode.segment, types.FunctionType), qcode.segment\n"
            "assert qcode.suggest_corpus is qcode.suggest.suggest_corpus\n"
            "assert qcode.SuggestOptions is qcode.suggest.options.SuggestOptions\n"
            "assert qcode.Suggester is qcode.suggest.ranking.Suggester\n"
            "assert qcode.segment is sys.modules['qcode.segmentation'].segment\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
