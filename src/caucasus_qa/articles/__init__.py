"""Reading articles: files of any supported type (.txt, .md, .html, .jsonl) into clean text and
the metadata the page states.

Owns: ``formats`` (finding and decoding files, one ``Article`` each), ``boilerplate`` (what a
saved web page carries besides its story), ``metadata`` (title, outlet, author, date, as stated,
never guessed), ``dates`` (dates as pages write them) and ``evidence`` (each article split into
sentences with exact character offsets, the unit every quote is cut from).

May import: the shared floor alone (``errors``, ``settings``, ``offline``, ``text``). Nothing
here knows of a store, a question or a face.
"""

from caucasus_qa.articles.formats import Article, Skip, read_articles

__all__ = ["Article", "Skip", "read_articles"]
