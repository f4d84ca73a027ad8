"""The Gradio chat: answers stream in with [n] markers; sources show each quote highlighted in its
paragraph and, one click away, in the whole cleaned article.

Shape: HTML renderers, then handlers, then ``build_app(...) -> gr.Blocks``, then ``launch``.
Article text is untrusted: everything from an article is HTML-escaped (panels) or Markdown-
escaped (chat bubbles) before it reaches the page.
"""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caucasus_qa import offline
from caucasus_qa.answering.answer import ABSTAIN_TEXT, CONFLICT_TEXT, Answer, AnswerSpan, Citation, escape_markdown
from caucasus_qa.answering.conversation import turn
from caucasus_qa.articles.dates import shown as shown_date
from caucasus_qa.articles.formats import HTML_TYPES, TEXT_TYPES
from caucasus_qa.errors import ConfigError
from caucasus_qa.faces.guard import SecurityHeaders, UploadQuota, user_error, who
from caucasus_qa.settings import Settings

ARTICLES_PAGE = 50  # rows per page of the Articles tab
UNKNOWN = "unknown"  # a field the page does not state, as the Articles tab shows it
UPLOAD_TYPES = sorted((TEXT_TYPES | HTML_TYPES) - {".markdown"})
ABSTAIN_BUBBLE = f"ℹ *{ABSTAIN_TEXT}* Closest passages are listed beside the chat as related, not as an answer."

CSS = """
.cqa-source { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 12px; margin-bottom: 10px; }
.cqa-head { font-size: 0.9em; color: #444; margin-bottom: 6px; }
.cqa-n { font-weight: bold; color: #1f4e8c; margin-right: 4px; }
.cqa-para { margin: 4px 0; line-height: 1.5; }
mark.cqa-quote { background: #ffe58f; padding: 0 2px; border-radius: 3px; }
mark.cqa-quote strong.cqa-answer { background: #ffc53d; }
.cqa-related { opacity: 0.85; border-style: dashed; }
.cqa-related mark.cqa-quote { background: #e4e4e4; }
.cqa-related-label { font-style: italic; color: #8a4b00; margin: 4px 0 10px; }
.cqa-full { max-height: 360px; overflow-y: auto; padding: 6px 10px; background: #fafafa; border-radius: 6px; }
.cqa-full p { margin: 6px 0; }
.cqa-note { color: #666; font-size: 0.85em; }
"""

# Opening an article scrolls its highlighted quote into view (our own script, no article content).
HEAD = """<script>
document.addEventListener('toggle', function (e) {
  var d = e.target;
  if (d && d.matches && d.matches('details.cqa-article') && d.open) {
    var m = d.querySelector('mark.cqa-target');
    if (m) { m.scrollIntoView({block: 'center'}); }
  }
}, true);
</script>"""


# -- HTML renderers -----------------------------------------------------------------------
def _marked(text: str, start: int, end: int, target: bool = False, span: AnswerSpan | None = None) -> str:
    """``text`` with ``[start:end]`` (the quote) highlighted, and inside it the short answer
    (``span``, offsets within the quote) in bold."""
    cls = "cqa-quote cqa-target" if target else "cqa-quote"
    quote = text[start:end]
    if span is not None and 0 <= span.start < span.end <= len(quote):
        inner = (
            html.escape(quote[: span.start])
            + f'<strong class="cqa-answer">{html.escape(quote[span.start : span.end])}</strong>'
            + html.escape(quote[span.end :])
        )
    else:
        inner = html.escape(quote)
    return html.escape(text[:start]) + f'<mark class="{cls}">' + inner + "</mark>" + html.escape(text[end:])


def _paragraph_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = text.rfind("\n", 0, start) + 1
    right = text.find("\n", end)
    return left, (len(text) if right < 0 else right)


