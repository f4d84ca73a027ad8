"""Boilerplate removal: article paragraphs stay, site chrome goes, on pages we wrote and the seeds."""

from __future__ import annotations

import re

import pytest
from conftest import CORPUS

from caucasus_qa.articles.boilerplate import chrome_kind, clean_page
from caucasus_qa.articles.dates import find_date, is_dateline

PARAGRAPHS = [
    "The city council voted on Tuesday to close the old harbour bridge for repairs, ending months of debate.",
    "Engineers had warned since 2019 that corrosion in the steel supports was spreading faster than expected.",
    "Traffic will be diverted over the northern ring road, which officials say can absorb the extra cars.",
    "Shop owners near the bridge said they feared losing customers during the eighteen months of work.",
]

BLOG_PAGE = f"""The Harbour Gazette
Menu
Home
Local
Sport
Weather
Search
Subscribe

Council closes harbour bridge for repairs

March 3, 2024
By Maria Jensen
Share
Tweet
Email
12 Comments

{PARAGRAPHS[0]}

{PARAGRAPHS[1]}

Why now?

{PARAGRAPHS[2]}

{PARAGRAPHS[3]}

Share 12 | Tweet 4 | Email
Related stories
Lighthouse Keeper Retires After Forty Years on the Rocks
A man who spent four decades keeping the lamp lit on the point finally handed over the keys this week to a ...
Read more
Ferry Timetable Changes From Monday
Leave a comment
© 2024 Harbour Gazette Media. All rights reserved.
"""


def test_blog_page_keeps_every_paragraph_and_drops_chrome():
    page = clean_page(BLOG_PAGE)
    for paragraph in PARAGRAPHS:
        assert paragraph in page.text
    assert "Why now?" in page.text  # a section heading between paragraphs stays
    for chrome in [
        "Menu",
        "Subscribe",
        "Share 12",
        "Related stories",
        "Lighthouse",
        "Read more",
        "Leave a comment",
        "All rights reserved",
        "Ferry Timetable",
        "12 Comments",
    ]:
        assert chrome not in page.text
    assert page.title == "Council closes harbour bridge for repairs"
    assert page.published == "2024-03-03"
    assert page.text.startswith(page.title)


def test_byline_at_end_gives_author_and_original_outlet():
    text = "Big headline about the river\n\n" + "\n\n".join(PARAGRAPHS) + '\n\nJonas Weber, "Radio North"\n'
    page = clean_page(text)
    assert page.author == "Jonas Weber"
    assert page.source == "Radio North"
    assert "Jonas Weber" not in page.text
    assert all(p in page.text for p in PARAGRAPHS)


def test_author_label_line_is_metadata_not_text():
    page = clean_page("\n\n".join(PARAGRAPHS) + "\nAuthor: Ana Lima\n")
    assert page.author == "Ana Lima" and "Author:" not in page.text


def test_date_above_the_headline_is_the_site_clock_not_publication():
    text = "Monday, 8 January 2024, 21:15\nSite Name\nContact\n\nRiver levels rise after storms\n\n" + "\n\n".join(
        PARAGRAPHS
    )
    page = clean_page(text)
    assert page.published is None
    assert "2024-01-08" in page.date_note and "clock" in page.date_note


def test_syndicated_copy_names_original_outlet_via_the_site():
    text = (
        "Aggreg8\nNews\nAggreg8\n\nBridge closes\n\n"
        + "\n\n".join(PARAGRAPHS)
        + "\n\nThe post Bridge closes appeared first on Coastal Times.\nShare5Tweet3\n"
    )
    page = clean_page(text)
    assert page.outlet == "Coastal Times via Aggreg8"
    assert "appeared first" not in page.text


def test_page_with_only_menus_yields_no_text():
    assert clean_page("Home\nNews\nSport\nContact us\nLog in\n").text == ""


@pytest.mark.parametrize(
    "line,kind",
    [
        ("Share on FacebookShare on Twitter", "share"),
        ("Share198Tweet124Share", "share"),
        ("1.4k", "counter"),
        ("VIEWS", "counter"),
        ("Read more", "navigation"),
        ("• Travel", "navigation"),
        ("Write your comment 6", "comments"),
        ("Copyright © 2025.", "copyright"),
        ("Follow Example.org social media accounts", "follow"),
    ],
)
def test_chrome_lines_are_recognised(line, kind):
    assert chrome_kind(line) == kind


