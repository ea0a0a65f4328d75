"""``contactcenter kb import|export|evaluate|gaps`` on a real (SQLite) database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from contactcenter.cli import main
from knowledge_base.demo import demo_articles_path
from knowledge_base.importers import read_jsonl

GOOD = [
    {"id": "a", "title": "Alpha", "body": "First.", "questions": ["What is alpha?"]},
    {"id": "b", "title": "Beta", "body": "Second.", "tags": ["x"]},
    {"id": "c", "title": "Gamma", "body": "Third."},
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    assert main(["migrate", "--data-dir", str(folder)]) == 0
    return folder


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _count(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "contactcenter.db") as conn:
        return int(conn.execute("SELECT count(*) FROM kb_articles").fetchone()[0])


def test_import_jsonl_then_export_round_trips(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _jsonl(tmp_path / "a.jsonl", [json.dumps(a) for a in GOOD])
    assert main(["kb", "import", str(source), "--data-dir", str(data_dir)]) == 0
    out, err = capsys.readouterr()
    assert "imported 3 articles (3 new, 0 updated" in out
    assert "importing: 3/3 (100%)" in err
    # Importing again updates instead of duplicating.
    assert main(["kb", "import", str(source), "--data-dir", str(data_dir)]) == 0
    assert "(0 new, 3 updated" in capsys.readouterr().out
    assert _count(data_dir) == 3

    exported = tmp_path / "out.jsonl"
    assert main(["kb", "export", str(exported), "--data-dir", str(data_dir)]) == 0
    again = read_jsonl(exported)
    assert again.ok and [a.id for a in again.articles] == ["a", "b", "c"]
    assert again.articles[0].questions == ("What is alpha?",)
    assert main(["kb", "export", "--format", "csv", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out.startswith("id,title,body,questions,tags,published,url\n")


def test_bad_lines_are_reported_and_nothing_is_imported(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _jsonl(
        tmp_path / "bad.jsonl",
        [json.dumps(GOOD[0]), "{not json", json.dumps(GOOD[1]), '{"id": "d"}', json.dumps(GOOD[2])],
    )
    assert main(["kb", "import", str(source), "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert f"{source}:2: invalid JSON" in err
    assert f"{source}:4: missing field 'title'" in err
    assert "lines 2, 4" in err and "nothing imported" in err
    assert _count(data_dir) == 0

    assert main(["kb", "import", str(source), "--partial", "--data-dir", str(data_dir)]) == 0
    assert "2 bad entries skipped" in capsys.readouterr().out
    assert _count(data_dir) == 3


def test_import_csv_and_markdown_folder(data_dir: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "a.csv"
    csv_file.write_text(
        'id,title,body,questions,tags\nx,Ex,"Body, with comma",Q1|Q2,t1|t2\n', encoding="utf-8"
    )
    assert main(["kb", "import", str(csv_file), "--data-dir", str(data_dir)]) == 0
    folder = tmp_path / "md"
    folder.mkdir()
    (folder / "hello.md").write_text(
        "---\ntitle: Hello\ntags: [a, b]\nquestions:\n  - Hi?\n---\nBody **text**\n",
        encoding="utf-8",
    )
    assert main(["kb", "import", str(folder), "--data-dir", str(data_dir)]) == 0
    assert _count(data_dir) == 2


def test_malformed_markdown_and_csv_import_nothing(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "md"
    folder.mkdir()
    (folder / "ok.md").write_text("# Fine\n\nBody", encoding="utf-8")
    (folder / "broken.md").write_text("---\ntitle: Broken\nno colon here\n---\n", encoding="utf-8")
    assert main(["kb", "import", str(folder), "--data-dir", str(data_dir)]) == 1
    assert "broken.md:3:" in capsys.readouterr().err
    csv_file = tmp_path / "b.csv"
    csv_file.write_text("id,title\nx,Ok\ny,\n", encoding="utf-8")
    assert main(["kb", "import", str(csv_file), "--data-dir", str(data_dir)]) == 1
    assert f"{csv_file}:3:" in capsys.readouterr().err
    assert _count(data_dir) == 0


def test_commands_need_a_migrated_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _jsonl(tmp_path / "a.jsonl", [json.dumps(GOOD[0])])
    assert main(["kb", "import", str(source), "--data-dir", str(tmp_path / "none")]) == 1
    assert "contactcenter migrate" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    sqlite3.connect(empty / "contactcenter.db").close()
    assert main(["kb", "gaps", "--data-dir", str(empty)]) == 1
    assert "run `contactcenter migrate` first" in capsys.readouterr().err


def test_database_url_from_the_environment(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTCENTER_DATABASE_URL", f"sqlite:///{data_dir / 'contactcenter.db'}")
    source = _jsonl(tmp_path / "a.jsonl", [json.dumps(GOOD[0])])
    assert main(["kb", "import", str(source), "--data-dir", str(tmp_path / "elsewhere")]) == 0
    assert _count(data_dir) == 1


def test_evaluate_prints_one_json_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = _jsonl(
        tmp_path / "q.jsonl",
        [
            json.dumps({"text": "how do i retrun my jacket", "expected": "returns"}),
            json.dumps({"text": "I forgot my password", "expected": "password-reset"}),
            json.dumps({"text": "what is the capital of Australia", "expected": None}),
        ],
    )
    assert main(["kb", "evaluate", str(demo_articles_path()), str(queries), "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert {"precision", "deflection", "answered", "declined", "total"} <= set(report)
    assert report["total"] == 3 and report["precision"] == 1.0
    assert "evaluating: 3/3" in err
    assert main(["kb", "evaluate", str(demo_articles_path()), str(queries)]) == 0
    text = capsys.readouterr().out
    for word in ("precision", "deflection", "suggestion hit rate", "declined", "latency"):
        assert word in text


def test_gaps_from_recorded_events(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb", "import", str(demo_articles_path()), "--data-dir", str(data_dir)]) == 0
    with sqlite3.connect(data_dir / "contactcenter.db") as conn:
        rows = [
            ("bot_declined", {"question": "Can I bring my dog into the store?"}),
            ("bot_declined", {"question": "can i bring my dog into your store"}),
            ("bot_feedback", {"helpful": False, "question": "how do i retrun my jacket"}),
            ("bot_feedback", {"helpful": True}),
        ]
        conn.executemany(
            "INSERT INTO events (kind, data, created_at) VALUES (?, ?, '2026-01-01 10:00:00')",
            [(kind, json.dumps(data)) for kind, data in rows],
        )
    capsys.readouterr()
    assert main(["kb", "gaps", "--json", "--data-dir", str(data_dir)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 3
    assert report["gaps"][0]["size"] == 2
    assert main(["kb", "gaps", "--data-dir", str(data_dir)]) == 0
    text = capsys.readouterr().out
    assert "2 question(s): 2 declined" in text and "nearest article: returns" in text