def source_card(c: Citation, article_text: str, related: bool = False, span: AnswerSpan | None = None) -> str:
    """One source: header, the quote highlighted in its paragraph (the short answer in bold
    inside it, when ``span`` is this quote's), and the expandable article."""
    span = span if span is not None and span.holds(c) else None
    left, right = _paragraph_bounds(article_text, c.start, c.end)
    para = _marked(article_text[left:right], c.start - left, c.end - left, span=span)
    full = "".join(
        f"<p>{_marked(p, c.start - off, c.end - off, True, span) if holds else html.escape(p)}</p>"
        for off, p in _paragraphs(article_text)
        for holds in [off <= c.start < off + len(p) + 1]  # the paragraph the quote starts in
    )
    meta = [html.escape(c.outlet or "outlet unknown"), html.escape(shown_date(c.published) or "date unknown")]
    if c.author:
        meta.append("by " + html.escape(c.author))
    return (
        f'<div class="cqa-source{" cqa-related" if related else ""}" data-n="{c.n}">'
        f'<div class="cqa-head"><span class="cqa-n">[{c.n}]</span><b>{html.escape(c.title or c.article_id)}</b>'
        f' — {" · ".join(meta)}</div><p class="cqa-para">{para}</p>'
        f'<details class="cqa-article"><summary>Read the whole article</summary>'
        f'<div class="cqa-full">{full}</div></details></div>'
    )


def _paragraphs(text: str) -> Iterator[tuple[int, str]]:
    for m in re.finditer(r"[^\n]+", text):
        yield m.start(), m.group()


def sources_html(answer: Answer | None, text_of: Any) -> str:
    if answer is None:
        return '<div class="cqa-note">Sources for the answer appear here.</div>'
    if answer.abstained:
        cards = "".join(source_card(c, text_of(c.article_id) or "", related=True) for c in answer.related)
        return (
            '<div class="cqa-sources cqa-abstained"><div class="cqa-related-label">'
            f"{html.escape(ABSTAIN_TEXT)} Related passages, not an answer:</div>{cards}</div>"
        )
    cards = "".join(source_card(c, text_of(c.article_id) or "", span=answer.span) for c in answer.citations)
    note = f'<div class="cqa-note">{CONFLICT_TEXT}</div>' if answer.conflict else ""
    return f'<div class="cqa-sources">{note}{cards}</div>'


def chat_text(answer: Answer, claims_shown: int | None = None) -> str:
    """Markdown for the chat bubble; article text escaped so it can never become a link or markup."""
    if answer.abstained:
        return ABSTAIN_BUBBLE
    claims = answer.claims[:claims_shown] if claims_shown is not None else answer.claims
    parts = [escape_markdown(cl.text) + " " + "".join(f"\\[{n}\\]" for n in cl.cites) for cl in claims]
    prefix = f"*{CONFLICT_TEXT}* " if answer.conflict else ""
    if answer.span is not None:  # the short answer first, in bold, then the quote that states it
        prefix += f"**{escape_markdown(answer.span.text)}** — "
    return prefix + " ".join(parts)


