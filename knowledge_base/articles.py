"""The unit of knowledge: one help-centre article.

An article is answered *as a whole*: its title, its Markdown body and the
alternative phrasings customers use for it ("questions") all point to the same
answer. Keeping those phrasings on the article, rather than as separate FAQ
entries, is what lets the index vote per article and lets the policy measure
the margin between two *different* answers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Article:
    """A help-centre article; immutable so the index can cache what it derives from it."""

    id: str
    title: str
    body: str = ""
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    published: bool = True
    url: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ValueError("an article needs a non-empty string id")
        if not isinstance(self.title, str):
            raise TypeError("an article title must be a string")
        # Accept lists from callers and parsers, but store tuples so the article stays hashable
        # in spirit and safe to share between threads.
        object.__setattr__(self, "questions", tuple(q for q in self.questions if q and q.strip()))
        object.__setattr__(self, "tags", tuple(t for t in self.tags if t and t.strip()))

    @property
    def texts(self) -> tuple[str, ...]:
        """The short texts that each stand for the article: its title, then its questions."""
        return (self.title, *self.questions)
