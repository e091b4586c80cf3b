"""Write the ingest test fixtures (run from anywhere: `python tests/data/ingest/make_fixtures.py`).

The text fixtures are small hand-written transcripts in the styles qcode must
read; the others are generated because they are binary, in another encoding,
or deliberately broken. All content is invented for these tests.
"""

from __future__ import annotations

import codecs
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write(name: str, data: str | bytes) -> None:
    path = HERE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


COLON = """Interview 3 – community nurse, site B
Date: 14 March 2024

Interviewer: Can you tell me how referrals reached your team last winter?
P12: Mostly by phone. The hospice would ring us, and then the paperwork followed days later.
Note: this is what worried me most, the gap between the call and the paperwork.
Well: yes, we managed, but only because people stayed late.
Interviewer: What changed after the network started meeting monthly?
P12: We had names. I knew who to call at the children's hospital, and they knew me.

Interviewer: Anything else?
P12: No, I think that covers it.
"""

BRACKETS = """[00:00:05] Anna Keller: Thanks for joining. Could you describe your role?
[00:00:12] Tom Reid: I coordinate the out-of-hours palliative rota for the region.
[00:01:02] Anna Keller: How does the rota link to the network?
[00:01:15] Tom Reid: Through the monthly education days. We share cases there, anonymised.
"""

PAREN = """Dr. Maria de la Cruz (00:02:10): We piloted the shared care plan in two wards.
Interviewer (00:02:45): Who owned the plan?
Dr. Maria de la Cruz (00:02:51): Nobody at first, which was the problem.
"""

OTTER = """Priya Shah  0:00
So the first thing I'd like to ask is how you heard about the network.

Jonas Berg  0:07
Through a colleague, really. She had been to one of the study days
and came back full of ideas.

Priya Shah  1:02:03
And did that change your practice?

Jonas Berg  1:02:15
Yes. We started writing advance care plans together with the families.
"""

FOCUS_GROUP = """# Focus group, parents' advisory panel

**Facilitator:** Welcome, everyone. Let's start with the transition to adult services.

**Participant 3:** It felt like falling off a cliff. One month we had a whole team, the next nobody.

**Participant 1:** For us it was the opposite, the hospice kept in touch.

**Sarah:** I'd add that the key worker made all the difference.

**Participant 3:** Agreed.
"""

PROSE = """Notes on the network's annual report.
Note: this is a summary written by the project team, not a transcript.
Well: yes, it covers all three sites.
Finance: the budget was held flat in the second year.
The report was discussed at the board in June.
"""

Q_AND_A = """Q: How long have you worked in the unit?
A: About nine years.
Q: And the network?
A: Since it began, so six years.
"""

NAMED_INTERVIEWER = """Anna: How did the family find the respite service?
Ben: They said it was the first full night of sleep in a year.
Anna: That's striking.
Ben: It is. We should have had it from the start.
"""

VTT_VOICES = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Interviewer>What does the network do well?</v>

00:00:04.500 --> 00:00:08.000
<v.loud P4>It brings people together. We <i>actually</i> meet &amp; talk.</v>

00:00:08.000 --> 00:00:11.000
<v P4>Before, we only met at funerals.</v>

00:00:11.500 --> 00:00:13.000
<v Interviewer>And what does it do badly?</v>

00:00:13.500 --> 00:00:18.250
<v P4>Data. Nobody can tell you how many
children we actually support.</v>
"""

VTT_CUE_SPEAKERS = """WEBVTT

1
00:00:00.000 --> 00:00:03.000
Moderator: Shall we begin with the training days?

2
00:00:03.000 --> 00:00:06.000
Lena Fischer: Yes. I went to four of them.

3
00:00:06.000 --> 00:00:09.500
They were the best part of the year.

4
00:00:10.000 --> 00:00:12.000
Moderator: Why?

5
00:00:12.000 --> 00:00:15.000
Lena Fischer: Because we met the hospice staff face to face.
"""

SRT = """1
00:00:01,000 --> 00:00:03,500
Interviewer: How many families are on your caseload?

2
00:00:04,000 --> 00:00:06,000
P9: Around forty at any time.

3
00:00:06,000 --> 00:00:08,000
P9: Some for years.
"""

VTT_PARTLY_BROKEN = """WEBVTT

00:00:01.000 --> 00:00:02.000
<v Interviewer>First question?</v>

