"""The chat as a person uses it: the real app, driven in headless Chromium; the API by gradio_client."""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, VENV_BIN, free_port, run_cli
from test_answers import TOWN

from caucasus_qa.errors import ConfigError
from caucasus_qa.faces.chat import auth_from_env, safe_name, store_uploads
from caucasus_qa.measuring.scale import wait_for_http

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`caucasus-qa serve` on a free loopback port over a store of the test town's articles."""
    import subprocess

    root = tmp_path_factory.mktemp("ui")
    corpus = root / "corpus"
    shutil.copytree(TOWN, corpus)
    store = root / "store"
    assert run_cli("ingest", str(corpus), "--store", str(store)).returncode == 0
    port = free_port()
    env = {**os.environ, "CAUCASUS_QA_CORPUS": str(corpus)}
    env.pop("CAUCASUS_QA_AUTH", None)
    log = open(root / "serve.log", "w")  # not a pipe: a full pipe would block the server
    proc = subprocess.Popen(
        [str(VENV_BIN / "caucasus-qa"), "serve", "--store", str(store), "--port", str(port)],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    wait_for_http(url, proc)
    yield {"url": url, "corpus": corpus, "store": store}
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), (
        "Chromium is needed at /usr/bin/chromium: run make test (it installs it), or scripts/system-deps.sh test"
    )
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    pg = browser.new_page(viewport={"width": 1400, "height": 950})
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    pg.goto(server["url"])
    pg.locator("#cqa-question textarea").wait_for(timeout=30000)
    yield pg
    pg.close()


def ask(page, question: str) -> None:
    page.locator("#cqa-question textarea").fill(question)
    page.locator("#cqa-send").click()


def test_answer_shows_quote_outlet_and_highlight_in_the_article(page):
    ask(page, "What did the mayor say about the closure?")
    bubble = page.locator("#cqa-chat").get_by_text("unavoidable", exact=False).last
    bubble.wait_for(timeout=60000)
    assert "[1]" in page.locator("#cqa-chat").inner_text()
    sources = page.locator("#cqa-sources")
    sources.locator("mark.cqa-quote").first.wait_for(timeout=30000)
    assert "Coastal Times" in sources.inner_text() and "2024-03-03" in sources.inner_text()
    assert "Mayor Petra Olsen said" in sources.locator("mark.cqa-quote").first.inner_text()
    sources.locator("details.cqa-article summary").first.click()
    target = sources.locator("details.cqa-article mark.cqa-target").first
    target.wait_for(state="visible", timeout=10000)
    assert "unavoidable" in target.inner_text()
    page.screenshot(path=str(ARTIFACTS / "ui-answer.png"))


def test_unanswerable_question_looks_like_an_abstention(page):
    ask(page, "Where did the giraffe escape from?")
    page.locator("#cqa-sources .cqa-related-label").wait_for(timeout=60000)
    assert "don't cover this" in page.locator("#cqa-chat").inner_text()
    assert "Related passages, not an answer" in page.locator("#cqa-sources").inner_text()
    assert page.locator("#cqa-sources .cqa-source:not(.cqa-related)").count() == 0
    page.screenshot(path=str(ARTIFACTS / "ui-abstain.png"))


def test_markup_from_articles_is_inert(page):
    ask(page, "Who closed the festival evening with songs?")
    page.locator("#cqa-sources mark.cqa-quote").first.wait_for(timeout=60000)
    sources = page.locator("#cqa-sources")
    sources.locator("details.cqa-article summary").first.click()
    page.wait_for_timeout(500)
    text = sources.inner_text()
    assert '<script>alert("x")</script>' in text and "onerror=alert(1)" in text
    assert page.locator("#cqa-sources script, #cqa-sources img, #cqa-chat img").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.dialogs == []


def test_markup_typed_as_a_question_is_shown_as_text(page):
    question = '<img src=x onerror="alert(1)"> [go](javascript:alert(2)) <script>alert(3)</script> festival?'
    ask(page, question)
    page.locator("#cqa-chat").get_by_text("onerror", exact=False).first.wait_for(timeout=60000)
    page.wait_for_timeout(1000)
    assert page.locator("#cqa-chat img, #cqa-chat script, a[href^='javascript']").count() == 0
    assert page.dialogs == []


def test_every_response_carries_the_security_headers(server):
    import urllib.request

    from caucasus_qa.faces.guard import SECURITY_HEADERS

    for path in ("", "gradio_api/info", "no-such-page"):
        try:
            response = urllib.request.urlopen(server["url"] + path, timeout=30)
        except urllib.error.HTTPError as exc:  # a 404 carries them too
            response = exc
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name.decode()) == value.decode(), (path, name)


def test_clear_chat_and_examples(page):
    page.locator("#cqa-clear").click()
    assert "unavoidable" not in page.locator("#cqa-chat").inner_text()
    page.get_by_text("What does the article", exact=False).first.wait_for(timeout=10000)


