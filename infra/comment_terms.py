"""Comments to theme terms: language per comment, lemmas, no stop words, numbers or contacts.

Implements domain.themes.CommentAnalyzer with simplemma (lemmas, MIT) and stop-words
(stop word lists, BSD-3-Clause), both pure Python. The language of a comment is the one
whose stop words it uses most (they are a language's most frequent words, so almost every
sentence has some); a comment without any is given to simplemma's dictionary-based
detector. Speed layer: the lemma of each (language, word) is kept in a per-process dict
of at most LEMMA_CACHE words (cleared when full); a lemma never changes for a given
library version, so nothing invalidates it.
"""

from __future__ import annotations

import re

import simplemma
from stop_words import get_stop_words

LANGUAGES = ("de", "en")
UNKNOWN = "unk"
LEMMA_CACHE = 200_000

# A whitespace-delimited chunk holding a digit, an "@", "://" or a dot before a letter
# (numbers, phone numbers, order ids, e-mail addresses, URLs, domains) is replaced whole by
# a phrase break, so none of its parts can become a term. Most comments have none: the
# cheap _HINT search spares them the replacement.
_HINT = re.compile(r"[\d@]|://|\.\w")
_DROP = re.compile(r"(?<!\S)\S*?(?:\d|@|://|\.\w)\S*")
_WORDS = re.compile(
    r"([^\W\d_]+(?:['\u2019-][^\W\d_]+)*)|[.,;:!?()\[\]\"/&+=<>|\u2026\u2013\u2014]"
)
_BREAK = ""  # a token that is no word: ends the phrase before it


class StopWordLemmaAnalyzer:
    """Terms of one comment: its language and its lemmas and two-lemma phrases."""

    def __init__(self, languages: tuple[str, ...] = LANGUAGES) -> None:
        self._languages = languages
        self._stop = {
            lang: frozenset(w.lower() for w in get_stop_words(lang)) for lang in languages
        }
        self._any_stop = frozenset().union(*self._stop.values())
        self._lemmas: dict[str, dict[str, str]] = {}

    def language(self, words: list[str], text: str) -> str:
        lowered = set(map(str.lower, words))
        best, best_hits, tied = UNKNOWN, 0, False
        for lang in self._languages:
            hits = len(self._stop[lang].intersection(lowered))
            if hits > best_hits:
                best, best_hits, tied = lang, hits, False
            elif hits == best_hits:
                tied = True
        if best_hits and not tied:
            return best
        found, share = simplemma.langdetect(text, lang=self._languages)[0]
        return found if found in self._languages and share > 0 else UNKNOWN

    def _content(self, lang: str) -> dict[str, str]:
        """Word -> its lowercased lemma, or "" for a stop word, per language."""
        cache = self._lemmas.get(lang)
        if cache is None or len(cache) >= LEMMA_CACHE:
            cache = self._lemmas[lang] = {}
        return cache

    def _lemma(self, word: str, lang: str, stop: frozenset[str]) -> str:
        if len(word) < 2 or word.lower() in stop:
            return _BREAK
        lemma = (word if lang == UNKNOWN else simplemma.lemmatize(word, lang=lang)).lower()
        return _BREAK if lemma in stop or len(lemma) < 2 else lemma

    def terms(self, text: str) -> tuple[str, tuple[str, ...]]:
        """(language, distinct terms): lemmas, and "lemma lemma" for adjacent content words."""
        if _HINT.search(text):
            text = _DROP.sub(" . ", text)
        words = _WORDS.findall(text)
        lang = self.language(words, text)
        stop = self._stop.get(lang, self._any_stop)
        cache = self._content(lang)
        out: dict[str, None] = {}
        previous = _BREAK
        for word in words:
            lemma = cache.get(word) if word else _BREAK
            if lemma is None:
                lemma = cache[word] = self._lemma(word, lang, stop)
            if lemma:
                out[lemma] = None
                if previous and previous != lemma:
                    out[f"{previous} {lemma}"] = None
            previous = lemma
        return lang, tuple(out)
