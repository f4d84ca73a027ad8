"""Metadata read from the page itself (issue 3.2): the fields each page shape states, and no others.

Every page here is written for the test. Each row is one page shape users drop (plain text
with a US, UK or wire byline, datelines with and without an agency, "Updated" stamps, Markdown
front matter, HTML with meta tags, JSON-LD, OpenGraph only, a ``<title>`` only, pages with
nothing) and the fields it states; a field the row leaves out must come back unknown.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write

from caucasus_qa.articles.formats import Article, read_articles

LEAD = (
    "Bus drivers across the valley walked out on Monday after talks over pay and rest breaks collapsed late on "
    "Sunday night."
)
MORE = [
    "The union said about 400 drivers joined the strike, which halted most routes between the towns and the centre.",
    "Managers said they would meet union officials again on Thursday, but warned that the dispute could last weeks.",
]
BODY = "\n\n".join([LEAD, *MORE])
HEAD = "Valley bus drivers walk out over pay"
CAREER = "3/1/1966 - 4/4/1967: Regional Director, Valley Relief Agency"
SHORTENED = "Valley bus drivers walk out over pay and rest breaks as talks ..."
FIELDS = ("title", "outlet", "author", "published")


def _html(head: str = "", body_top: str = "") -> str:
    paras = "".join(f"<p>{p}</p>" for p in [LEAD, *MORE])
    return f"<!doctype html><html><head>{head}</head><body><article>{body_top}{paras}</article></body></html>"


def _jsonld(data: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


# (name, file suffix, page, the fields the page states)
SHAPES: list[tuple[str, str, str, dict[str, str]]] = [
    # --- plain text, US bylines
    ("us byline with outlet and date", ".txt", f"{HEAD}\nBy Maria Lopez, Springfield Gazette, March 3, 2024\n\n{BODY}",
     {"title": HEAD, "author": "Maria Lopez", "outlet": "Springfield Gazette", "published": "2024-03-03"}),
    ("us byline name only", ".txt", f"{HEAD}\n\nBy Maria Lopez\n\n{BODY}", {"title": HEAD, "author": "Maria Lopez"}),
    ("us byline in capitals", ".txt", f"{HEAD}\n\nBY MARIA LOPEZ\n\n{BODY}", {"title": HEAD, "author": "MARIA LOPEZ"}),
    ("two authors", ".txt", f"{HEAD}\n\nBy Maria Lopez and Tom Reyes\n\n{BODY}",
     {"title": HEAD, "author": "Maria Lopez and Tom Reyes"}),
    ("byline with a bar and outlet", ".txt", f"{HEAD}\n\nBy Maria Lopez | Springfield Gazette\n\n{BODY}",
     {"title": HEAD, "author": "Maria Lopez", "outlet": "Springfield Gazette"}),
    ("byline with a role", ".txt", f"{HEAD}\n\nBy Maria Lopez, Staff Writer\n\n{BODY}",
     {"title": HEAD, "author": "Maria Lopez"}),
    ("byline with an agency", ".txt", f"{HEAD}\n\nBy Maria Lopez, Associated Press\n\n{BODY}",
     {"title": HEAD, "author": "Maria Lopez", "outlet": "Associated Press"}),
    ("byline with the agency in brackets", ".txt", f"{HEAD}\n\nBy Maria Lopez (Reuters)\n\n{BODY}",
     {"title": HEAD, "author": "Maria Lopez", "outlet": "Reuters"}),
    ("posted on a date by someone", ".txt", f"{HEAD}\n\nPosted on March 3, 2024 by Jane Doe\n\n{BODY}",
     {"title": HEAD, "author": "Jane Doe", "published": "2024-03-03"}),
    ("written by label", ".txt", f"{HEAD}\n\nWritten by Jane Doe\n\n{BODY}", {"title": HEAD, "author": "Jane Doe"}),
    # --- plain text, UK bylines
    ("uk name and role, no 'by'", ".txt", f"{HEAD}\n\nMaria Lopez, Health Correspondent\n\n{BODY}",
     {"title": HEAD, "author": "Maria Lopez"}),
    ("uk byline and a dotted time stamp", ".txt",
     f"{HEAD}\n\nBy Maria Lopez, Political Editor\nSat 12 Sep 2024 09.00 BST\n\n{BODY}",
     {"title": HEAD, "author": "Maria Lopez", "published": "2024-09-12"}),
    ("uk day-month date line", ".txt", f"{HEAD}\n\n3 March 2024\n\n{BODY}", {"title": HEAD, "published": "2024-03-03"}),
    ("published by an outlet on a date", ".txt", f"{HEAD}\n\nPublished by Health Wire on 2 February 2025\n\n{BODY}",
     {"title": HEAD, "outlet": "Health Wire", "published": "2025-02-02"}),
    ("outlet and date line", ".txt", f"{HEAD}\n\nHill County Herald, April 22, 2025\n\n{BODY}",
     {"title": HEAD, "outlet": "Hill County Herald", "published": "2025-04-22"}),
    # --- plain text, wire datelines
    ("dateline with an agency in brackets", ".txt", f"{HEAD}\n\nCALDER (Valley Press) - {BODY}",
     {"title": HEAD, "outlet": "Valley Press"}),
    ("dateline with AP", ".txt", f"{HEAD}\n\nWASHINGTON (AP) — {BODY}", {"title": HEAD, "outlet": "AP"}),
    ("dateline with agency and a day without a year", ".txt", f"{HEAD}\n\nLONDON, March 3 (Reuters) - {BODY}",
     {"title": HEAD, "outlet": "Reuters"}),
    ("dateline with agency, a day and a year", ".txt", f"{HEAD}\n\nCALDER, Nov. 19, 2024 (Valley Press) - {BODY}",
     {"title": HEAD, "outlet": "Valley Press", "published": "2024-11-19"}),
    ("dateline with a day and a year, no agency", ".txt", f"{HEAD}\n\nCALDER, 3 March 2025 — {BODY}",
     {"title": HEAD, "published": "2025-03-03"}),
    ("dateline without an agency", ".txt", f"{HEAD}\n\nPARIS — {BODY}", {"title": HEAD}),
    ("dateline with a minus sign", ".txt", f"{HEAD}\n\nNEW YORK − {BODY}", {"title": HEAD}),
    ("dateline on its own line, outlet after the place", ".txt", f"{HEAD}\n\nCalder CNN —\n\n{BODY}",
     {"title": HEAD, "outlet": "CNN"}),
    ("dateline on its own line, outlet only", ".txt", f"{HEAD}\n\nCNN —\n\n{BODY}", {"title": HEAD, "outlet": "CNN"}),
    # --- plain text, date stamps
    ("published and updated stamp", ".txt", f"{HEAD}\n\nJan. 3, 2026 Updated Jan. 7, 2026, 4:34 a.m. ET\n\n{BODY}",
     {"title": HEAD, "published": "2026-01-03"}),
    ("updated stamp only", ".txt", f"{HEAD}\n\nUpdated 4:34 a.m. ET Jan. 7, 2026\n\n{BODY}",
     {"title": HEAD, "published": "2026-01-07"}),
    ("published label", ".txt", f"{HEAD}\n\nPublished: March 3, 2024\n\n{BODY}",
     {"title": HEAD, "published": "2024-03-03"}),
    ("date and time line", ".txt", f"{HEAD}\n\nJuly 22, 2025, 12:42 p.m. ET\n\n{BODY}",
     {"title": HEAD, "published": "2025-07-22"}),
    ("iso date line", ".txt", f"{HEAD}\n\n2024-03-03\n\n{BODY}", {"title": HEAD, "published": "2024-03-03"}),
    ("a month alone is a month", ".txt", f"{HEAD}\n\nMarch 2024\n\n{BODY}", {"title": HEAD, "published": "2024-03"}),
    # --- plain text, titles
    ("section label above the headline", ".txt", f"Opinion\n\n{HEAD}\n\n{BODY}", {"title": HEAD}),
    ("editor's note label above the headline", ".txt", f"Editor's note\n\n{HEAD}\n\n{BODY}", {"title": HEAD}),
    ("headline cut short by a search result", ".txt", f"{SHORTENED}\n\n{BODY}", {"title": SHORTENED}),
    ("headline only", ".txt", f"{HEAD}\n\n{BODY}", {"title": HEAD}),
    ("nothing but text", ".txt", BODY, {}),
    ("byline at the end of the text", ".txt", f"{HEAD}\n\n{BODY}\n\nReporting by Maria Lopez; Editing by Tom Reyes",
     {"title": HEAD, "author": "Maria Lopez"}),
    ("two-word headline", ".txt", f"Frost Returns\n\n{BODY}", {"title": "Frost Returns"}),
    ("a headline that names a day", ".txt", f"Letters to the editor for Sunday, March 3, 2024\n\n{BODY}",
     {"title": "Letters to the editor for Sunday, March 3, 2024"}),
    ("first-published note", ".txt", f"{HEAD}\n\nThis story was originally published on June 12, 2022.\n\n{BODY}",
     {"title": HEAD, "published": "2022-06-12"}),
    ("contributors line at the end", ".txt", f"{HEAD}\n\n{BODY}\n\nContributing: Ana Lima, Tom Reyes, Valley Press",
     {"title": HEAD}),
    ("signature with the outlet in quotes", ".txt", f'{HEAD}\n\n{BODY}\n\nTom Reyes, "Calder Weekly Notes"',
     {"title": HEAD, "author": "Tom Reyes", "outlet": "Calder Weekly Notes"}),
    ("a list of names and quoted titles at the end", ".txt",
     f"{HEAD}\n\n{BODY}\n\nAna Lima, “Lakeside Nights”\n\nTom Reyes, “The Ferry Years”", {"title": HEAD}),
    ("reader's letter signed with a town", ".txt", f"{HEAD}\n\n{BODY}\n\nTom Reyes, Calder", {"title": HEAD}),
    ("contact line with an e-mail address", ".txt", f"{HEAD}\n\n{BODY}\n\nReach Ana Lima at alima@valleypress.com.",
     {"title": HEAD}),
    ("follow-us line names the site", ".txt", f"{HEAD}\n\n{BODY}\n\nFollow Valleypress.org social media accounts",
     {"title": HEAD, "outlet": "Valleypress.org"}),
    ("a career's span of dates", ".txt", f"{HEAD}\n\n{CAREER}\n\n{BODY}", {"title": HEAD}),
    ("a stage direction in brackets", ".txt", f"{HEAD}\n\n(APPLAUSE)\n\n{BODY}", {"title": HEAD}),
    ("a name printed twice above the story", ".txt", f"{HEAD}\n\nAna Lima\n\nAna Lima\n\n{BODY}", {"title": HEAD}),
    # --- Markdown
    ("markdown heading and italic byline line", ".md",
     f"# {HEAD}\n\n*Northfield Courier — 12 September 2024 — by Priya Raman*\n\n{BODY}",
     {"title": HEAD, "outlet": "Northfield Courier", "author": "Priya Raman", "published": "2024-09-12"}),
    ("markdown front matter", ".md",
     f"---\ntitle: {HEAD}\noutlet: Lakeside Post\ndate: 2024-09-12\nauthor: Priya Raman\n---\n\n{BODY}",
     {"title": HEAD, "outlet": "Lakeside Post", "author": "Priya Raman", "published": "2024-09-12"}),
    ("markdown front matter, a month and an author list", ".md",
     f'---\ntitle: "{HEAD}"\ndate: March 2024\nauthors:\n  - Priya Raman\n  - Tom Reyes\n---\n\n{BODY}',
     {"title": HEAD, "author": "Priya Raman, Tom Reyes", "published": "2024-03"}),
    ("markdown heading and bold published label", ".md", f"# {HEAD}\n\n**Published:** 3 March 2024\n\n{BODY}",
     {"title": HEAD, "published": "2024-03-03"}),
    ("markdown heading and byline", ".md", f"# {HEAD}\n\nBy Maria Lopez\n\n{BODY}",
     {"title": HEAD, "author": "Maria Lopez"}),
    # --- HTML
    ("html meta tags", ".html", _html(
        f'<title>{HEAD}</title><meta name="author" content="Maria Lopez">'
        '<meta property="og:site_name" content="Springfield Gazette">'
        '<meta property="article:published_time" content="2024-03-03T09:00:00Z">'),
     {"title": HEAD, "author": "Maria Lopez", "outlet": "Springfield Gazette", "published": "2024-03-03"}),
    ("html json-ld NewsArticle", ".html", _html(_jsonld({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": HEAD,
        "datePublished": "2025-02-02T08:00:00Z", "author": {"@type": "Person", "name": "Maria Lopez"},
        "publisher": {"@type": "Organization", "name": "Health Wire"}})),
     {"title": HEAD, "author": "Maria Lopez", "outlet": "Health Wire", "published": "2025-02-02"}),
    ("html opengraph only", ".html", _html(
        f'<meta property="og:title" content="{HEAD}"><meta property="og:site_name" content="Valley Press">'),
     {"title": HEAD, "outlet": "Valley Press"}),
    ("html <title> only, a month named in the text", ".html",
     _html(f"<title>{HEAD}</title>", "<p>The dispute began in March 2024, when the company froze all pay rises.</p>"),
     {"title": HEAD}),
    ("html byline paragraph under the heading", ".html",
     _html("", f"<h1>{HEAD}</h1><p>By Maria Lopez, Springfield Gazette, March 3, 2024</p>"),
     {"title": HEAD, "author": "Maria Lopez", "outlet": "Springfield Gazette", "published": "2024-03-03"}),
    ("html with nothing", ".html", _html(), {}),
]  # fmt: skip


def read_one(path: Path) -> Article:
    items = list(read_articles([path], 10_000_000))
    arts = [i for i in items if isinstance(i, Article)]
    assert len(arts) == 1, items
    return arts[0]


def test_there_are_at_least_forty_shapes():
    assert len(SHAPES) >= 40


@pytest.mark.parametrize("name,suffix,page,stated", SHAPES, ids=[s[0] for s in SHAPES])
def test_each_page_shape_gives_the_fields_it_states_and_no_others(tmp_path, name, suffix, page, stated):
    art = read_one(write(tmp_path / f"page{suffix}", page))
    got = {key: getattr(art, key) for key in FIELDS}
    assert got == {key: stated.get(key) for key in FIELDS}
    assert LEAD in art.text or LEAD.split(" ", 1)[1] in art.text  # the article itself is kept


@pytest.mark.parametrize(
    "name,suffix,page,stated",
    [s for s in SHAPES if s[3].get("author") or s[3].get("outlet") or s[3].get("published")],
    ids=[s[0] for s in SHAPES if s[3].get("author") or s[3].get("outlet") or s[3].get("published")],
)
def test_bylines_and_datelines_are_kept_out_of_the_quoted_text(tmp_path, name, suffix, page, stated):
    art = read_one(write(tmp_path / f"page{suffix}", page))
    for value in (stated.get("author"), stated.get("outlet")):
        if value:
            assert value not in art.text
    assert "title:" not in art.text and "—" not in art.text.split("\n")[-1][:3]


def test_a_month_is_shown_as_a_month_and_counts_as_its_last_day(tmp_path):
    from datetime import date

    from caucasus_qa.answering.answer import Citation
    from caucasus_qa.answering.retrieval import published_on

    art = read_one(write(tmp_path / "page.txt", f"{HEAD}\n\nMarch 2024\n\n{BODY}"))
    assert art.published == "2024-03" and "month" in art.date_note
    cite = Citation(1, LEAD, art.id, art.title, "Valley Press", art.published, None, 0, len(LEAD))
    assert cite.source_line == "Valley Press, March 2024"
    assert cite.attribution == "According to Valley Press (March 2024)"
    assert published_on({"published": "2024-03"}) == date(2024, 3, 31)  # as_of counts the month's last day
    assert published_on({"published": "2024-03-05"}) == date(2024, 3, 5)


def test_the_attribution_names_the_outlet_else_the_title_else_nothing():
    from caucasus_qa.answering.answer import Citation

    def cite(title, outlet, published=None):
        return Citation(1, LEAD, "file-name-7", title, outlet, published, None, 0, len(LEAD))

    assert cite(HEAD, "Valley Press", "2024-03-03").attribution == "According to Valley Press (2024-03-03)"
    assert cite(HEAD, None).attribution == f"According to “{HEAD}”"
    assert cite(None, None, "2024-03-03").attribution is None  # never the file name or id


def test_user_metadata_wins_over_the_page_and_a_month_may_be_given(tmp_path):
    path = write(tmp_path / "story.txt", f"{HEAD}\n\nBy Maria Lopez, Springfield Gazette, March 3, 2024\n\n{BODY}")
    write(tmp_path / "story.meta.toml", 'outlet = "Gazette Weekly"\npublished = "2024-04"\n')
    art = read_one(path)
    assert (art.outlet, art.published, art.author) == ("Gazette Weekly", "2024-04", "Maria Lopez")


def test_structured_data_wins_over_the_page_lines(tmp_path):
    head = _jsonld({"@context": "https://schema.org", "@type": "NewsArticle", "headline": HEAD,
                    "author": {"@type": "Person", "name": "Ana Lima"}, "datePublished": "2025-02-02"})  # fmt: skip
    art = read_one(write(tmp_path / "p.html", _html(head, f"<h1>{HEAD}</h1><p>By Maria Lopez, March 3, 2024</p>")))
    assert (art.author, art.published) == ("Ana Lima", "2025-02-02")


def test_coverage_counts_what_is_unknown():
    from caucasus_qa.articles.metadata import coverage

    rows = [{"id": "a", "title": "T", "outlet": "O", "published": "2024-03"}, {"id": "b", "title": "U"}, {"id": "c"}]
    assert coverage(rows) == {"articles": 3, "without_title": 1, "without_outlet": 2, "without_date": 2,
                              "without_author": 3, "month_only": 1}  # fmt: skip


def test_the_kit_check_reads_a_folder_of_txt_pages_and_catches_what_is_wrong(tmp_path):
    """`bench metadata` on a tiny kit written here: the checks count what they should."""
    import gzip

    from caucasus_qa.measuring.kitpages import check_kit, flaw, render

    pages = [
        {"id": "p1", "week": "20250103", "title": HEAD, "text": f"July 22, 2025, 12:42 p.m. ET\n\n{BODY}"},
        {"id": "p2", "week": "20250103", "title": "Calder ferry timetable changes", "text": f"Calder CNN —\n\n{BODY}"},
        {
            "id": "p3",
            "week": "20250711",
            "title": "Frost warning for the valley",
            "text": BODY.replace("Monday", "Tue"),
        },
    ]
    kit = tmp_path / "kit"
    kit.mkdir()
    with gzip.open(kit / "articles.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(p) + "\n" for p in pages)
    checks = {c.id: c for c in check_kit(kit)}
    assert all(c.title_is_headline for c in checks.values())
    assert checks["p1"].opens_dated and checks["p1"].date_right and not checks["p2"].opens_dated
    assert checks["p2"].outlet == "CNN" and not any(
        c.bad_outlet or c.bad_title or c.date_unstated for c in checks.values()
    )
    assert {c.split for c in checks.values()} == {"tune"}  # weeks 1-26 of the kit tune: these are weeks 1 and 2
    assert "title is the headline: 3 of 3 (1.000)" in render(list(checks.values()))
    # the checks themselves catch a dateline, a byline and a site tag
    assert flaw("Jan. 3, 2026 Updated Jan. 7, 2026, 4:34 a.m. ET") == "dateline" and flaw("Calder CNN —") == "dateline"
    assert flaw("By Maria Lopez") == "byline" and flaw("usatoday") == "tag"
    assert flaw("Ten things to know on March 3, 2024 before the vote") is None and flaw(HEAD) is None
