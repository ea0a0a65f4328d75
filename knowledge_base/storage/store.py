"""All SQL of the knowledge base: articles, their counters, feedback, and the core's events.

The database is the source of truth; the in-memory index is derived from it
(see :mod:`knowledge_base.live`). Statements are SQLAlchemy Core run on the
connection of the host's session, so writes join the host's transaction
discipline (on SQLite the host serialises writers). The core's ``events``
table is read with plain SQL text: this package may not import the core's
models, and it only needs three columns of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from knowledge_base.articles import Article
from knowledge_base.contracts import DatabaseLike
from knowledge_base.storage.tables import kb_articles, kb_feedback

#: Rows written per statement in a bulk import (keeps parameter lists bounded).
IMPORT_CHUNK = 500
Progress = Callable[[int, int], None]


class DuplicateArticle(Exception):
    """An article with this id exists already."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored: its content plus bookkeeping the index does not need."""

    article: Article
    created_at: datetime
    updated_at: datetime
    views: int = 0
    helpful: int = 0
    not_helpful: int = 0

    def to_json(self) -> dict[str, Any]:
        a = self.article
        return {
            "id": a.id,
            "title": a.title,
            "body": a.body,
            "questions": list(a.questions),
            "tags": list(a.tags),
            "published": a.published,
            "url": a.url,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "views": self.views,
            "helpful": self.helpful,
            "not_helpful": self.not_helpful,
        }


@dataclass(frozen=True, slots=True)
class ImportCounts:
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class GapQuestion:
    """A question the bot could not settle: declined, or answered and marked unhelpful."""

    kind: str  # "declined" | "not_helpful"
    question: str
    created_at: datetime | None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):  # a driver that hands JSON back undecoded
        value = json.loads(value)
    return tuple(str(v) for v in value or ())


def _article(row: sa.Row[Any]) -> Article:
    return Article(
        id=row.id,
        title=row.title,
        body=row.body,
        questions=_strings(row.questions),
        tags=_strings(row.tags),
        published=bool(row.published),
        url=row.url,
    )


def _stored(row: sa.Row[Any]) -> StoredArticle:
    return StoredArticle(
        article=_article(row),
        created_at=_aware(row.created_at) or utcnow(),
        updated_at=_aware(row.updated_at) or utcnow(),
        views=row.views,
        helpful=row.helpful,
        not_helpful=row.not_helpful,
    )


def _content(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "body": article.body,
        "questions": list(article.questions),
        "tags": list(article.tags),
        "published": article.published,
        "url": article.url,
    }


def _new_row(article: Article, now: datetime) -> dict[str, Any]:
    return {
        "id": article.id,
        **_content(article),
        "created_at": now,
        "updated_at": now,
        "views": 0,
        "helpful": 0,
        "not_helpful": 0,
    }


