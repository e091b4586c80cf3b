"""Labels for clusters: class-based TF-IDF over words and two-word phrases, re-ranked by closeness to
the cluster centre, with personal and place names kept out.

No spaCy English pipeline is installed with qcode (the official ``en_core_web_sm`` is not published on
PyPI), so names are found by rule: the transcripts' own speaker names, and words that appear capitalised
where they do not start a sentence (``Harbridge``, ``Priya``) in most of their uses there. Phrases take the place
of spaCy noun chunks: two-word terms that neither start nor end with a stop word.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+")
_POSSESSIVE = re.compile(r"['\u2019]s$")


def _base(word: str) -> str:
    """A word lower-cased without a possessive 's (``Ruth's`` -> ``ruth``)."""
    return _POSSESSIVE.sub("", word.lower()).strip("'-")
_SENTENCE_END = re.compile(r"(?:[.!?:;\"(\[]|\n)\s*$")  # a line start is a sentence start too (a heading's next line)
#: capitalised words that are not names
_NOT_NAMES = frozenset({"i", "i'm", "i've", "i'd", "i'll", "ok", "okay", "yeah", "yes", "no", "so", "and", "but",
                        "the", "a", "it", "we", "they", "you", "he", "she", "mcn", "nhs", "gp", "uk"})


def capitalised_names(texts: Iterable[str], extra: Iterable[str] = ()) -> frozenset[str]:
    """Lower-cased words taken for names: capitalised mid-sentence in most of their uses, plus ``extra``.

    >>> sorted(capitalised_names(["We met Priya at Harbridge. Then we left.", "she told priya"]))
    ['harbridge']
    """
    capital: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for text in texts:
        for m in _WORD.finditer(text):
            word = m.group(0)
            low = _base(word)
            before = text[max(0, m.start() - 3):m.start()]
            if m.start() == 0 or _SENTENCE_END.search(before):
                continue  # a sentence's first word says nothing either way
            total[low] += 1
            if word[0].isupper():
                capital[low] += 1
    names = {w for w, n in capital.items() if w not in _NOT_NAMES and n * 2 > total[w]}
    for name in extra:
        names.update(_base(p) for p in _WORD.findall(name))
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words and the fillers of talk (loaded on first use, not at import)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    fillers = {"yeah", "okay", "ok", "like", "just", "really", "think", "know", "mean", "actually", "sort", "kind",
               "thing", "things", "got", "get", "going", "lot", "bit", "maybe", "quite", "say", "said", "um", "uh",
               "erm", "er", "don't", "i'm", "it's", "that's", "there's", "you're", "we're", "they're", "didn't",
               "doesn't", "can't", "i've", "we've", "i'd", "let", "right", "oh", "well", "want", "need", "way"}
    return frozenset(ENGLISH_STOP_WORDS) | frozenset(fillers)



def _analyser(names: frozenset[str]) -> Callable[[str], list[str]]:
    stop = stop_words()

    def analyse(text: str) -> list[str]:
        words = [_base(w) for w in _WORD.findall(text)]
        terms = [w for w in words if len(w) > 2 and w not in stop and w not in names]
        pairs = [f"{a} {b}" for a, b in zip(words, words[1:])
                 if len(a) > 2 and len(b) > 2 and a not in stop and b not in stop
                 and a not in names and b not in names and a != b]
        return terms + pairs
    return analyse


def class_tfidf(texts: Sequence[str], labels: np.ndarray, names: frozenset[str] = frozenset(),
                weights: np.ndarray | None = None) -> tuple[np.ndarray, list[str], list[int]]:
    """c-TF-IDF of every cluster (rows, in cluster order) over its terms; unclustered passages (label -1)
    count in the term frequencies as a background class. ``weights`` (per passage) weigh the counts.

    Returns the matrix, the vocabulary and the cluster numbers of the rows.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(analyzer=_analyser(names), min_df=1)
    counts = vec.fit_transform(texts).tocsr().astype(np.float64)
    if weights is not None:
        from scipy.sparse import diags

        counts = diags(np.asarray(weights, dtype=np.float64)) @ counts
    clusters = sorted(int(c) for c in set(labels.tolist()) if c >= 0)
    classes = [*clusters, -1]
    rows = []
    for c in classes:
        mask = labels == c
        rows.append(np.asarray(counts[np.flatnonzero(mask)].sum(axis=0)).ravel() if mask.any()
                    else np.zeros(counts.shape[1]))
    tf = np.vstack(rows)
    average = tf.sum() / max(len(classes), 1)
    idf = np.log1p(average / np.maximum(tf.sum(axis=0), 1e-12))
    norm = tf / np.maximum(tf.sum(axis=1, keepdims=True), 1e-12)
    return (norm * idf)[: len(clusters)], list(vec.get_feature_names_out()), clusters


def rank_terms(scores: np.ndarray, vocab: Sequence[str], top: int,
               closeness: Callable[[list[str]], np.ndarray] | None = None) -> list[str]:
    """The ``top`` terms of one cluster's c-TF-IDF row; with ``closeness`` (terms -> cosine to the centre),
    the 3*top best are re-ranked by half their scaled c-TF-IDF and half their closeness."""
    order = [int(i) for i in np.argsort(-scores, kind="stable")[: top * 3] if scores[i] > 0]
    terms = [vocab[i] for i in order]
    if closeness is None or not terms:
        return terms[:top]
    sims = np.asarray(closeness(terms), dtype=np.float64)
    base = scores[order] / max(float(scores[order[0]]), 1e-12)
    mixed = 0.5 * base + 0.5 * sims
    ranked = [terms[i] for i in np.argsort(-mixed, kind="stable")]
    return ranked[:top]


def label_from(keywords: Sequence[str]) -> str:
    """A short name from ranked keywords: the best phrase, and the best word it does not already hold.

    >>> label_from(["export", "download button", "csv"])
    'Download button, export'
    """
    if not keywords:
        return "Unlabelled"
    phrase = next((k for k in keywords[:4] if " " in k), None)
    first = phrase or keywords[0]
    words = set(first.split())
    second = next((k for k in keywords if " " not in k and k not in words and k != first), None)
    label = f"{first}, {second}" if second else first
    return label[0].upper() + label[1:]


def draft_definition(keywords: Sequence[str], quote: str) -> str:
    """A draft definition from the keywords and the most central quote, marked as a draft."""
    listed = ", ".join(keywords[:3])
    short = quote if len(quote) <= 160 else quote[:157].rsplit(" ", 1)[0] + "..."
    return f"[draft] Passages about {listed}; for example: \"{short}\""
