"""Readers for .txt .md .html .jsonl, metadata overrides, and one-line reasons for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write
from test_boilerplate import PARAGRAPHS

from caucasus_qa.articles.formats import Article, Skip, read_articles

MB = 1_000_000
BODY = "\n\n".join(PARAGRAPHS)


def read(*paths: Path, max_bytes: int = 10 * MB) -> tuple[list[Article], list[Skip]]:
    items = list(read_articles(paths, max_bytes))
    return [i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, Skip)]


def test_txt_article_id_is_the_file_stem(tmp_path):
    arts, skips = read(write(tmp_path / "bridge-story.txt", "Bridge closes for repairs\n\n" + BODY))
    assert not skips and arts[0].id == "bridge-story"
    assert arts[0].title == "Bridge closes for repairs"


def test_markdown_heading_becomes_title(tmp_path):
    arts, _ = read(write(tmp_path / "a.md", "# Bridge closes for repairs\n\n" + BODY))
    assert arts[0].title == "Bridge closes for repairs" and "#" not in arts[0].text


HTML = """<!doctype html><html><head><title>Bridge closes | Harbour Gazette</title>
<meta property="og:site_name" content="Harbour Gazette">
<meta name="author" content="Maria Jensen">
<meta property="article:published_time" content="2024-03-03T09:00:00Z"></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<article><h1>Bridge closes for repairs</h1>{paras}</article>
<aside><h3>Related</h3><ul><li><a href="/x">Lighthouse keeper retires after forty years</a></li></ul></aside>
<footer>© 2024 Harbour Gazette Media. All rights reserved.</footer></body></html>"""


def test_html_goes_through_trafilatura_with_metadata(tmp_path):
    html = HTML.format(paras="".join(f"<p>{p}</p>" for p in PARAGRAPHS))
    arts, skips = read(write(tmp_path / "page.html", html))
    assert not skips
    art = arts[0]
    assert all(p in art.text for p in PARAGRAPHS)
    assert "Lighthouse" not in art.text and "All rights reserved" not in art.text and "Sport" not in art.text
    assert art.published == "2024-03-03" and art.author == "Maria Jensen"
    assert art.outlet == "Harbour Gazette"


def test_jsonl_gives_one_article_per_line_and_reports_bad_lines(tmp_path):
    rows = [
        json.dumps({"id": "a1", "text": PARAGRAPHS[0], "title": "T1", "outlet": "O", "published": "2024-01-02"}),
        "{not json",
        json.dumps({"text": PARAGRAPHS[1]}),
        json.dumps({"title": "no text"}),
        json.dumps({"text": PARAGRAPHS[2], "published": "yesterday"}),
    ]
    arts, skips = read(write(tmp_path / "batch.jsonl", "\n".join(rows)))
    assert [a.id for a in arts] == ["a1", "batch-3"]
    assert arts[0].outlet == "O" and arts[0].published == "2024-01-02"
    assert [s.path.rsplit(":", 1)[1] for s in skips] == ["2", "4", "5"]
    assert "is not a date" in skips[-1].reason and "YYYY-MM-DD" in skips[-1].reason


def test_sidecar_overrides_what_the_page_says(tmp_path):
    page = write(tmp_path / "story.txt", "Wrong headline here\n\nJan 1, 2020\n\n" + BODY)
    write(tmp_path / "story.meta.toml", 'title = "Right headline"\noutlet = "Coastal Times"\npublished = 2024-05-06\n')
    arts, _ = read(tmp_path)
    assert (arts[0].title, arts[0].outlet, arts[0].published) == ("Right headline", "Coastal Times", "2024-05-06")
    assert page.exists()


def test_manifest_overrides_per_file_and_sidecar_wins(tmp_path):
    write(tmp_path / "one.txt", BODY)
    write(tmp_path / "two.txt", BODY.replace("council", "board"))
    write(tmp_path / "manifest.toml", '[one]\noutlet = "M1"\n[two]\noutlet = "M2"\nauthor = "A"\n')
    write(tmp_path / "two.meta.toml", 'outlet = "S2"\n')
    arts, skips = read(tmp_path)
    got = {a.id: (a.outlet, a.author) for a in arts}
    assert not skips and got == {"one": ("M1", None), "two": ("S2", "A")}


def test_sidecar_with_unknown_key_is_a_clear_failure(tmp_path):
    write(tmp_path / "x.txt", BODY)
    write(tmp_path / "x.meta.toml", 'headline = "oops"\n')
    _, skips = read(tmp_path)
    assert skips[0].failed and "unknown key(s) headline" in skips[0].reason


def test_bad_inputs_each_get_a_reason_and_the_rest_goes_through(tmp_path):
    folder = tmp_path / "batch"
    write(folder / "good.txt", BODY)
    write(folder / "empty.txt", "")
    write(folder / "blank.txt", "   \n\n  ")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 50)
    (folder / "big.txt").write_bytes(b"word " * (11 * MB // 5))
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / "dangling.txt").symlink_to(folder / "gone.txt")
    arts, skips = read(folder, tmp_path / "missing.txt", max_bytes=10 * MB)
    assert [a.id for a in arts] == ["good"]
    reasons = {Path(s.path).name: s.reason for s in skips}
    assert reasons["empty.txt"] == "empty file"
    assert "only whitespace" in reasons["blank.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "11.0 MB, over the 10 MB limit" in reasons["big.txt"]
    assert "unsupported file type .pdf" in reasons["notes.pdf"]
    assert "cannot read" in reasons["dangling.txt"]
    assert reasons["missing.txt"] == "no such file or folder"
    assert all("\n" not in r for r in reasons.values())
    assert not next(s for s in skips if s.path.endswith("notes.pdf")).failed


def test_unreadable_file_is_reported_not_fatal(tmp_path):
    """Root reads any file, so as root the check runs without the DAC-override capabilities."""
    write(tmp_path / "secret.txt", BODY).chmod(0)
    write(tmp_path / "open.txt", BODY)
    code = (
        "import sys; from pathlib import Path; from caucasus_qa.articles.formats import read_articles; "
        "[print(type(i).__name__, getattr(i, 'reason', '')) for i in read_articles([Path(sys.argv[1])], 10**7)]"
    )
    cmd = [sys.executable, "-c", code, str(tmp_path)]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = sorted(out.stdout.splitlines())
    assert lines[0].startswith("Article") and "permission denied" in lines[1]


def test_legacy_encodings_are_detected(tmp_path):
    text = (
        "Мост закрыт на ремонт\n\n"
        + "Городской совет во вторник проголосовал за закрытие старого моста для ремонта. " * 3
    )
    (tmp_path / "ru.txt").write_bytes(text.encode("cp1251"))
    arts, skips = read(tmp_path / "ru.txt")
    assert not skips
    assert "Городской совет" in arts[0].text and "decoded as" in arts[0].notes[0]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_text_not_binary(tmp_path, encoding):
    text = (
        "Bridge closes for repairs\n\n" + "The town council voted on Tuesday to close the old bridge for repairs. " * 3
    )
    (tmp_path / "wide.txt").write_bytes(text.encode(encoding))  # Python writes the BOM first
    arts, skips = read(tmp_path / "wide.txt")
    assert not skips and "The town council voted" in arts[0].text and encoding in arts[0].notes[0]


def test_same_id_twice_is_reported(tmp_path):
    write(tmp_path / "a" / "story.txt", BODY)
    write(tmp_path / "b" / "story.md", BODY)
    arts, skips = read(tmp_path)
    assert len(arts) == 1 and "already comes from" in skips[0].reason


def test_a_jsonl_archive_over_the_file_limit_is_read_a_line_at_a_time(tmp_path):
    import json

    from caucasus_qa.articles.formats import read_articles

    body = "The ferry company added a late boat on weekdays after complaints from commuters. " * 20
    rows = [json.dumps({"id": f"n{k}", "title": f"Ferry note {k}", "text": f"{body} Note {k}."}) for k in range(30)]
    rows.insert(7, json.dumps({"id": "huge", "text": "word " * 20_000}))
    path = write(tmp_path / "archive.jsonl", "\n".join(rows) + "\n")
    limit = 50_000  # the file is ~150 kB; each ordinary line is under 2 kB
    assert path.stat().st_size > limit
    found = list(read_articles([path], limit))
    assert [a.id for a in found if isinstance(a, Article)] == [f"n{k}" for k in range(30)]
    skipped = [s for s in found if isinstance(s, Skip)]
    assert len(skipped) == 1 and skipped[0].path.endswith(":8") and "over the 0 MB limit" not in skipped[0].reason
    assert "line is 0.1 MB, over the 0.05 MB limit" in skipped[0].reason
    assert [s.reason for s in read_articles([write(tmp_path / "none.jsonl", "\n\n")], limit)] == [
        "empty file (no JSON lines)"
    ]


def test_a_jsonl_page_s_url_gives_its_site_and_date_when_the_line_does_not(tmp_path):
    import json

    from caucasus_qa.articles.formats import url_facts

    body = "The city council voted to extend the night bus service to the northern suburbs from March. " * 3
    rows = [
        {"id": "a", "url": "https://www.example-news.org/story/local/2024/03/07/night-buses/123", "text": body},
        {"id": "b", "url": "https://example-news.org/2024/03/07/x", "published": "2024-03-09", "outlet": "ENN",
         "text": body},
        {"id": "c", "url": "https://example-news.org/opinion/some-view", "text": body},
    ]  # fmt: skip
    got = {a.id: a for a in read_articles([write(tmp_path / "p.jsonl", "\n".join(map(json.dumps, rows)))], 10**6)}
    assert (got["a"].outlet, got["a"].published, got["a"].date_note) == (
        "example-news.org",
        "2024-03-07",
        "date read from the URL",
    )
    assert (got["b"].outlet, got["b"].published, got["b"].date_note) == ("ENN", "2024-03-09", None)
    assert (got["c"].outlet, got["c"].published) == ("example-news.org", None)
    assert url_facts("https://n.example/2024/02/30/impossible") == {"outlet": "n.example"}
    assert url_facts("https://n.example/archive/20240230") == {"outlet": "n.example"}
    assert url_facts(None) == {} and url_facts("") == {}


def test_a_dateline_an_id_or_chrome_given_as_metadata_stays_unknown(tmp_path: Path):
    """Unknown stays unknown: metadata that is not a title, outlet or author is dropped, noted."""
    rows = [
        {"id": "feed-1", "text": "The ferry resumed service on Monday after the storm.",
         "title": "Updated March 3, 2024, 9:15 a.m. ET", "outlet": "feed-1", "author": "Click here to read more"},
        {"id": "feed-2", "text": "The council approved the new harbour budget on Tuesday evening.",
         "title": "Council approves harbour budget after a long debate over ...", "outlet": "Harbour Gazette"},
    ]  # fmt: skip
    path = write(tmp_path / "feed.jsonl", "\n".join(json.dumps(r) for r in rows))
    first, second = list(read_articles([path], 10**6))
    assert isinstance(first, Article) and isinstance(second, Article)
    assert (first.title, first.outlet, first.author) == (None, None, None)
    assert [n.split(" ")[0] for n in first.notes] == ["title", "outlet", "author"]
    assert "a dateline" in first.notes[0] and "the article's id" in first.notes[1]
    # a headline cut short with "..." is still a title; a real outlet stays
    assert second.title == rows[1]["title"] and second.outlet == "Harbour Gazette" and not second.notes