00:00:02.000 --> banana
<v P1>This cue has a broken timing.</v>

00:00:03.000 --> 00:00:05.000
<v P1>This one is fine.</v>
"""

CSV = """respondent_id,site,response
r01,A,"The key worker helped us through the move to adult services."
r02,B,"Too many forms, and nobody told us who to call at night."
r03,A,
r04,C,"We felt listened to.
The nurses came to the house."
"""

CSV_SEMICOLON = """ID;Comment;Age
7;Die Pflege war sehr gut – danke!;41
8;Zu wenig Zeit für Gespräche.;38
"""

CSV_DUP_IDS = """id,text
1,First answer
2,Second answer
1,Third answer
"""

CSV_AMBIGUOUS = """id,q1,q2
1,Yes,No
"""


def make_docx() -> None:
    import docx

    word = docx.Document()
    word.add_heading("Interview 5, hospice nurse", level=1)
    para = word.add_paragraph()
    run = para.add_run("Interviewer")
    run.bold = True
    para.add_run(" How did you first hear about the network?")
    para = word.add_paragraph()
    run = para.add_run("Grace:")
    run.bold = True
    para.add_run(" At a study day. I was sceptical at first.")
    word.add_paragraph("Interviewer: Why sceptical?")
    word.add_paragraph("Grace: Because networks come and go. This one stayed, and it kept its promises.")
    word.add_paragraph("")
    table = word.add_table(rows=3, cols=2)
    for row, (who, said) in zip(table.rows, [("Speaker", "Text"), ("Interviewer", "And now?"),
                                              ("Grace", "Now I chair the education group.")]):
        row.cells[0].text = who
        row.cells[1].text = said
    word.save(HERE / "interview_bold.docx")

    empty = docx.Document()
    empty.add_paragraph("   ")
    empty.save(HERE / "bad" / "empty.docx")


def make_xlsx() -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "Answer", "Group"])
    sheet.append([1, "The hospice felt like a second home.", "parents"])
    sheet.append([2, "  ", "parents"])
    sheet.append([3, "Communication between teams improved once the network started.", "staff"])
    book.save(HERE / "responses.xlsx")


def main() -> None:
    write("interview_colon.txt", COLON)
    write("interview_brackets.txt", BRACKETS)
    write("interview_paren.txt", PAREN)
    write("otter.txt", OTTER)
    write("focus_group.md", FOCUS_GROUP)
    write("prose_notes.txt", PROSE)
    write("q_and_a.txt", Q_AND_A)
    write("named_interviewer.txt", NAMED_INTERVIEWER)
    write("voices.vtt", VTT_VOICES)
    write("cue_speakers.vtt", VTT_CUE_SPEAKERS)
    write("captions.srt", SRT)
    write("partly_broken.vtt", VTT_PARTLY_BROKEN)
    write("responses.csv", CSV)
    write("responses_semicolon.csv", CSV_SEMICOLON)
    write("bad/dup_ids.csv", CSV_DUP_IDS)
    write("bad/ambiguous.csv", CSV_AMBIGUOUS)
    # encodings and line ends
    write("crlf_bom.txt", codecs.BOM_UTF8 + b"Interviewer: Hello.\r\nP1: Hi,\r\nthanks.\rP1: Bye.\r\n")
    write("latin1.txt", "Interviewer: Was the café open?\nP2: Yes – and the “quiet room” too.\n".encode("cp1252"))
    write("utf16.txt", codecs.BOM_UTF16_LE + "Interviewer: Grüße?\nP3: Danke.\n".encode("utf-16-le"))
    write("nfd.txt", "Interviewer: Jose\u0301 said cafe\u0301.\nP5: Yes.\n".encode("utf-8"))
    # bad files
    write("bad/empty.txt", b"")
    write("bad/blank.md", b"  \n\n\t\n")
    write("bad/binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    write("bad/controls.txt", bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16]) * 50)
    write("bad/corrupt.docx", b"PK\x03\x04 this is not really a zip archive")
    write("bad/broken.vtt", "WEBVTT\n\n00:00:01.000 --> banana\nHello\n")
    write("bad/not_vtt.vtt", "Just some words, no header.\n")
    write("bad/corrupt.xlsx", b"not a workbook at all")
    make_docx()
    make_xlsx()


if __name__ == "__main__":
    main()
