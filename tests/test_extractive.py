"""The extractive answerer's pieces that need no store."""

from __future__ import annotations


def test_an_attribution_never_shows_an_article_id():
    from caucasus_qa.answer import Citation
    from caucasus_qa.extractive import _attribution

    bare = Citation(1, "A quote.", "a1b2c3d4e5f6", None, None, None, None, 0, 8)
    assert _attribution(bare) == "According to an article of unknown source"
    dated = Citation(1, "A quote.", "a1b2c3d4e5f6", "Bridge reopens", None, "2024-03-07", None, 0, 8)
    assert _attribution(dated) == "According to “Bridge reopens” (2024-03-07)"
