"""Language-model backends behind one small interface: stream the reply to chat messages.

* ``llamacpp``: a local GGUF file through llama-cpp-python (extra ``caucasus-qa[llamacpp]``);
  the chat template comes from the GGUF file itself, so each model gets its own.
* ``openai``: any OpenAI-compatible server (Ollama's /v1, vLLM, LM Studio, llama.cpp's server,
  OpenAI) through LlamaIndex's ``OpenAILike`` (extra ``caucasus-qa[openai]``); the key is read
  from the environment variable named by ``llm_api_key_env``.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Protocol, cast

from caucasus_qa import offline
from caucasus_qa.errors import CaucasusQAError, ConfigError
from caucasus_qa.settings import Settings


class LLMError(CaucasusQAError):
    """The language model cannot be reached or failed; the message names where and what to do."""


class ChatModel(Protocol):
    backend: str
    model: str

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]: ...

    def yes_probability(self, messages: list[dict[str, str]]) -> float: ...


YES, NO = ("yes", "Yes", "YES", " yes", " Yes"), ("no", "No", "NO", " no", " No")


def _yes_share(logprobs: dict[str, float]) -> float:
    """P(yes) / (P(yes) + P(no)) from the first answer token's log-probabilities (0.5 if neither)."""
    import math

    yes = sum(math.exp(v) for k, v in logprobs.items() if k in YES)
    no = sum(math.exp(v) for k, v in logprobs.items() if k in NO)
    return yes / (yes + no) if yes + no > 0 else 0.5


class LlamaCppModel:
    """A GGUF model loaded in-process; one generation at a time (llama.cpp contexts are not shared)."""

    backend = "llamacpp"

    def __init__(self, path: str, n_ctx: int, threads: int) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ConfigError(
                "the llamacpp backend needs llama-cpp-python: pip install 'caucasus-qa[llamacpp]'"
            ) from None
        if not Path(path).is_file():
            raise ConfigError(f"no GGUF model at {path!r}: pass --llm-model PATH/TO/model.gguf")
        self.model = Path(path).name
        self._llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=threads or os.cpu_count(), verbose=False)
        self._lock = threading.Lock()
        self._owner: int | None = None  # the thread holding the model
        atexit.register(self.close)  # free the model before interpreter teardown (avoids a noisy __del__)

    def close(self) -> None:
        close = getattr(self._llm, "close", None)
        if close is not None:
            close()

    def _acquire(self) -> None:
        """Take the model, or fail at once where waiting would deadlock: this thread is itself
        still reading a generation from it (one llama.cpp context cannot interleave two prompts)."""
        if self._owner == threading.get_ident():
            raise LLMError(
                "the language model is still generating in this thread: finish reading the "
                "answer before asking it anything else"
            )
        self._lock.acquire()
        self._owner = threading.get_ident()

    def _release(self) -> None:
        self._owner = None
        self._lock.release()

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        self._acquire()
        try:
            chunks: Iterator[Any] = self._llm.create_chat_completion(
                messages=cast(Any, messages), temperature=0.0, max_tokens=max_tokens, repeat_penalty=1.1, stream=True
            )  # type: ignore[assignment]  # stream=True gives chunks; the stubs describe both modes
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        finally:
            self._release()

    def yes_probability(self, messages: list[dict[str, str]]) -> float:
        """The model's probability of answering "yes" first, read from its next-token logits.

        llama-cpp-python reports logprobs only for models loaded with ``logits_all=True`` (slower
        for every answer) and samples in C without copying logits to Python, so this reads the
        context's logits for the last evaluated position through llama.cpp's own C API."""
        import llama_cpp
        import numpy as np

        self._acquire()
        try:
            for _ in self._llm.create_chat_completion(
                messages=cast(Any, messages), temperature=0.0, max_tokens=1, stream=True
            ):
                pass  # one token sampled, not yet evaluated: the logits are the prompt's last position's
            pointer = llama_cpp.llama_get_logits_ith(self._llm._ctx.ctx, -1)
            logits = np.ctypeslib.as_array(pointer, shape=(self._llm.n_vocab(),)).astype(np.float64)
        finally:
            self._release()
        logits -= logits.max()
        logp = logits - np.log(np.exp(logits).sum())
        return _yes_share({word: float(logp[token]) for word, token in self._answer_tokens.items()})

    @cached_property
    def _answer_tokens(self) -> dict[str, int]:
        """Token ids of the yes/no spellings that are a single token for this model."""
        ids = {word: self._llm.tokenize(word.encode(), add_bos=False, special=False) for word in YES + NO}
        return {word: t[0] for word, t in ids.items() if len(t) == 1}


class OpenAIModel:
    """An OpenAI-compatible chat server, through LlamaIndex's OpenAILike integration."""

    backend = "openai"

    def __init__(self, url: str, model: str, api_key: str | None, timeout: float = 120.0) -> None:
        try:
            from llama_index.llms.openai_like import OpenAILike
        except ImportError:
            raise ConfigError(
                "the openai backend needs llama-index-llms-openai-like: pip install 'caucasus-qa[openai]'"
            ) from None
        if not url:
            raise ConfigError("the openai backend needs --llm-url, e.g. http://127.0.0.1:11434/v1")
        self.url = url
        self.model = model or "default"
        self._llm = OpenAILike(
            model=self.model,
            api_base=url,
            api_key=api_key or "not-needed",
            is_chat_model=True,
            timeout=timeout,
            max_retries=0,
            temperature=0.0,
        )

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        try:
            for part in self._llm.stream_chat(chat, max_tokens=max_tokens):
                if part.delta:
                    yield part.delta
        except Exception as exc:  # openai raises connection/status errors of many types
            raise LLMError(
                f"cannot get an answer from the language model at {self.url} ({type(exc).__name__}): "
                "start the server, or fix --llm-url / --llm-model"
            ) from None

    def yes_probability(self, messages: list[dict[str, str]]) -> float:
        """P("yes") from the server's top log-probabilities of the first answer token."""
        from openai import OpenAI

        client = OpenAI(base_url=self.url, api_key=self._llm.api_key, max_retries=0, timeout=self._llm.timeout)
        try:
            reply = client.chat.completions.create(
                model=self.model,
                messages=cast(Any, messages),
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=10,
            )
        except Exception as exc:  # openai raises connection/status errors of many types
            raise LLMError(
                f"cannot ask the language model at {self.url} ({type(exc).__name__}): "
                "start the server, or fix --llm-url / --llm-model"
            ) from None
        content = reply.choices[0].logprobs.content if reply.choices[0].logprobs else None
        if not content:
            text = (reply.choices[0].message.content or "").strip().lower()
            return 1.0 if text.startswith("yes") else 0.0 if text.startswith("no") else 0.5
        return _yes_share({t.token: t.logprob for t in content[0].top_logprobs} or {content[0].token: 0.0})


@lru_cache(maxsize=2)
def _llamacpp(path: str, n_ctx: int, threads: int) -> LlamaCppModel:
    return LlamaCppModel(path, n_ctx, threads)


def load_chat_model(settings: Settings) -> ChatModel | None:
    """The configured model, or None for the extractive default."""
    if settings.llm == "extractive":
        return None
    offline.apply()
    if settings.llm == "llamacpp":
        return _llamacpp(str(Path(settings.llm_model).expanduser()), settings.llm_ctx, settings.llm_threads)
    return OpenAIModel(settings.llm_url, settings.llm_model, os.environ.get(settings.llm_api_key_env))


def complete(model: ChatModel, prompt: str, max_tokens: int = 64) -> str:
    return "".join(model.stream([{"role": "user", "content": prompt}], max_tokens))
