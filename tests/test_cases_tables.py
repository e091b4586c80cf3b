"""Survey tables: columns named with --attribute-column become attributes of each row's case (its document)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qcode.embed.fake import FakeEmbedder
from qcode.errors import InputError
from qcode.project import init_project, open_project
from qcode.suggest import SuggestOptions, suggest_corpus


def survey(path):
    path.write_text("respondent_id,Site,Sector,answer\n"
                    "r1,North,NHS,We never had the funding for night nurses.\n"
                    "r2,South,non-NHS,\"The hospice and the hospital share a plan, which helps.\"\n"
                    "r3,South,,Nobody told us about the network.\n", encoding="utf-8")
    return path


def test_attribute_columns_become_document_cases(tmp_path):
    table = survey(tmp_path / "survey.csv")
    project = init_project(tmp_path / "study")
    options = SuggestOptions(attribute_columns=("site", "SECTOR"))
    suggest_corpus(table, "mcn-sst", options, project=project, model=FakeEmbedder())
    cases = project.cases()
    assert cases.values.tolist() == [["survey.csv#r1", "document", "NHS", "North"],
                                     ["survey.csv#r2", "document", "non-NHS", "South"],
                                     ["survey.csv#r3", "document", None, "South"]]
    suggest_corpus(table, "mcn-sst", options, project=project, model=FakeEmbedder())  # the same table again
    assert len(project.case_history()) == 3 + 5
    assert "attribute_columns" not in project.runs().iloc[-1]["params"]  # not a parameter of the suggestions


def test_a_missing_attribute_column_stops_before_anything_is_stored(tmp_path):
    table = survey(tmp_path / "survey.csv")
    project = init_project(tmp_path / "study")
    with pytest.raises(InputError, match="--attribute-column 'age': no such column .*'Site', 'Sector'"):
        suggest_corpus(table, "mcn-sst", SuggestOptions(attribute_columns=("age",)), project=project,
                       model=FakeEmbedder())
    assert project.documents().empty and project.case_history().empty
    with pytest.raises(InputError, match="give --project PROJECT"):
        suggest_corpus(table, "mcn-sst", SuggestOptions(attribute_columns=("Site",)), out=tmp_path / "s.csv",
                       model=FakeEmbedder())


@pytest.mark.slow
def test_the_cli_option(tmp_path):  # the real model: slow
    table = survey(tmp_path / "survey.csv")
    init_project(tmp_path / "study", codebook="mcn-sst")
    result = subprocess.run([sys.executable, "-m", "qcode", "suggest", str(table), "--project", str(tmp_path / "study"),
                             "--attribute-column", "Site", "--no-tune", "--quiet"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert open_project(tmp_path / "study").cases()["Site"].tolist() == ["North", "South", "South"]