def test_promo_lines_inside_the_article_go_and_the_story_they_advertise_with_them():
    page = clean_page(
        "Council closes harbour bridge for repairs\n\n"
        + "\n\n".join(
            [
                PARAGRAPHS[0],
                "READ MORE: Celebrity chef Marco Bellini opens a new restaurant in the old port",
                PARAGRAPHS[1],
                "Related: Ten best beaches on the northern coast this summer",
                "Click here to sign up to our free daily newsletter.",
                PARAGRAPHS[2],
                "Like this article? Share it with your friends!",
                PARAGRAPHS[3],
                "Sign up for our morning briefing newsletter and get the news in your inbox.",
            ]
        )
    )
    for paragraph in PARAGRAPHS:
        assert paragraph in page.text
    for promo in ["Bellini", "beaches", "newsletter", "Click here", "Share it", "briefing"]:
        assert promo not in page.text


def test_a_short_closing_paragraph_stays():
    page = clean_page(
        "Council closes harbour bridge for repairs\n\n"
        + "\n\n".join(PARAGRAPHS)
        + "\n\nThe mayor welcomed the result.\n\nShare on Facebook\n"
    )
    assert page.text.endswith(PARAGRAPHS[3] + "\n\nThe mayor welcomed the result.")


@pytest.mark.parametrize(
    "line",
    [
        "Related to the closure, the council also cut the bus budget by a tenth this spring.",
        "Subscribers to the city's water alerts were told the supply would resume on Friday.",
        "Watch towers along the coast were rebuilt after the storm, the ministry said.",
        "Shares in the company fell by a third after the announcement on Monday.",
        "Read more about the reform in the ministry's report, the minister said.",
    ],
)
def test_sentences_that_mention_chrome_words_are_not_chrome(line):
    assert chrome_kind(line) is None


def test_datelines():
    assert is_dateline("Jul 5, 2025 10:01 375")
    assert is_dateline("17 December 2025, Wednesday, 7:02")
    assert is_dateline("Updated March 3, 2024, 9:15 a.m. ET")  # US style: a.m./p.m. and a short zone
    assert is_dateline("Published 11:40 p.m. PT Feb. 2, 2024")
    assert not is_dateline("On July 1, the ambassador delivered a formal protest to the ministry.")
    assert find_date("2024-02-29").isoformat() == "2024-02-29"


# --- the default corpus: what the issue names must go, every article paragraph must stay ---


def _seed(name: str) -> tuple[str, str]:
    raw = next(CORPUS.glob(f"{name}_*.txt")).read_text(encoding="utf-8")
    return raw, clean_page(raw).text


def _article_sentences(raw: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """Lines of the raw page that are article sentences: long and ending in a full stop or quote."""
    return [
        line.strip()
        for line in raw.splitlines()
        if len(line.split()) >= 10
        and re.search(r"[.\"”]$", line.strip())
        and not line.strip().endswith("...")
        and not any(e in line for e in exclude)
    ]


@pytest.mark.parametrize(
    "name,gone,exclude",
    [
        ("000", [], ()),
        ("001", ["Last news in", "10:01 375", "  - 1"], ("publishes opinions",)),
        (
            "002",
            [
                "• Home",
                "No Result",
                "SHARES",
                "Share on Facebook",
                "Arizona",
                "ICE Agents",
                "FEMA",
                "Toucans",
                "Switch piracy",
                "Read more",
                "Copyright",
                "appeared first on",
            ],
            ("appeared first on",),
        ),
        ("003", ["Author:"], ()),
        ("004", ["Sim Sim", "Support", "Categories", "Write your comment", "Follow Charter97", "7:02"], ()),
    ],
)
def test_seed_pages_lose_chrome_and_keep_paragraphs(name, gone, exclude):
    raw, text = _seed(name)
    for fragment in gone:
        assert fragment not in text
    sentences = _article_sentences(raw, exclude)
    assert sentences, "the raw page has article sentences"
    missing = [s for s in sentences if s not in text]
    assert not missing


def test_a_line_longer_than_any_chrome_is_article_text_and_many_markers_keep_the_body():
    from caucasus_qa.articles.boilerplate import CHROME_MAX_CHARS

    long_promo = "Read more: " + " ".join(PARAGRAPHS) * (CHROME_MAX_CHARS // len(" ".join(PARAGRAPHS)) + 1)
    assert len(long_promo) > CHROME_MAX_CHARS and chrome_kind(long_promo) is None
    assert chrome_kind(long_promo[:200]) == "promo"
    # a thousand paragraphs, each followed by a share bar (a marker count per marker was quadratic):
    # the body runs on until little prose follows (the last fifth), the bars go
    body = "\n\n".join(f"Part {i}. {p}\n\nShare on Facebook" for i in range(250) for p in PARAGRAPHS)
    page = clean_page("Council closes harbour bridge for repairs\n\n" + body)
    assert page.text.count(PARAGRAPHS[0]) == 200 and "Share on Facebook" not in page.text
