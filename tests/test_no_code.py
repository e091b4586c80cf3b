""""No code" is a decision (issue 22 high 1, issue 21 item 3): segments the model suggested nothing for
reach the review queue, a coder can code them or confirm "no code" (store, API, CLI, terminal, web),
the verdict is in the append-only log, undoable, set aside in codings, and old projects upgrade."""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from qcode.cli import app
from qcode.errors import ProjectError
from qcode.project import open_project
from qcode.project.sample import build_sample_project
from qcode.project.schema import SCHEMA_VERSION
from qcode.review.terminal import ReviewSession, _act
from qcode.web.payload import Viewer
from qcode.web.service import ReviewService


@pytest.fixture
def project(tmp_path):
    """The sample project, with one participant segment the run suggests nothing for (an abstention)."""
    project = build_sample_project(tmp_path / "study")
    silent = project.segments().segment_id.iloc[4]
    rows = [(r.segment_id, r.code_id, r.score, r.rank) for r in project.suggestions().itertuples()
            if r.segment_id != silent]
    project.add_run({"model": "hand-made", "abstained": 1}, rows)
    return project


def silent_segment(project):
    return project.segments().segment_id.iloc[4]


def test_no_code_is_one_logged_decision_that_sets_aside_earlier_codes(project):
    seg = silent_segment(project)
    project.decide("ana", seg, "funding", "accept")
    event = project.no_code("ana", seg, note="small talk")
    row = project.event(event)
    assert (row["verdict"], row["code_id"], row["note"]) == ("no_code", None, "small talk")
    assert project.codings("ana").empty  # the earlier accept is set aside
    labels = project.labels("ana")
    assert labels[["code_id", "accepted"]].values.tolist() == [["funding", False]]
    with pytest.raises(ProjectError, match="carries no code"):
        project.decide("ana", seg, "funding", "no_code")
    project.decide("ana", seg, "staffing", "accept")  # a later accept codes it again
    assert project.codings("ana")["code_id"].tolist() == ["staffing"]
    assert project.no_code_passages("ana").empty


def test_undo_takes_back_no_code(project):
    seg = silent_segment(project)
    project.decide("ana", seg, "funding", "accept")
    project.no_code("ana", seg)
    project.undo("ana")
    assert project.codings("ana")["code_id"].tolist() == ["funding"]
    assert project.no_code_passages("ana").empty


def test_no_code_passages_are_said_or_all_rejected(project):
    segs = project.segments().segment_id.tolist()
    project.no_code("ana", segs[4])
    project.decide("ana", segs[1], "funding", "reject")
    project.decide("ana", segs[1], "staffing", "reject")
    project.decide("ana", segs[3], "funding", "reject")
    project.decide("ana", segs[3], "staffing", "accept")  # an accept: not a "no code" passage
    project.decide("bob", segs[6], "staffing", "reject")
    found = project.no_code_passages("ana")
    assert sorted(zip(found["segment_id"], found["how"], found["rejections"])) == sorted(
        [(segs[4], "no_code", 0), (segs[1], "rejected", 2)])
    assert set(project.no_code_passages()["coder"]) == {"ana", "bob"}


