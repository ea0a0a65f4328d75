"""Importers: good entries are read, bad ones are reported by line, nothing crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import ImportFailed, KnowledgeBase, load_articles, parse_csv, parse_jsonl
from knowledge_base.importers import parse_markdown, read_markdown_folder


def test_jsonl_reads_articles_and_reports_bad_lines() -> None:
    text = "\n".join(
        [
            '{"id": "a", "title": "Returns", "body": "Send it back.", "questions": ["return?"]}',
            '{"id": "b", "title": "Refunds", "body": "", "questions": []',  # broken JSON
            "",
            '["not", "an", "object"]',
            '{"id": "c", "body": "no title"}',
            '{"id": "d", "title": "Hours", "questions": "when are you open", "tags": ["stores"]}',
            '{"id": "a", "title": "Duplicate"}',
            '{"id": "e", "title": 42.5, "questions": [1, 2]}',
            '{"id": "f", "title": "Flag", "published": "maybe"}',
            '{"id": "  ", "title": "Blank id"}',
        ]
    )
    result = parse_jsonl(text, "kb.jsonl")
    assert [a.id for a in result.articles] == ["a", "d", "e"]
    assert result.articles[1].questions == ("when are you open",)
    assert result.articles[1].tags == ("stores",)
    assert result.bad_lines == [2, 4, 5, 7, 9, 10]
    messages = {p.line: p.message for p in result.problems}
    assert "invalid JSON" in messages[2]
    assert "title" in messages[5]
    assert "duplicate" in messages[7]
    assert str(result.problems[0]).startswith("kb.jsonl:2:")
    with pytest.raises(ImportFailed) as failure:
        result.raise_for_problems()
    assert "kb.jsonl:4" in str(failure.value)
    assert len(failure.value.problems) == 6


def test_jsonl_of_nothing_is_empty_and_ok() -> None:
    result = parse_jsonl("\n\n  \n")
    assert result.ok and result.articles == []


def test_csv_reads_lists_and_multiline_bodies() -> None:
    text = (
        "id,title,body,questions,tags,published\n"
        'ret,Returns,"Line one.\nLine two.",how do I return|can I send it back,returns|orders,yes\n'
        "hrs,Store hours,Open 9-5,when are you open,,false\n"
    )
    result = parse_csv(text)
    assert result.ok, result.problems
    ret, hrs = result.articles
    assert ret.body == "Line one.\nLine two."
    assert ret.questions == ("how do I return", "can I send it back")
    assert ret.tags == ("returns", "orders")
    assert hrs.published is False


def test_csv_reports_bad_rows_with_file_line_numbers() -> None:
    text = (
        "id,title,body,questions,tags\n"
        'a,Good,"multi\nline body",q1|q2,\n'  # lines 2-3
        ",No id,body,,\n"  # line 4
        "b,Too,many,cells,x,y,z\n"  # line 5
        "\n"
        "c,Fine,body,,\n"  # line 7
        "a,Duplicate,,,\n"  # line 8
    )
    result = parse_csv(text, "kb.csv")
    assert [a.id for a in result.articles] == ["a", "c"]
    assert result.bad_lines == [4, 5, 8]


def test_csv_without_required_columns_says_so() -> None:
    result = parse_csv("name,text\nx,y\n")
    assert not result.ok
    assert result.problems[0].line == 1 and "id" in result.problems[0].message
    assert parse_csv("").ok


def test_markdown_front_matter() -> None:
    text = """---
id: returns
title: "Returning an item"
tags: [returns, orders]
questions:
  - How do I return something?
  - "Can I send it back, please?"
published: true
url: https://example.com/returns
---
You have **60 days**.
"""
    result = parse_markdown(text, "returns.md", default_id="ignored")
    assert result.ok, result.problems
    (article,) = result.articles
    assert article.id == "returns"
    assert article.title == "Returning an item"
    assert article.tags == ("returns", "orders")
    assert article.questions == ("How do I return something?", "Can I send it back, please?")
    assert article.body == "You have **60 days**."
    assert article.url == "https://example.com/returns"


def test_markdown_without_front_matter_uses_heading_and_file_name() -> None:
    result = parse_markdown("# Store hours\n\nOpen 9 to 5.\n", "hours.md", default_id="hours")
    (article,) = result.articles
    assert (article.id, article.title, article.body) == ("hours", "Store hours", "Open 9 to 5.")


def test_markdown_problems_have_line_numbers() -> None:
    unclosed = parse_markdown("---\ntitle: x\n", "a.md", "a")
    assert not unclosed.ok and unclosed.articles == []
    bad_line = parse_markdown("---\ntitle: x\nthis is not yaml\n---\nbody", "b.md", "b")
    assert bad_line.bad_lines == [3]
    no_title = parse_markdown("just a body, no heading", "c.md", "c")
    assert not no_title.ok and "title" in no_title.problems[0].message


def test_markdown_folder_and_load_articles(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "returns.md").write_text("---\ntitle: Returns\nquestions: [return?]\n---\nBody.")
    (tmp_path / "sub" / "hours.md").write_text("# Store hours\nOpen daily.")
    (tmp_path / "broken.md").write_text("---\ntitle: never closed\n")
    (tmp_path / "notes.txt").write_text("ignored")
    result = load_articles(tmp_path)
    assert sorted(a.id for a in result.articles) == ["hours", "returns"]
    assert len(result.problems) == 1 and result.problems[0].source.endswith("broken.md")
    assert read_markdown_folder(tmp_path / "missing").articles == []


def test_load_articles_by_suffix_and_into_a_knowledge_base(tmp_path: Path) -> None:
    csv_file = tmp_path / "kb.csv"
    csv_file.write_text("id,title,body,questions,tags\nr,Returns,Send it back,how do I return,\n")
    jsonl_file = tmp_path / "kb.jsonl"
    jsonl_file.write_bytes(
        b'\xef\xbb\xbf{"id": "h", "title": "Hours", "body": "9-5"}\n{bad\n\xff\xfe garbage\n'
    )
    assert [a.id for a in load_articles(csv_file).articles] == ["r"]
    mixed = load_articles(jsonl_file)
    assert [a.id for a in mixed.articles] == ["h"]
    assert mixed.bad_lines == [2, 3]
    kb = KnowledgeBase.from_path(jsonl_file)
    assert len(kb) == 1 and kb.search("hours")[0].article_id == "h"