class ArticleStore:
    """Reads and writes ``kb_articles`` / ``kb_feedback`` through the host's database."""

    def __init__(self, db: DatabaseLike) -> None:
        self.db = db

    async def tables_exist(self) -> bool:
        """Whether the ``kb`` migrations have run on this database."""

        def check(sync_conn: Any) -> bool:
            return bool(sa.inspect(sync_conn).has_table(kb_articles.name))

        async with self.db.engine.connect() as conn:
            return await conn.run_sync(check)

    # ------------------------------------------------------------------ reads

    async def count(self, *, published_only: bool = False) -> int:
        query = sa.select(sa.func.count()).select_from(kb_articles)
        if published_only:
            query = query.where(kb_articles.c.published.is_(True))
        async with self.db.session() as s:
            conn = await s.connection()
            return int((await conn.execute(query)).scalar_one())

    async def get(self, article_id: str) -> StoredArticle | None:
        async with self.db.session() as s:
            conn = await s.connection()
            row = (
                await conn.execute(sa.select(kb_articles).where(kb_articles.c.id == article_id))
            ).first()
        return _stored(row) if row is not None else None

    async def page(
        self,
        *,
        q: str | None = None,
        published: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[StoredArticle], int]:
        """One page of articles by id, filtered by a substring of title/body/id; and the total."""
        conditions: list[sa.ColumnElement[bool]] = []
        if q:
            needle = q.lower()
            conditions.append(
                sa.or_(
                    sa.func.lower(kb_articles.c.title).contains(needle, autoescape=True),
                    sa.func.lower(kb_articles.c.body).contains(needle, autoescape=True),
                    sa.func.lower(kb_articles.c.id).contains(needle, autoescape=True),
                )
            )
        if published is not None:
            conditions.append(kb_articles.c.published.is_(published))
        where = sa.and_(sa.true(), *conditions)
        rows_query = (
            sa.select(kb_articles)
            .where(where)
            .order_by(kb_articles.c.id)
            .limit(limit)
            .offset(offset)
        )
        total_query = sa.select(sa.func.count()).select_from(kb_articles).where(where)
        async with self.db.session() as s:
            conn = await s.connection()
            rows = (await conn.execute(rows_query)).all()
            total = int((await conn.execute(total_query)).scalar_one())
        return [_stored(r) for r in rows], total

    async def articles(self, *, published_only: bool = False) -> list[Article]:
        """Every article (in id order), for building the index or exporting."""
        query = sa.select(kb_articles).order_by(kb_articles.c.id)
        if published_only:
            query = query.where(kb_articles.c.published.is_(True))
        async with self.db.session() as s:
            conn = await s.connection()
            return [_article(row) for row in (await conn.execute(query)).all()]

    # ------------------------------------------------------------------ writes

    async def create(self, article: Article) -> StoredArticle:
        """Insert a new article; :class:`DuplicateArticle` if the id is taken."""
        now = utcnow()
        try:
            async with self.db.transaction() as s:
                conn = await s.connection()
                await conn.execute(sa.insert(kb_articles).values(_new_row(article, now)))
        except IntegrityError as exc:
            raise DuplicateArticle(article.id) from exc
        return StoredArticle(article, now, now)

    async def save(self, article: Article) -> StoredArticle | None:
        """Replace the content of an existing article (counters kept); None if there is none."""
        now = utcnow()
        async with self.db.transaction() as s:
            conn = await s.connection()
            result = await conn.execute(
                sa.update(kb_articles)
                .where(kb_articles.c.id == article.id)
                .values(**_content(article), updated_at=now)
            )
            if not result.rowcount:
                return None
            row = (
                await conn.execute(sa.select(kb_articles).where(kb_articles.c.id == article.id))
            ).one()
        return _stored(row)

    async def delete(self, article_id: str) -> bool:
        async with self.db.transaction() as s:
            conn = await s.connection()
            result = await conn.execute(
                sa.delete(kb_articles).where(kb_articles.c.id == article_id)
            )
            return bool(result.rowcount)

    async def import_articles(
        self, articles: Sequence[Article], *, progress: Progress | None = None
    ) -> ImportCounts:
        """Insert new articles and overwrite existing ones, all in ONE transaction.

        Either the whole file is in the database afterwards or none of it is:
        a half-imported help centre is worse than the old one.
        """
        created = updated = 0
        now = utcnow()
        total = len(articles)
        async with self.db.transaction() as s:
            conn = await s.connection()
            for start in range(0, total, IMPORT_CHUNK):
                chunk = articles[start : start + IMPORT_CHUNK]
                ids = [a.id for a in chunk]
                existing = set(
                    (
                        await conn.execute(
                            sa.select(kb_articles.c.id).where(kb_articles.c.id.in_(ids))
                        )
                    ).scalars()
                )
                new = [_new_row(a, now) for a in chunk if a.id not in existing]
                if new:
                    await conn.execute(sa.insert(kb_articles), new)
                for article in chunk:
                    if article.id in existing:
                        await conn.execute(
                            sa.update(kb_articles)
                            .where(kb_articles.c.id == article.id)
                            .values(**_content(article), updated_at=now)
                        )
                created += len(new)
                updated += len(chunk) - len(new)
                if progress is not None:
                    progress(start + len(chunk), total)
        return ImportCounts(created, updated)

    async def count_view(self, article_id: str) -> None:
        async with self.db.transaction() as s:
            conn = await s.connection()
            await conn.execute(
                sa.update(kb_articles)
                .where(kb_articles.c.id == article_id)
                .values(views=kb_articles.c.views + 1)
            )

    async def record_feedback(self, article_id: str, helpful: bool, question: str | None) -> bool:
        """Count a help-centre "Was this helpful?" vote; False if the article is gone."""
        column = kb_articles.c.helpful if helpful else kb_articles.c.not_helpful
        async with self.db.transaction() as s:
            conn = await s.connection()
            result = await conn.execute(
                sa.update(kb_articles)
                .where(kb_articles.c.id == article_id)
                .values({column.name: column + 1})
            )
            if not result.rowcount:
                return False
            await conn.execute(
                sa.insert(kb_feedback).values(
                    article_id=article_id,
                    helpful=helpful,
                    question=(question or None) and question[:500],
                    created_at=utcnow(),
                )
            )
        return True

    # ------------------------------------------------------------------ gaps

    async def gap_questions(self, *, limit: int = 5_000) -> list[GapQuestion]:
        """The most recent questions the bot declined or answered unhelpfully.

        Reads the core's ``events`` (bot chat) and our own ``kb_feedback``
        (help-centre "No" votes that came with a search query).
        """
        events = sa.text(
            "SELECT kind, data, created_at FROM events "
            "WHERE kind IN ('bot_declined', 'bot_feedback') ORDER BY id DESC LIMIT :limit"
        ).columns(
            sa.column("kind", sa.String()),
            sa.column("data", sa.JSON()),
            sa.column("created_at", sa.DateTime(timezone=True)),
        )
        votes = (
            sa.select(kb_feedback.c.question, kb_feedback.c.created_at)
            .where(kb_feedback.c.helpful.is_(False), kb_feedback.c.question.is_not(None))
            .order_by(kb_feedback.c.id.desc())
            .limit(limit)
        )
        out: list[GapQuestion] = []
        async with self.db.session() as s:
            conn = await s.connection()
            for kind, data, created_at in (await conn.execute(events, {"limit": limit})).all():
                out.extend(_gap_from_event(kind, data, created_at))
            for question, created_at in (await conn.execute(votes)).all():
                out.append(GapQuestion("not_helpful", question, _aware(created_at)))
        return out


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything written here is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _gap_from_event(kind: str, data: Any, created_at: datetime | None) -> Iterable[GapQuestion]:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return
    if not isinstance(data, dict):
        return
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        return
    if kind == "bot_declined":
        yield GapQuestion("declined", question, _aware(created_at))
    elif kind == "bot_feedback" and data.get("helpful") is False:
        yield GapQuestion("not_helpful", question, _aware(created_at))