def test_articles_tab_lists_corpus_and_ingests_uploads(page, server, tmp_path):
    page.get_by_role("tab", name="Articles").click()
    table = page.locator("#cqa-articles")
    table.get_by_text("Valley Post").first.wait_for(timeout=30000)
    upload = tmp_path / "market day.txt"
    upload.write_text(
        "Market day returns to Lindenholm\n\nThe weekly farmers market will return to the old "
        "square on Saturday with forty stalls, the town office announced on Friday.\n"
    )
    page.locator("#cqa-upload input[type=file]").set_input_files(str(upload))
    page.wait_for_timeout(1500)
    page.locator("#cqa-ingest").click()
    page.get_by_text("added 1", exact=False).wait_for(timeout=60000)
    assert (server["corpus"] / "uploads" / "market_day.txt").exists()
    table.get_by_text("market_day").first.wait_for(timeout=30000)
    row = table.inner_text().split("market_day", 1)[1]
    # outlet, date and author are unknown, and say so: the page states only its headline
    assert re.search(r"^\s*Market day returns to Lindenholm\s+unknown\s+unknown\s+unknown\s", row), row[:200]
    blank = tmp_path / "blank.txt"
    blank.write_text("")
    page.locator("#cqa-upload input[type=file]").set_input_files(str(blank))
    page.wait_for_timeout(1500)
    page.locator("#cqa-ingest").click()
    page.get_by_text("failed: blank.txt", exact=False).wait_for(timeout=60000)
    assert not (server["corpus"] / "uploads" / "blank.txt").exists()  # a bad upload does not linger


def test_articles_tab_pages_and_searches(page):
    page.get_by_role("tab", name="Articles").click()
    count = page.locator("#cqa-article-count")
    count.get_by_text("page 1 of 1").wait_for(timeout=30000)
    page.locator("#cqa-article-search textarea, #cqa-article-search input").first.fill("valley post")
    count.get_by_text("1 articles").wait_for(timeout=30000)
    table = page.locator("#cqa-articles")
    page.wait_for_function("() => document.querySelector('#cqa-articles').innerText.includes('bridge-valley')")
    page.screenshot(path=str(ARTIFACTS / "ui-articles-search.png"), full_page=True)
    assert "Coastal Times" not in table.inner_text() and "Lantern" not in table.inner_text()


def test_twenty_concurrent_api_questions_all_get_answers(server):
    from gradio_client import Client

    client = Client(server["url"], verbose=False)
    questions = [
        "How many visitors came to the lantern festival?",
        "How often will the ferry run on weekdays?",
        "What did the mayor say about the closure?",
        "What is the recipe for apple pie?",
    ] * 5

    def one(q: str) -> dict:
        return client.predict(q, api_name="/ask")

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, questions, timeout=300))
    assert len(results) == 20 and all("answer" in r for r in results)
    assert sum(r["abstained"] for r in results) == 5
    assert all(r["citations"][0]["quote"] for r in results if not r["abstained"])


def test_uploads_never_leave_the_corpus_folder(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    evil = src / "evil.txt"
    evil.write_text("x" * 10)
    big = src / "big.html"
    big.write_text("x" * 2000)
    exe = src / "run.sh"
    exe.write_text("echo")
    target = tmp_path / "corpus"
    kept, refused = store_uploads([str(evil), str(big), str(exe)], target, max_bytes=1000)
    assert [p.name for p in kept] == ["evil.txt"] and all(p.parent == target.resolve() for p in kept)
    assert len(refused) == 2 and "limit" in refused[0] and "unsupported" in refused[1]
    assert safe_name("../../etc/passwd.txt") == "passwd.txt" and safe_name("..hidden.md") == "hidden.md"


def test_login_from_env(monkeypatch):
    monkeypatch.setenv("CAUCASUS_QA_AUTH", "ann:s3cret:x")
    assert auth_from_env() == ("ann", "s3cret:x")
    monkeypatch.setenv("CAUCASUS_QA_AUTH", "nocolon")
    with pytest.raises(ConfigError):
        auth_from_env()


def test_follow_up_questions_use_the_conversation(page):
    ask(page, "What happened to the workers at the harbour bridge?")
    page.locator("#cqa-sources mark.cqa-quote").first.wait_for(timeout=60000)
    page.wait_for_timeout(1000)
    ask(page, "And how many were injured there?")
    page.wait_for_function(
        "document.querySelectorAll('#cqa-chat .message-row, #cqa-chat [data-testid=bot]').length >= 2", timeout=60000
    )
    page.wait_for_timeout(1500)
    chat = page.locator("#cqa-chat").inner_text()
    assert chat.count("workers") >= 2 and "don't cover" not in chat.split("And how many were injured there?")[-1]