# -- upload ----------------------------------------------------------------------------------
def safe_name(name: str) -> str:
    """A plain file name: no folders, no odd characters, no leading dot."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).lstrip("._") or "upload"
    return base[:120]


def store_uploads(files: list[str], folder: Path, max_bytes: int) -> tuple[list[Path], list[str]]:
    """Copy uploads into ``folder`` (never outside it); reasons for the ones refused."""
    folder.mkdir(parents=True, exist_ok=True)
    kept, refused = [], []
    for src in files:
        name = safe_name(src)
        if Path(name).suffix.lower() not in UPLOAD_TYPES:
            refused.append(f"{Path(src).name}: unsupported file type; upload {' '.join(UPLOAD_TYPES)}")
            continue
        if os.path.getsize(src) > max_bytes:
            refused.append(f"{Path(src).name}: over the {max_bytes / 1e6:.0f} MB limit")
            continue
        dest = (folder / name).resolve()
        if dest.parent != folder.resolve():
            refused.append(f"{Path(src).name}: refused file name")
            continue
        shutil.copyfile(src, dest)
        kept.append(dest)
    return kept, refused


def default_examples(qa: Any, path: Path) -> list[str]:
    """Example questions from ``ui/examples.txt`` if present, else one per stored article title."""
    if path.is_file():
        return [
            line.strip()
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ][:8]
    titled = [r["title"] for r in qa.catalog(limit=50)[0] if r.get("title")]
    return [f"What does the article “{title}” report?" for title in titled][:4]


def notes_of(row: dict[str, Any]) -> str:
    """What ingest noted about an article (an encoding, a date's source, text addressed to an
    assistant), as `caucasus-qa articles` shows it."""
    return "; ".join(n for n in (row.get("date_note"), row.get("notes")) if n)


# -- handlers ---------------------------------------------------------------------------------
@dataclass
class Handlers:
    """What the app's events call; each is a method so the layout below stays a layout. None of
    them raises: a failure becomes one line for the user (:func:`~caucasus_qa.faces.guard.user_error`)."""

    qa: Any
    quota: UploadQuota | None = None

    def __post_init__(self) -> None:
        self.quota = self.quota or UploadQuota(self.qa.settings.upload_mb_per_hour)

    def panel(self, answer: Answer | None) -> str:
        return sources_html(answer, self.qa.article_text)

    def respond(
        self, message: str, history: list, asked: list, top_k: float, backend: str, as_of: str | None = None
    ) -> Iterator[tuple]:
        """Stream the answer into the chat and its sources into the panel; keep the turn."""
        history, asked = list(history or []), list(asked or [])
        user = {"role": "user", "content": escape_markdown(message or "")}

        def show(text: str, panel: str, turns: list) -> tuple:
            return history + [user, {"role": "assistant", "content": text}], panel, "", turns

        try:
            answer, drafts = None, 0
            stream = self.qa.stream(message, top_k=int(top_k), history=asked, backend=backend, as_of=as_of or None)
            for answer in stream:
                drafts += 1
                yield show(chat_text(answer), self.panel(answer), asked)
        except Exception as exc:  # a known failure in one line; anything else a request id, never a trace
            yield show(f"⚠️ {escape_markdown(user_error(exc))}", "", asked)
            return
        if answer is None:  # the stream always ends with a final answer
            return
        panel = self.panel(answer)
        # an answer that came in one piece (extractive) is revealed claim by claim; one that already
        # streamed in sentence by sentence is not shrunk back to its first claim
        steps = range(1, len(answer.claims) + 1) if not answer.abstained and drafts == 1 else []
        for shown in steps:
            yield show(chat_text(answer, shown), panel, asked)
        yield show(chat_text(answer), panel, asked + [list(turn(message, answer))])  # tells who "he" is next

    def clear(self) -> tuple:
        return [], self.panel(None), "", []

    def articles_page(self, query: str, page: float | None) -> tuple[list[list[Any]], str, int]:
        """One page of the stored articles whose title, outlet, author or date holds ``query``."""
        try:
            matches, total = self.qa.catalog(query or "", 0, sys.maxsize)  # one filtering pass, then the page
        except Exception as exc:
            return [], escape_markdown(f"⚠️ {user_error(exc)}"), 1
        pages = max(1, math.ceil(total / ARTICLES_PAGE))
        number = min(max(1, int(page or 1)), pages)
        rows = matches[(number - 1) * ARTICLES_PAGE : number * ARTICLES_PAGE]
        # unknown stays unknown, and says so (issue 3.2)
        table = [[r["id"], r.get("title") or UNKNOWN, r.get("outlet") or UNKNOWN,
                  shown_date(r.get("published")) or UNKNOWN, r.get("author") or UNKNOWN, r.get("chunks", 0),
                  notes_of(r)] for r in rows]  # fmt: skip
        return table, f"{total:,} articles · page {number} of {pages}", number

    def start_ingest(self, files: list[str] | None, request: Any = None) -> str:
        """Copy uploads into the corpus and start ingesting them in the background, within the
        per-click file count and the per-user hourly quota."""
        settings = self.qa.settings
        if not files:
            return "Choose .txt, .md or .html files first."
        if len(files) > settings.upload_files:
            return escape_markdown(f"refused: {len(files)} files in one go; upload at most {settings.upload_files}")
        try:
            over = self.quota.take(who(request), sum(os.path.getsize(f) for f in files))  # type: ignore[union-attr]
            if over:
                return escape_markdown(f"refused: {over}")
            kept, refused = store_uploads(files, settings.corpus / "uploads", int(settings.max_file_mb * 1e6))
            lines = [f"refused: {r}" for r in refused]
            if kept:
                self.qa.ingest_in_background(kept)
                lines.append(f"ingesting {len(kept)} file(s); you can keep asking questions meanwhile")
        except Exception as exc:
            lines = [user_error(exc)]
        return "\n\n".join(escape_markdown(line) for line in lines)

    def ingest_status(self, query: str, page: float | None, seen: str) -> tuple:
        """Polled every second: the running ingest's progress, then its result and the new table
        (once per browser session: ``seen`` is the state this session last showed)."""
        import gradio as gr

        job = self.qa.ingest_job
        state = "" if job is None else f"{id(job)}:{'running' if job.running else 'done'}"
        if job is None or (state == seen and job.running is False):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), seen
        if job.running:
            bar = f'<progress value="{job.done}" max="{max(job.total, 1)}"></progress>'
            return (
                f"{bar} ingesting: {job.done:,} of {job.total:,} articles embedded",
                gr.skip(),
                gr.skip(),
                gr.skip(),
                state,
            )
        return (self._result(job), *self.articles_page(query, page), state)

    def _result(self, job: Any) -> str:
        if job.error:
            return escape_markdown(f"ingest stopped: {job.error}")
        report = job.report
        uploads = (self.qa.settings.corpus / "uploads").resolve()
        for s in report.skipped:  # a file that failed is not kept: it would fail every later ingest
            if s.failed and Path(s.path).resolve().parent == uploads:
                Path(s.path).unlink(missing_ok=True)
        lines = [f"{'failed' if s.failed else 'skipped'}: {Path(s.path).name}: {s.reason}"
                 f"{' (not kept)' if s.failed else ''}" for s in report.skipped]  # fmt: skip
        lines.append(f"added {len(report.added)}, updated {len(report.updated)}, unchanged "
                     f"{len(report.unchanged)}; store: {report.articles_total} articles")  # fmt: skip
        return "\n\n".join(escape_markdown(line) for line in lines)

    def ask(self, question: str) -> dict[str, Any]:
        """Answer a question: the answer text and its citations as JSON (same as `ask --json`)."""
        try:
            return self.qa.ask(question).to_dict()
        except Exception as exc:
            return {"question": question, "error": user_error(exc)}


# -- the app ----------------------------------------------------------------------------------
def build_app(qa: Any, examples_file: Path = Path("ui/examples.txt")) -> Any:
    """The Gradio Blocks app over an :class:`~caucasus_qa.Assistant`."""
    offline.apply()
    import gradio as gr

    handlers = Handlers(qa)
    with gr.Blocks(title="caucasus-qa", fill_height=True) as app:
        gr.Markdown(
            "## caucasus-qa\nAnswers from the stored news articles. Every claim carries a numbered, "
            "verbatim quote; open a source to see it in the article."
        )
        with gr.Tab("Chat"):
            _chat_tab(gr, handlers, default_examples(qa, examples_file))
        with gr.Tab("Articles"):
            table, (search, page, label) = _articles_tab(gr, handlers)
        app.load(handlers.articles_page, [search, page], [table, label, page], api_visibility="private")
        gr.api(handlers.ask, api_name="ask", concurrency_limit=4)
    return app


def _chat_tab(gr: Any, handlers: Handlers, examples: list[str]) -> None:
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation", height=480, elem_id="cqa-chat", feedback_options=None, buttons=["copy"]
            )
            with gr.Row():
                box = gr.Textbox(
                    placeholder="Ask about the articles…",
                    show_label=False,
                    scale=5,
                    elem_id="cqa-question",
                    max_length=4000,
                )
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="cqa-send")
            clear = gr.Button("Clear chat", elem_id="cqa-clear")
            gr.Examples(examples=examples, inputs=box, label="Try")
        with gr.Column(scale=2):
            panel = gr.HTML(handlers.panel(None), elem_id="cqa-sources", label="Sources")
            top_k, backend, as_of = _chat_settings(gr, handlers.qa.settings)
    asked = gr.State([])
    for trigger in (box.submit, send.click):
        trigger(
            handlers.respond,
            [box, chatbot, asked, top_k, backend, as_of],
            [chatbot, panel, box, asked],
            api_visibility="private",
            concurrency_limit=4,
        )
    clear.click(handlers.clear, None, [chatbot, panel, box, asked], api_visibility="private")


def _chat_settings(gr: Any, settings: Settings) -> tuple[Any, Any, Any]:
    """The chat's settings accordion: top-k, answer backend and the as-of day."""
    with gr.Accordion("Settings", open=False):
        top_k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Passages retrieved (top-k)")
        backends = list(dict.fromkeys([settings.llm, "extractive"]))
        backend = gr.Dropdown(backends, value=backends[0], label="Answer backend", interactive=len(backends) > 1)
        as_of = gr.DateTime(
            include_time=False,
            type="string",
            label="As of",
            info="Answer from pages published by this day, the most recent first (empty: all)",
            elem_id="cqa-as-of",
        )
    return top_k, backend, as_of


