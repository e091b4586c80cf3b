"""The small TF-IDF model behind the lexical part of the score."""

import numpy as np

from qcode.suggest.lexical import STOP_WORDS, TfidfModel, tokenize


def test_tokenize_lowercases_and_drops_stop_words_and_single_letters():
    assert tokenize("The Funding for a 24/7 service, I think") == ["funding", "24", "service", "think"]
    assert "the" in STOP_WORDS and "funding" not in STOP_WORDS


def test_weights_follow_sublinear_tf_and_smoothed_idf():
    docs = ["funding funding records", "records training"]
    model = TfidfModel().fit(docs)
    X = model.transform(["funding funding records"])
    idf_funding = np.log(3 / 2) + 1  # in one of two documents
    idf_records = np.log(3 / 3) + 1  # in both
    raw = np.array([(1 + np.log(2)) * idf_funding, idf_records])
    expected = raw / np.linalg.norm(raw)
    cols = [model.vocabulary["funding"], model.vocabulary["records"]]
    np.testing.assert_allclose(X[0, cols], expected, rtol=1e-6)
    assert X[0, model.vocabulary["training"]] == 0


def test_similarity_ranks_the_matching_document_first_and_unknown_words_score_zero():
    docs = ["money budget funding commissioners", "records systems data sharing", "training study days"]
    model = TfidfModel().fit(docs)
    sims = model.similarity(["the commissioners cut the budget", "zebra quantum"], model.transform(docs))
    assert int(np.argmax(sims[0])) == 0
    assert np.all(sims[1] == 0)
    assert 0 < sims[0, 0] <= 1
