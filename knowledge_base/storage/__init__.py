"""Where articles live: the ``kb_articles`` and ``kb_feedback`` tables and their queries.

The tables are SQLAlchemy Core on a ``MetaData`` of their own (not the core's),
shipped as the ``kb`` alembic branch in ``migrations/``.
"""

from knowledge_base.storage.store import (
    ArticleStore,
    DuplicateArticle,
    GapQuestion,
    ImportCounts,
    StoredArticle,
)
from knowledge_base.storage.tables import kb_articles, kb_feedback, metadata

__all__ = [
    "ArticleStore",
    "DuplicateArticle",
    "GapQuestion",
    "ImportCounts",
    "StoredArticle",
    "kb_articles",
    "kb_feedback",
    "metadata",
]
