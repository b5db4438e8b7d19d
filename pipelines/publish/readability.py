"""Text statistics and the Flesch readability scores, from plain counts so projects can combine their chapters.

Syllables use the well-known vowel-group heuristic (as in the `syllable` npm package and many Flesch calculators):
words of up to three letters have one syllable; otherwise drop a silent ending (-es, -ed, -e, but not -le), drop
a leading y, and count groups of one or two vowels (y included), at least one.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
# A sentence is a stretch ending in . ! or ? (or the end of the text) that contains a word: one match each, from
# its first letter or digit (where its first word starts) to its end.
_SENTENCE = re.compile(r"[A-Za-z0-9][^.!?]*")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SILENT_ENDING = re.compile(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$")
_VOWEL_GROUP = re.compile(r"[aeiouy]{1,2}")
# content_statistics stores scores as DECIMAL(5,2); pathological text (one 2,000-word sentence) would overflow it.
_SCORE_LIMIT = Decimal("999.99")


@dataclass(frozen=True)
class TextCounts:
    words: int = 0
    characters: int = 0
    sentences: int = 0
    paragraphs: int = 0
    syllables: int = 0

    def __add__(self, other: TextCounts) -> TextCounts:
        return TextCounts(
            words=self.words + other.words,
            characters=self.characters + other.characters,
            sentences=self.sentences + other.sentences,
            paragraphs=self.paragraphs + other.paragraphs,
            syllables=self.syllables + other.syllables,
        )

    def __sub__(self, other: TextCounts) -> TextCounts:
        return TextCounts(
            words=self.words - other.words,
            characters=self.characters - other.characters,
            sentences=self.sentences - other.sentences,
            paragraphs=self.paragraphs - other.paragraphs,
            syllables=self.syllables - other.syllables,
        )

    @property
    def flesch_reading_ease(self) -> Decimal | None:
        """206.835 - 1.015 x words/sentences - 84.6 x syllables/words; None for text without words."""
        if not (self.words and self.sentences):
            return None
        # In thousandths over sentences x words: integers, exact (a write-back scores tens of thousands of rows).
        words, sentences = self.words, self.sentences
        score = 206_835 * sentences * words - 1_015 * words * words - 84_600 * self.syllables * sentences
        return _hundredths(score, 1_000 * sentences * words)

    @property
    def flesch_kincaid_grade(self) -> Decimal | None:
        """0.39 x words/sentences + 11.8 x syllables/words - 15.59; None for text without words."""
        if not (self.words and self.sentences):
            return None
        words, sentences = self.words, self.sentences
        grade = 390 * words * words + 11_800 * self.syllables * sentences - 15_590 * sentences * words
        return _hundredths(grade, 1_000 * sentences * words)


def _hundredths(numerator: int, denominator: int) -> Decimal:
    """numerator / denominator (> 0) rounded half up (away from zero) to hundredths, exactly, kept within the
    DECIMAL(5,2) column."""
    hundredths = (200 * abs(numerator) + denominator) // (2 * denominator)
    rounded = Decimal(hundredths if numerator >= 0 else -hundredths).scaleb(-2)
    return max(-_SCORE_LIMIT, min(_SCORE_LIMIT, rounded))


@lru_cache(maxsize=1 << 16)  # words repeat: a chapter's 1,000 words are a few hundred distinct ones
def syllables(word: str) -> int:
    word = word.lower()
    if len(word) <= 3:
        return 1
    word = _SILENT_ENDING.sub("", word)
    word = word.removeprefix("y")
    return max(1, len(_VOWEL_GROUP.findall(word)))


def count_text(text: str | None) -> TextCounts:
    """Words, characters (all, spaces included), sentences, paragraphs (blocks between blank lines), syllables."""
    if not text:
        return TextCounts()
    words = _WORD.findall(text)
    sentences = len(_SENTENCE.findall(text))
    paragraphs = sum(1 for block in _PARAGRAPH_BREAK.split(text) if block.strip())
    return TextCounts(
        words=len(words),
        characters=len(text),
        sentences=sentences,
        paragraphs=paragraphs,
        syllables=sum(syllables(word) * times for word, times in Counter(words).items()),
    )


# A checkpoint's cut (`Checkpoint`): right after a sentence's end mark and the spaces or tabs that follow it, where a
# character other than whitespace (or the text's end) comes next. Nothing is counted across it: no word, no sentence
# (the end mark ended it), no paragraph break (no line break there), only the paragraph it is in.
_CUT = re.compile(r"[.!?][ \t]+(?=\S|\Z)")
_CUT_WINDOW = 4096  # how far back from a text's end a cut is looked for: a chapter is written on at its end


@dataclass(frozen=True)
class Checkpoint:
    """The counts of a text's first `length` characters, up to a cut, with the digest of those characters: the
    next version of the text, when it begins with the same characters (a chapter written on), needs only what
    follows counted."""

    length: int
    digest: bytes
    counts: TextCounts


def count_from(text: str | None, earlier: Checkpoint | None) -> tuple[TextCounts, Checkpoint | None]:
    """`count_text(text)`, counting only the characters after `earlier`'s cut when `text` still begins with the
    ones before it and is still cut there; and `text`'s own checkpoint, for its next version (None: no cut near its
    end)."""
    if not text:
        return TextCounts(), None
    if earlier is not None and _continues(text, earlier):
        counts = _paragraphs_shared(earlier.counts + count_text(text[earlier.length :]), text[earlier.length :], -1)
    else:
        counts = count_text(text)
    cuts = [match.end() for match in _CUT.finditer(text, max(0, len(text) - _CUT_WINDOW))]
    if not cuts:
        return counts, None
    rest = text[cuts[-1] :]  # a few words: the last sentence or so
    before = _paragraphs_shared(counts - count_text(rest), rest, +1)
    return counts, Checkpoint(cuts[-1], _digest(text[: cuts[-1]]), before)


def _paragraphs_shared(counts: TextCounts, rest: str, sign: int) -> TextCounts:
    """`counts` with one paragraph more (`sign` +1) or fewer (-1) when the text after a cut continues the
    paragraph the cut is in: counted in both parts, it is one paragraph of the whole."""
    return replace(counts, paragraphs=counts.paragraphs + sign) if rest.strip() else counts


def _continues(text: str, earlier: Checkpoint) -> bool:
    """Whether `text` is still cut at `earlier`'s cut and begins with the same characters before it."""
    length = earlier.length
    if len(text) < length or not _cut_at(text, length):
        return False
    return _digest(text[:length]) == earlier.digest


def _cut_at(text: str, position: int) -> bool:
    """Whether `position` is a cut of `text`: an end mark, then spaces or tabs up to it, then no whitespace."""
    mark = len(text[:position].rstrip(" \t")) - 1
    if mark < 0 or mark == position - 1 or text[mark] not in ".!?":
        return False
    return position == len(text) or not text[position].isspace()


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