def _articles_tab(gr: Any, handlers: Handlers) -> tuple[Any, Any]:
    with gr.Row():
        search = gr.Textbox(placeholder="Search titles, outlets, authors, dates…", show_label=False, scale=4,
                            elem_id="cqa-article-search")  # fmt: skip
        prev = gr.Button("◀", scale=0, elem_id="cqa-prev")
        page = gr.Number(value=1, precision=0, minimum=1, show_label=False, scale=0, elem_id="cqa-page")
        nxt = gr.Button("▶", scale=0, elem_id="cqa-next")
    label = gr.Markdown(elem_id="cqa-article-count")
    table = gr.Dataframe(headers=["id", "title", "outlet", "published", "author", "chunks", "notes"], interactive=False,
                         elem_id="cqa-articles", wrap=True)  # fmt: skip
    upload = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label="Add articles (.txt .md .html)",
                     elem_id="cqa-upload")  # fmt: skip
    add = gr.Button("Ingest uploaded files", elem_id="cqa-ingest")
    status = gr.Markdown(elem_id="cqa-ingest-status")
    seen = gr.State("")
    show = dict(outputs=[table, label, page], api_visibility="private")
    search.change(lambda q: handlers.articles_page(q, 1), search, **show)
    page.submit(handlers.articles_page, [search, page], **show)
    prev.click(lambda q, p: handlers.articles_page(q, (p or 1) - 1), [search, page], **show)
    nxt.click(lambda q, p: handlers.articles_page(q, (p or 1) + 1), [search, page], **show)

    def ingest_click(files: list[str] | None, request: Any) -> str:
        return handlers.start_ingest(files, request)

    # a real annotation object (this module defers them as strings) marks the parameter that Gradio
    # fills with the request: the upload quota is per user
    ingest_click.__annotations__["request"] = gr.Request
    add.click(ingest_click, upload, status, api_visibility="private", concurrency_limit=1)
    gr.Timer(1.0).tick(handlers.ingest_status, [search, page, seen], [status, table, label, page, seen],
                       api_visibility="private", show_progress="hidden")  # fmt: skip
    return table, (search, page, label)


def auth_from_env() -> tuple[str, str] | None:
    value = os.environ.get("CAUCASUS_QA_AUTH")
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("CAUCASUS_QA_AUTH must look like user:password")
    return user, password


def launch(qa: Any, host: str = "127.0.0.1", port: int = 7860, share: bool = False, **kwargs: Any):
    """Start the app: loopback only unless ``host`` says otherwise; a public link only with ``share``."""
    from starlette.middleware import Middleware

    app = build_app(qa)
    app.queue(default_concurrency_limit=4)
    return app.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=auth_from_env(),
        css=CSS,
        head=HEAD,
        max_file_size=f"{int(qa.settings.max_file_mb)}mb",
        ssr_mode=False,
        show_error=False,
        app_kwargs={"middleware": [Middleware(SecurityHeaders)]},
        footer_links=["api"],
        **kwargs,
    )
