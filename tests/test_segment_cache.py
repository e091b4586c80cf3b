"""The segment cache: a warm run reads segments instead of segmenting, and never trusts a wrong file."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import DEMO
from qcode.ingest import read_corpus
from qcode.segmentation import segment
from qcode.suggest.segment_cache import SegmentCache


@pytest.fixture(scope="module")
def docs():
    return list(read_corpus(DEMO))


@pytest.mark.parametrize("unit", ["turn", "sentence"])
def test_cached_segments_equal_fresh_ones_and_the_second_pass_segments_nothing(docs, tmp_path, unit):
    cache = SegmentCache(tmp_path)
    calls: list[str] = []

    def make(doc):
        calls.append(doc.id)
        return segment(doc, unit=unit, max_tokens=64)

    first = [cache.get_or_make(d, unit, 64, lambda d=d: make(d)) for d in docs]
    second = [cache.get_or_make(d, unit, 64, lambda d=d: make(d)) for d in docs]
    assert calls == [d.id for d in docs] and (cache.hits, cache.misses) == (len(docs), len(docs))
    assert second == first == [segment(d, unit=unit, max_tokens=64) for d in docs]
    assert all(s.text == d.text[s.start:s.end] for d, segs in zip(docs, second) for s in segs)


def test_the_key_follows_text_turns_unit_and_window(docs, tmp_path):
    cache = SegmentCache(tmp_path)
    doc = docs[0]
    key = cache.key(doc, "turn", 256)
    edited = dataclasses.replace(doc, text=doc.text.replace("a", "e", 1))
    moved = dataclasses.replace(doc, turns=doc.turns[1:])
    assert len({key, cache.key(edited, "turn", 256), cache.key(moved, "turn", 256), cache.key(doc, "sentence", 256),
                cache.key(doc, "turn", 128)}) == 5
    assert cache.key(doc, "turn", 256) == SegmentCache(tmp_path / "other").key(doc, "turn", 256)


def test_a_damaged_or_foreign_file_is_ignored_and_written_again(docs, tmp_path):
    cache = SegmentCache(tmp_path)
    doc = docs[0]
    fresh = segment(doc)
    path = tmp_path / f"{cache.key(doc, 'turn', 256)}.json"
    for bad in ("{not json", "[[1, 2]]", '[["s-000000000000", 0, 5, "turn", null, "unknown", 0, null]]'):
        path.write_text(bad, encoding="utf-8")
        assert cache.get_or_make(doc, "turn", 256, lambda: segment(doc)) == fresh
    assert cache.misses == 3 and cache.get_or_make(doc, "turn", 256, lambda: []) == fresh  # rewritten, now a hit


def test_it_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("QCODE_SEGMENT_CACHE", "0")
    assert SegmentCache.default() is None
    monkeypatch.setenv("QCODE_SEGMENT_CACHE", "1")
    assert SegmentCache.default() is not None
