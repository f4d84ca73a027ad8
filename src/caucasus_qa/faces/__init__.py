"""The faces: the ``caucasus-qa`` command (``cli``) and the Gradio chat (``chat``, with ``guard``
in front of it), thin over the Python API (``caucasus_qa.Assistant``).

May import: everything below. Nothing imports a face but ``__main__`` and the ``ui/app.py`` entry.
"""
