"""Who interviews when no label says so: the speaker who asks the questions, said in a warning.

A transcript whose speakers are all names (``<v Sam Reid>``, ``Priya:``) has no label that marks the
interviewer. Rather than take everyone for a participant without a word, the speaker who asks in
most of their turns (at least two, at least half, and twice the share of anyone else) is taken as the
interviewer, and the document's warnings say so; when nobody clearly does, a warning says that every
speaker was taken as a participant. Names given with ``--interviewer`` always win.

>>> from qcode.document import Turn
>>> text = "Sam: Why? Ana: Money. Sam: And? Ana: Time."
>>> turns = [Turn(5, 9, "Sam", "participant"), Turn(15, 21, "Ana", "participant"),
...          Turn(27, 31, "Sam", "participant"), Turn(37, 42, "Ana", "participant")]
>>> turns, notes = infer_interviewer(text, turns, (), "t.txt")
>>> [t.role for t in turns], notes[0][:60]
(['interviewer', 'participant', 'interviewer', 'participant'], "t.txt: no speaker is labelled as the interviewer; took 'Sam'")
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from ..document import INTERVIEWER, Turn
from .speakers import name_key


def infer_interviewer(text: str, turns: list[Turn], interviewers: Iterable[str],
                      where: str) -> tuple[list[Turn], list[str]]:
    """Turns with the questioner's role set to interviewer (see the module docstring), and the warning."""
    if any(n.strip() for n in interviewers) or any(t.role == INTERVIEWER for t in turns):
        return turns, []
    spoken = Counter(name_key(t.speaker) for t in turns if t.speaker)
    if len(spoken) < 2:
        return turns, []
    asks = Counter(name_key(t.speaker) for t in turns if t.speaker and "?" in text[t.start:t.end])
    share = {key: asks[key] / n for key, n in spoken.items()}
    ranked = sorted(share, key=lambda key: (-share[key], key))
    top, runner_up = ranked[0], share[ranked[1]]
    if asks[top] >= 2 and share[top] >= 0.5 and share[top] >= 2 * runner_up:
        name = next(t.speaker for t in turns if t.speaker and name_key(t.speaker) == top)
        marked = [replace(t, role=INTERVIEWER) if t.speaker and name_key(t.speaker) == top else t for t in turns]
        return marked, [f"{where}: no speaker is labelled as the interviewer; took {name!r} as the interviewer "
                        f"(asks in {asks[top]} of {spoken[top]} turns); name another with --interviewer"]
    return turns, [f"{where}: no speaker is labelled as the interviewer and none clearly asks the questions; "
                   f"all {len(spoken)} speakers are taken as participants (name the interviewer with "
                   "--interviewer)"]
