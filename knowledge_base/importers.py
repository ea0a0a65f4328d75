"""Reading articles from the formats help centres export: JSONL, CSV, Markdown.

Exports are hand-edited and imperfect. One bad line must not cost the other
999 articles, and the person fixing the file needs to know *where* to look, so
parsers never raise on content: they return the articles they could read and
an :class:`ImportProblem` (source, line number, what is wrong) for each entry
they could not. ``parse_*`` functions are pure (text in, result out);
``read_*``/:func:`load_articles` add the file system.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.articles import Article

#: Separator of several questions (or tags) inside one CSV cell.
CSV_LIST_SEPARATOR = "|"
_TRUE = {"true", "yes", "1", "on", "y"}
_FALSE = {"false", "no", "0", "off", "n", ""}


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """One entry that could not be imported, and where it is."""

    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


class ImportFailed(Exception):
    """Raised by :meth:`ImportResult.raise_for_problems`; lists every problem."""

    def __init__(self, problems: Iterable[ImportProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) importing articles:\n{lines}")


@dataclass(slots=True)
class ImportResult:
    """Articles read, and problems found, by one import."""

    articles: list[Article] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_lines(self) -> list[int]:
        """Line numbers of the problems, in order (for a single-file import)."""
        return [p.line for p in self.problems]

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ImportFailed(self.problems)

    def extend(self, other: ImportResult) -> None:
        self.articles.extend(other.articles)
        self.problems.extend(other.problems)


class _BadEntry(ValueError):
    """An entry is unusable; the message says why."""


def _text(value: object, name: str, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise _BadEntry(f"missing field {name!r}")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _BadEntry(f"field {name!r} must be a string, not {type(value).__name__}")
    text = str(value).strip()
    if required and not text:
        raise _BadEntry(f"field {name!r} is empty")
    return text


def _strings(value: object, name: str, separator: str | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts = value.split(separator) if separator else [value]
        return tuple(p.strip() for p in parts if p.strip())
    if isinstance(value, list | tuple):
        return tuple(_text(v, name) for v in value if _text(v, name))
    raise _BadEntry(f"field {name!r} must be a list of strings")


def _flag(value: object, name: str) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _BadEntry(f"field {name!r} must be true or false, not {value!r}")


def article_from_mapping(record: Mapping[str, object], *, separator: str | None = None) -> Article:
    """Build an article from a parsed record; raises ``ValueError`` saying what is wrong."""
    url = _text(record.get("url"), "url") or None
    return Article(
        id=_text(record.get("id"), "id", required=True),
        title=_text(record.get("title"), "title", required=True),
        body=_text(record.get("body"), "body"),
        questions=_strings(record.get("questions"), "questions", separator),
        tags=_strings(record.get("tags"), "tags", separator),
        published=_flag(record.get("published"), "published"),
        url=url,
    )


def _add(result: ImportResult, seen: set[str], source: str, line: int, article: Article) -> None:
    if article.id in seen:
        result.problems.append(ImportProblem(source, line, f"duplicate id {article.id!r}"))
        return
    seen.add(article.id)
    result.articles.append(article)


# ---------------------------------------------------------------------- JSONL


def parse_jsonl(text: str, source: str = "<jsonl>") -> ImportResult:
    """One JSON object per line: ``{"id", "title", "body", "questions", ...}``."""
    result = ImportResult()
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            result.problems.append(ImportProblem(source, number, f"invalid JSON: {exc.msg}"))
            continue
        if not isinstance(record, dict):
            result.problems.append(ImportProblem(source, number, "not a JSON object"))
            continue
        try:
            article = article_from_mapping(record)
        except ValueError as exc:
            result.problems.append(ImportProblem(source, number, str(exc)))
            continue
        _add(result, seen, source, number, article)
    return result


# ---------------------------------------------------------------------- CSV


def parse_csv(text: str, source: str = "<csv>") -> ImportResult:
    """Header ``id,title,body,questions,tags`` (+ optional ``published``, ``url``).

    Questions and tags hold several values separated by ``|``. Line numbers
    are those of the file, also when a quoted body spans several lines.
    """
    result = ImportResult()
    seen: set[str] = set()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return result
    except csv.Error as exc:
        result.problems.append(ImportProblem(source, 1, f"unreadable header: {exc}"))
        return result
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [n for n in ("id", "title") if n not in names]
    if missing:
        result.problems.append(ImportProblem(source, 1, f"missing column(s): {', '.join(missing)}"))
        return result
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.problems.append(ImportProblem(source, start, f"unreadable CSV: {exc}"))
            break
        number, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(names):
            result.problems.append(
                ImportProblem(source, number, f"{len(row)} cells but {len(names)} columns")
            )
            continue
        record = dict(zip(names, row, strict=False))
        try:
            article = article_from_mapping(record, separator=CSV_LIST_SEPARATOR)
        except ValueError as exc:
            result.problems.append(ImportProblem(source, number, str(exc)))
            continue
        _add(result, seen, source, number, article)
    return result


# ---------------------------------------------------------------------- Markdown

_FRONT_MATTER_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")
_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _scalar(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw


def _inline_list(raw: str) -> list[str]:
    inner = raw.strip()[1:-1]
    return [_scalar(item) for item in next(csv.reader([inner], skipinitialspace=True), [])]


def _front_matter(
    lines: list[str], source: str
) -> tuple[dict[str, object], int, list[ImportProblem]]:
    """Parse the YAML-like block between ``---`` lines (scalars, ``[a, b]`` and ``- item`` lists).

    Returns the fields, the index of the first body line, and problems found.
    """
    fields: dict[str, object] = {}
    problems: list[ImportProblem] = []
    current: str | None = None
    for i in range(1, len(lines)):
        line = lines[i]
        if line.strip() == "---":
            return fields, i + 1, problems
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        stripped = line.strip()
        if stripped.startswith("- ") or stripped == "-":
            if current is None or not isinstance(fields.get(current), list):
                problems.append(ImportProblem(source, i + 1, "list item outside a list"))
                continue
            items = fields[current]
            assert isinstance(items, list)
            items.append(_scalar(stripped[1:]))
            continue
        match = _FRONT_MATTER_KEY.match(stripped)
        if match is None:
            problems.append(ImportProblem(source, i + 1, f"cannot read front matter line {line!r}"))
            continue
        key, raw = match.group(1).lower(), match.group(2).strip()
        current = key
        if not raw:
            fields[key] = []
        elif raw.startswith("[") and raw.endswith("]"):
            fields[key] = _inline_list(raw)
        else:
            fields[key] = _scalar(raw)
    problems.append(ImportProblem(source, 1, "front matter is not closed by '---'"))
    return fields, len(lines), problems


def parse_markdown(text: str, source: str = "<markdown>", default_id: str = "") -> ImportResult:
    """One article: optional ``---`` front matter (id, title, tags, questions, published, url).

    Without a ``title`` field the first ``# heading`` is the title (and is
    removed from the body); without an ``id`` the file name is.
    """
    result = ImportResult()
    lines = text.lstrip("\ufeff").splitlines()
    fields: dict[str, object] = {}
    body_start = 0
    if lines and lines[0].strip() == "---":
        fields, body_start, problems = _front_matter(lines, source)
        if problems:
            result.problems.extend(problems)
            return result
    body = "\n".join(lines[body_start:]).strip()
    if not fields.get("title"):
        heading = _HEADING.search(body)
        if heading:
            fields["title"] = heading.group(1)
            body = (body[: heading.start()] + body[heading.end() :]).strip()
    fields.setdefault("id", default_id)
    fields["body"] = body
    if isinstance(fields.get("tags"), str):
        fields["tags"] = list(_strings(fields["tags"], "tags", ","))
    try:
        result.articles.append(article_from_mapping(fields))
    except ValueError as exc:
        result.problems.append(ImportProblem(source, 1, str(exc)))
    return result


# ---------------------------------------------------------------------- files


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig", errors="replace")


def read_jsonl(path: str | Path) -> ImportResult:
    path = Path(path)
    return parse_jsonl(_read_text(path), str(path))


def read_csv(path: str | Path) -> ImportResult:
    path = Path(path)
    return parse_csv(_read_text(path), str(path))


def read_markdown_folder(path: str | Path) -> ImportResult:
    """Every ``*.md`` file below ``path`` (sorted, so imports are reproducible) is one article."""
    root = Path(path)
    result = ImportResult()
    seen: set[str] = set()
    for file in sorted(root.rglob("*.md")):
        one = parse_markdown(_read_text(file), str(file), default_id=file.stem)
        result.problems.extend(one.problems)
        for article in one.articles:
            _add(result, seen, str(file), 1, article)
    return result


def load_articles(path: str | Path) -> ImportResult:
    """Import from a folder of Markdown files, a ``.csv`` file or a JSONL file."""
    path = Path(path)
    if path.is_dir():
        return read_markdown_folder(path)
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    if path.suffix.lower() in (".md", ".markdown"):
        return parse_markdown(_read_text(path), str(path), default_id=path.stem)
    return read_jsonl(path)
