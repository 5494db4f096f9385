"""Comment terms: language per comment, lemmas, no stop words, numbers or contact details."""

from __future__ import annotations

import pytest

from infra.comment_terms import StopWordLemmaAnalyzer


@pytest.fixture(scope="module")
def analyzer() -> StopWordLemmaAnalyzer:
    return StopWordLemmaAnalyzer()


def test_german_inflections_count_as_one_lemma(analyzer: StopWordLemmaAnalyzer) -> None:
    lang_1, one = analyzer.terms("Die Wartezeit war viel zu lang.")
    lang_2, many = analyzer.terms("Die Wartezeiten an der Hotline sind eine Zumutung")
    assert lang_1 == lang_2 == "de"
    assert "wartezeit" in one and "wartezeit" in many


def test_english_inflections_count_as_one_lemma(analyzer: StopWordLemmaAnalyzer) -> None:
    lang, terms = analyzer.terms("Waiting on hold, and we waited again for the deliveries")
    assert lang == "en"
    assert "wait" in terms and "delivery" in terms and "waiting" not in terms


def test_stop_words_are_left_out_and_phrases_join_adjacent_words(
    analyzer: StopWordLemmaAnalyzer,
) -> None:
    _lang, terms = analyzer.terms("Super freundliche Beratung und schnelle Lieferung")
    assert "und" not in terms
    assert "freundlich beratung" in terms and "schnell lieferung" in terms
    assert "beratung schnell" not in terms  # "und" stood between them


def test_punctuation_ends_a_phrase(analyzer: StopWordLemmaAnalyzer) -> None:
    _lang, terms = analyzer.terms("Support slow, delivery fast")
    assert "slow delivery" not in terms


@pytest.mark.parametrize(
    "text",
    [
        "Ruf mich an: +49 30 1234567 oder 0171/9876543",
        "Mail me at jane.doe@example.com please",
        "See https://shop.example.com/orders/4711?x=1 and www.example.org",
        "Order 4711 cost 99.95 EUR, ticket AB-2026-17",
    ],
)
def test_numbers_addresses_urls_and_phones_never_become_terms(
    analyzer: StopWordLemmaAnalyzer, text: str
) -> None:
    _lang, terms = analyzer.terms(text)
    joined = " ".join(terms)
    for forbidden in ("49", "4711", "example", "jane", "doe", "shop", "https", "www", "99"):
        assert forbidden not in joined.split(), (forbidden, terms)
    assert not any(ch.isdigit() for ch in joined)


def test_a_comment_without_words_has_no_terms(analyzer: StopWordLemmaAnalyzer) -> None:
    assert analyzer.terms("!!! 10/10")[1] == ()