def test_exports_show_no_code_as_a_decision_not_a_code(project, tmp_path):
    seg = silent_segment(project)
    project.no_code("ana", seg)
    runner = CliRunner()
    out = tmp_path / "d.csv"
    result = runner.invoke(app, ["export", str(project.path), "--what", "decisions", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "no_code" in out.read_text(encoding="utf-8")
    out = tmp_path / "c.csv"
    result = runner.invoke(app, ["export", str(project.path), "--what", "codings", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "no_code" not in out.read_text(encoding="utf-8")


def test_cli_decide_no_code(project):
    seg = silent_segment(project)
    runner = CliRunner()
    result = runner.invoke(app, ["decide", str(project.path), "--coder", "ana", "--segment", seg, "--no-code"])
    assert result.exit_code == 0, result.output
    assert "no_code for" in result.output
    bad = runner.invoke(app, ["decide", str(project.path), "--coder", "ana", "--segment", seg, "--no-code",
                              "--code", "funding"])
    assert bad.exit_code != 0 and "without --code" in str(bad.exception)
    assert open_project(project.path).no_code_passages("ana")["segment_id"].tolist() == [seg]


def test_a_version_3_project_upgrades_in_place_keeping_every_event(project):
    db = project.db_path
    project.decide("ana", silent_segment(project), "funding", "accept")
    project.undo("ana")
    before = project.decisions()
    project.close()
    conn = sqlite3.connect(db)  # make it a version 3 database: the old verdict check, the old version
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = replace(sql, '''skip'', ''no_code'', ''undo''', "
                 "'''skip'', ''undo''') WHERE name = 'events'")
    conn.execute("PRAGMA writable_schema = OFF")
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO events (time, coder, doc_id, doc_version, start, \"end\", text, verdict, source) "
                     "SELECT time, coder, doc_id, doc_version, start, \"end\", text, 'no_code', 'manual' FROM events "
                     "LIMIT 1")
    conn.close()
    upgraded = open_project(project.path)
    assert upgraded.schema_version == SCHEMA_VERSION
    after = upgraded.decisions()
    assert after.equals(before)
    event = upgraded.no_code("ana", silent_segment(upgraded))
    assert event == int(before["event_id"].max()) + 1  # ids go on, none reused
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        upgraded._conn.execute("DELETE FROM events")
    upgraded.close()
    from qcode.project.integrity import check_project

    assert check_project(project.path).ok


# -- the review queue -----------------------------------------------------------------

def test_terminal_queue_holds_segments_with_no_suggestion_and_0_says_no_code(project):
    seg = silent_segment(project)
    session = ReviewSession(project, "ana", blind=False)
    assert seg in {it.segment_id for it in session.queue}
    session.index = session._position[seg]
    assert "No code suggested for this segment" in session.render()
    _act(session, "0", None, None, "")
    assert project.no_code_passages("ana")["segment_id"].tolist() == [seg]
    session.undo()
    assert project.no_code_passages("ana").empty
    assert session.current.segment_id == seg


def test_terminal_c_prompt_takes_a_prefix_or_any_case(project):
    session = ReviewSession(project, "ana", blind=False)
    session.add_code("FUND")
    assert session.message.startswith("added")
    assert project.codings("ana")["code_id"].tolist() == ["funding"]
    session.add_code("zz")
    assert "no code 'zz'" in session.message


def test_web_queue_holds_segments_with_no_suggestion_and_no_code_is_an_action(project):
    seg = silent_segment(project)
    service = ReviewService(project.path, blind=True)
    viewer = Viewer("ana", blind=True)
    assert seg in {it.segment_id for it in service.queue(viewer)}
    card = service.locate(viewer, seg)
    assert card["suggestions"] == [] and card["segment"]["segment_id"] == seg
    reply = service.decide(viewer, {"key": "key-0001", "action": "no_code", "segment_id": seg,
                                    "codebook_version": card["codebook_version"]})
    assert project.event(reply["events"][0])["verdict"] == "no_code"
    again = service.decide(viewer, {"key": "key-0001", "action": "no_code", "segment_id": seg,
                                    "codebook_version": card["codebook_version"]})  # a retry: same event
    assert again["events"] == reply["events"]
    assert service.locate(viewer, seg)["no_code"] is True
    undone = service.undo(viewer, {"key": "key-0002", "target": reply["events"],
                                   "codebook_version": card["codebook_version"]})
    assert undone["undone"] == [{"verdict": "no_code", "code_id": None}]
    assert service.locate(viewer, seg)["no_code"] is False


@pytest.mark.slow
def test_postgres_store_takes_no_code_and_upgrades_a_version_3_project(pg_url):
    import psycopg

    from qcode.project import init_project
    from qcode.project.sample import sample_codebook, sample_documents

    project = init_project(pg_url, codebook=sample_codebook())
    docs, segments = sample_documents()
    project.add_documents(docs)
    project.add_segments(segments)
    project.decide("postgres", segments[1].id, "funding", "accept")
    project.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:  # as schema version 3 left it
        conn.execute("ALTER TABLE events DROP CONSTRAINT events_verdict_check")
        conn.execute("ALTER TABLE events ADD CONSTRAINT events_verdict_check CHECK "
                     "(verdict IN ('accept', 'reject', 'skip', 'undo'))")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    upgraded = open_project(pg_url)
    assert upgraded.schema_version == SCHEMA_VERSION
    event = upgraded.no_code("postgres", segments[1].id)
    assert event == 2 and upgraded.codings().empty
    assert upgraded.no_code_passages()["how"].tolist() == ["no_code"]
    assert upgraded.integrity_check() == "ok"


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet", "xlsx"])
def test_suggestions_file_lists_a_segment_with_no_suggestion_once_marked(tmp_path, suffix):
    """A no-code row first (no score) then a scored row: every format keeps both, the types stay numeric."""
    import pandas as pd

    from qcode.document import Segment
    from qcode.formats import open_table_writer
    from qcode.suggest.pipeline import NO_CODE_SUGGESTED, SUGGESTION_COLUMNS, SUGGESTION_TYPES, suggestion_rows
    from qcode.suggest.scoring import Suggestion

    seg = Segment("s-1", "a.txt", 0, 5, "Hello", "turn", "P1", "participant", 0)
    rows = suggestion_rows("r-1", seg, [], "m")
    assert len(rows) == 1 and rows[0]["code_id"] == "" and rows[0]["code_name"] == NO_CODE_SUGGESTED
    assert list(rows[0]) == SUGGESTION_COLUMNS
    scored = suggestion_rows("r-1", seg, [Suggestion("funding", "Funding", 0.5, 1, probability=0.7)], "m")
    out = tmp_path / f"s.{suffix}"
    writer = open_table_writer(out, SUGGESTION_COLUMNS, SUGGESTION_TYPES)
    writer.write_rows(rows)
    writer.write_rows(scored)
    writer.commit()
    if suffix == "parquet":
        frame = pd.read_parquet(out)
        assert str(frame["score"].dtype) == "float64" and str(frame["rank"].dtype) == "int64"
        assert frame["code_name"].tolist() == [NO_CODE_SUGGESTED, "Funding"]
    elif suffix != "xlsx":
        assert NO_CODE_SUGGESTED in out.read_text(encoding="utf-8")


def test_export_suggestions_of_a_chosen_run_says_which_run(project, tmp_path):
    """Issue 22 item 10: --run picks the run; the line names the run written and whether it is the latest."""
    runner = CliRunner()
    out = tmp_path / "s.csv"
    latest = runner.invoke(app, ["export", str(project.path), "--what", "suggestions", "--out", str(out)])
    assert latest.exit_code == 0, latest.output
    assert "of run 2 (the latest of 2 runs)" in latest.output
    first = runner.invoke(app, ["export", str(project.path), "--what", "suggestions", "--run", "1", "--out",
                                str(out)])
    assert first.exit_code == 0, first.output
    assert "wrote 18 suggestions rows of run 1 (not the latest of 2 runs)" in first.output
    assert set(pd_read(out)["run_id"]) == {1}
    bad = runner.invoke(app, ["export", str(project.path), "--what", "suggestions", "--run", "9", "--out", str(out)])
    assert bad.exit_code != 0 and "9" in str(bad.exception)
    wrong = runner.invoke(app, ["export", str(project.path), "--what", "codings", "--run", "1", "--out", str(out)])
    assert wrong.exit_code != 0 and "--what suggestions" in str(wrong.exception)


def pd_read(path):
    import pandas as pd

    return pd.read_csv(path)


@pytest.mark.slow
def test_a_postgres_coder_role_cannot_add_other_coders_and_check_sees_a_missing_guard(pg_server, pg_url):
    """Issue 22 item 16: a coder's role added rows to the coders table at will, and `qcode check` said ok."""
    import psycopg

    from qcode.project import init_project
    from qcode.project.integrity import check_project
    from qcode.project.sample import sample_codebook, sample_documents

    lead = init_project(pg_url, codebook=sample_codebook())
    docs, segments = sample_documents()
    lead.add_documents(docs)
    lead.add_segments(segments)
    try:
        pg_server.create_role("carol_pg", "carol_pg-pw")
    except Exception:
        pass  # made by an earlier test of this session
    lead.grant_coder("carol_pg")
    dbname = pg_url.split("@/")[1].split("?")[0]
    carol_url = pg_server.url("carol_pg", "carol_pg-pw", dbname)
    carol = open_project(carol_url)
    carol.decide("carol_pg", segments[1].id, "funding", "accept")   # a coder adds itself by deciding
    with pytest.raises(ProjectError, match="connected as carol_pg: .* coder mallory or add that coder"):
        carol.add_coder("mallory")
    with psycopg.connect(carol_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="or add that coder"):
            conn.execute("INSERT INTO coders (name, guid, added_at) VALUES ('eve', NULL, 'now')")
    assert lead.coders() == ["carol_pg"]
    assert check_project(pg_url).ok
    with psycopg.connect(pg_url, autocommit=True) as conn:                   # an older project, unguarded
        conn.execute("DROP TRIGGER coders_identity ON coders")
    report = check_project(pg_url)
    assert not report.ok and any("coders_identity" in p for p in report.problems)


def test_another_coders_no_code_is_shown_only_outside_blind_mode(project):
    seg = silent_segment(project)
    service = ReviewService(project.path, blind=True)
    ana = Viewer("ana", blind=True)
    before = service.locate(ana, seg)
    project.no_code("ben", seg, note="BEN-SECRET")
    after = ReviewService(project.path, blind=True).locate(ana, seg)
    assert after == before                                         # blind: nothing of ben's reaches ana
    assert "BEN-SECRET" not in repr(after) and "ben" not in repr(after)
    session = ReviewSession(project, "ana", blind=False)
    session.index = session._position[seg]
    assert "Other coders: ben: no code" in session.render()
    blind = ReviewSession(project, "ana", blind=True)
    blind.index = blind._position[seg]
    assert "ben" not in blind.render()
    lead = ReviewService(project.path, blind=False).locate(Viewer("ana", blind=False), seg)
    assert [o["status"] for o in lead["others"]] == ["no code"]


SMALL_TALK = "Oh, wet... the dog has just come in from the garden, sorry about that"


def _small_talk_project(tmp_path):
    """A project on the mcn-sst codebook whose one passage ana said "no code" to, after another accept."""
    from qcode.document import PARTICIPANT, Document, Segment, Turn, segment_id
    from qcode.project import init_project

    text = f"P1: {SMALL_TALK}\nP1: The GP never sees the hospice care plan, so the night team starts over.\n"
    turns = [Turn(4, 4 + len(SMALL_TALK), "P1", PARTICIPANT)]
    second = text.index("The GP")
    turns.append(Turn(second, len(text) - 1, "P1", PARTICIPANT))
    project = init_project(tmp_path / "study", codebook="mcn-sst")
    project.add_documents([Document("a.txt", text, turns)])
    segs = [Segment(segment_id("a.txt", "turn", t.start, t.end), "a.txt", t.start, t.end, text[t.start:t.end],
                    "turn", "P1", PARTICIPANT, i) for i, t in enumerate(turns)]
    project.add_segments(segs)
    project.decide("ana", segs[1].id, "technology.data-sharing", "accept")
    project.no_code("ana", segs[0].id)
    return project


def test_learning_takes_a_coders_no_code_decisions(tmp_path, fake_embedder):
    """Wired with the learn branch: the explicit "no code" verdicts feed the learned abstention, in the
    Suggester's learn_decisions and in the per-coder learning of `qcode suggest --learn` / `qcode learn`."""
    from qcode.suggest import make_suggester
    from qcode.suggest.coders import LearningScope
    from qcode.suggest.learning import learn_scope, suggester_factory

    project = _small_talk_project(tmp_path)

    def fresh():
        return make_suggester("mcn-sst", model=fake_embedder, context=0.0, abstain=0.0, learning="few-shot")

    assert fresh().suggest([SMALL_TALK])[0]                              # suggested before
    learned = fresh().learn_decisions(project, coder="ana")
    assert learned.examples.no_code == [SMALL_TALK]
    assert learned.suggest([SMALL_TALK])[0] == []
    make = suggester_factory(project.codebook, model=fake_embedder, context=0.0, abstain=0.0)
    outcome = learn_scope(project, project.codebook, LearningScope(("ana",)), make, learning="few-shot", save=False)
    assert outcome.suggester.examples.no_code == [SMALL_TALK]
    assert outcome.suggester.suggest([SMALL_TALK])[0] == []
