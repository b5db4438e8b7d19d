"""Real-ish prose for chapters, versions, prompts and responses: sentences drawn from a small word list.

A fixed pool is generated once per seed and rows pick from it, so text costs nothing per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipelines.source.seed import catalog


def _sentence(rng: np.random.Generator) -> str:
    words = [catalog.WORDS[i] for i in rng.integers(0, len(catalog.WORDS), int(rng.integers(6, 16)))]
    return " ".join(words).capitalize() + str(rng.choice([".", ".", ".", "!", "?"]))


def _paragraph(rng: np.random.Generator) -> str:
    return " ".join(_sentence(rng) for _ in range(int(rng.integers(2, 6))))


@dataclass(frozen=True)
class TextPool:
    chapters: pa.Array  # a few paragraphs each (at most a few hundred words)
    passages: pa.Array  # one paragraph each: version bodies and AI responses

    @classmethod
    def build(cls, rng: np.random.Generator, size: int = 400) -> TextPool:
        chapters = ["\n\n".join(_paragraph(rng) for _ in range(int(rng.integers(2, 6)))) for _ in range(size)]
        passages = [_paragraph(rng) for _ in range(size)]
        return cls(pa.array(chapters), pa.array(passages))

    def chapter_texts(self, rng: np.random.Generator, count: int) -> pa.Array:
        return self.chapters.take(pa.array(rng.integers(0, len(self.chapters), count)))

    def passage_texts(self, rng: np.random.Generator, count: int) -> pa.Array:
        return self.passages.take(pa.array(rng.integers(0, len(self.passages), count)))
