"""Tool retrieval: which of many tools fit a query, by BM25 over what each tool says of itself.

A tool's document is its name (split into words, and kept whole), description, tags,
parameter names, descriptions and enum values, and its example queries. The default retriever
is BM25 (``bm25s``, numpy backend); other retrievers come from plugins
(``register_retrievers``) and are picked by name. An index is built once per tool set and
cached: :func:`retriever_for` returns the same retriever for the same tools, and
content-identical tool sets (a registry rebuilt in the same process) share one BM25 index.

bm25s and numpy are imported when the first index is built, never at import time, so the
``agent`` command starts fast. Stemming uses PyStemmer (Snowball English) when it is
installed, else a small built-in suffix stemmer.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from agent.errors import UsageError
from agent.types import Tool

DEFAULT_RETRIEVER = "bm25"


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved tool and its score (higher is better; always > 0)."""

    tool: Tool
    score: float


@runtime_checkable
class Retriever(Protocol):
    """Finds the tools that fit a query. Made from a list of tools by a factory."""

    def search(self, query: str, k: int = 10) -> list[Hit]:
        """At most ``k`` hits, best first, every score > 0; ``[]`` when nothing fits."""
        ...


RetrieverFactory = Callable[[list[Tool]], Retriever]


class RetrieverNotFoundError(UsageError):
    """No retriever is registered under this name."""


# Tokenisation ------------------------------------------------------------------------------

# Words (letters, digits, underscores) and a few symbols that carry meaning in queries.
_TOKEN_RE = re.compile(r"\w+|[%$€£°+=]")
_PART_RE = re.compile(r"\d+|[^\W\d_]+")
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_SYMBOLS = {
    "%": "percent", "$": "dollar", "€": "euro", "£": "pound", "°": "degree", "+": "plus",
    "=": "equal",
}
# Question and request words that say nothing about which tool fits, on top of bm25s's
# English list (which keeps "what", "how", "me" ...). Generic to queries, not to any domain.
_QUERY_STOPWORDS = frozenset({
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "do", "does",
    "did", "i", "me", "my", "we", "our", "you", "your", "please", "can", "could", "would",
    "should", "tell", "give", "s", "t", "its", "am", "been", "being", "were", "has",
    "have", "had", "from", "than", "so", "some", "any", "all", "just",
})


def _english_stopwords() -> frozenset[str]:
    try:
        from bm25s.stopwords import STOPWORDS_EN
    except ImportError:  # pragma: no cover - bm25s is a dependency
        STOPWORDS_EN = ()
    return frozenset(STOPWORDS_EN)


def light_stem(word: str) -> str:
    """A small suffix stemmer (plural, -ing, -ed, -ly, final e), used without PyStemmer.

    It only has to map a word and its common inflections to one form, the same way for
    documents and queries: "files"/"file"/"filing" -> "fil", "cities" -> "city".
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # running -> run
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


Stem = Callable[[str], str]


def _resolve_stemmer(stemmer: str | Stem | None) -> tuple[str, Stem]:
    """The stemmer's name (part of the index cache key) and the function."""
    if stemmer is None or stemmer == "none":
        return "none", str
    if callable(stemmer):
        return f"callable:{getattr(stemmer, '__qualname__', repr(stemmer))}", stemmer
    if stemmer in ("auto", "snowball"):
        try:
            import Stemmer  # PyStemmer

            return "snowball", Stemmer.Stemmer("english").stemWord
        except ImportError:
            if stemmer == "snowball":
                raise UsageError(
                    "stemmer 'snowball' needs PyStemmer (pip install PyStemmer)"
                ) from None
    elif stemmer != "light":
        raise UsageError(f"unknown stemmer {stemmer!r} (auto, snowball, light or none)")
    return "light", light_stem


class Tokenizer:
    """Lowercase words, names split (``convert_units`` -> convert, units, and kept whole),
    English stopwords out, stemmed. A word's tokens are computed once and memoised.
    """

    def __init__(self, stemmer: str | Stem | None = "auto",
                 stopwords: Iterable[str] | None = None) -> None:
        self.stemmer_name, self._stem = _resolve_stemmer(stemmer)
        base = _english_stopwords() if stopwords is None else frozenset(stopwords)
        self.stopwords = base | _QUERY_STOPWORDS if stopwords is None else base
        self._memo: dict[str, tuple[str, ...]] = {}

    def __call__(self, text: str) -> list[str]:
        memo = self._memo
        out: list[str] = []
        for word in _TOKEN_RE.findall(text):
            tokens = memo.get(word)
            if tokens is None:
                tokens = self._word(word)
                if len(memo) < 500_000:  # bounded: queries may bring arbitrary words
                    memo[word] = tokens
            out.extend(tokens)
        return out

    def _word(self, word: str) -> tuple[str, ...]:
        symbol = _SYMBOLS.get(word)
        if symbol is not None:
            return (symbol,)
        parts: list[str] = []
        for segment in _PART_RE.findall(word):
            if segment.isdigit() or segment.islower() or segment.isupper():
                parts.append(segment)
            else:
                pieces = _CAMEL_RE.findall(segment)
                parts.extend(pieces if "".join(pieces) == segment else [segment])
        # Numbers and single letters are argument values and abbreviations ("e.g."), not
        # words that say what a tool does; a compound such as "sha256" is kept whole.
        stop, stem = self.stopwords, self._stem
        words = [p.lower() for p in parts if len(p) > 1 and not p.isdigit()]
        tokens = [stem(w) for w in words if w not in stop]
        if len(parts) > 1 and words:  # a compound name: keep it whole too, unstemmed
            whole = word.lower().strip("_")
            if whole not in stop:
                tokens.insert(0, whole)
        return tuple(tokens)


# Documents ---------------------------------------------------------------------------------

def _schema_texts(schema: Mapping[str, Any], out: list[str], depth: int = 0) -> None:
    """Parameter names, descriptions, titles and enum values, nested objects included."""
    if depth > 3:
        return
    props = schema.get("properties")
    if isinstance(props, Mapping):
        for name, sub in props.items():
            out.append(str(name))
            if isinstance(sub, Mapping):
                _param_texts(sub, out, depth)
    items = schema.get("items")
    if isinstance(items, Mapping):
        _schema_texts(items, out, depth + 1)


def _param_texts(sub: Mapping[str, Any], out: list[str], depth: int) -> None:
    for key in ("title", "description"):
        value = sub.get(key)
        if isinstance(value, str):
            out.append(value)
    enum = sub.get("enum")
    if isinstance(enum, list):
        out.extend(str(v) for v in enum if isinstance(v, str | int | float))
    for key in ("anyOf", "oneOf", "allOf"):
        options = sub.get(key)
        if isinstance(options, list):
            for option in options:
                if isinstance(option, Mapping):
                    _param_texts(option, out, depth + 1)
    _schema_texts(sub, out, depth + 1)


WEIGHTS = {"name": 2, "description": 1, "tags": 1, "parameters": 1, "examples": 1}


def tool_document(tool: Tool) -> str:
    """The text a tool is indexed by. The name counts twice: it is the densest summary."""
    w = WEIGHTS
    parts = [tool.name] * w["name"] + [tool.description or ""] * w["description"]
    parts += list(tool.tags) * w["tags"]
    if isinstance(tool.parameters, Mapping):
        params: list[str] = []
        _schema_texts(tool.parameters, params)
        parts += params * w["parameters"]
    parts += list(tool.examples) * w["examples"]
    return "\n".join(parts)


# BM25 --------------------------------------------------------------------------------------

class _Index:
    """A built bm25s index and the tokeniser its vocabulary was made with."""

    def __init__(self, docs: Sequence[str], tokenizer: Tokenizer, k1: float, b: float) -> None:
        import bm25s

        self.tokenizer = tokenizer
        corpus = [tokenizer(d) or [""] for d in docs]
        self.bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        self.bm25.index(corpus, show_progress=False)
        self.vocab: dict[str, int] = self.bm25.vocab_dict
        self.size = len(docs)


_INDEX_CACHE: OrderedDict[str, _Index] = OrderedDict()
_INDEX_LOCK = threading.Lock()
_INDEX_CACHE_SIZE = 4


class BM25Retriever:
    """BM25 over the tools' documents (bm25s, numpy backend).

    ``stemmer`` is ``"auto"`` (PyStemmer if installed, else :func:`light_stem`),
    ``"snowball"``, ``"light"``, ``None`` or a callable. ``cache=False`` builds a fresh index
    instead of sharing one with a content-identical tool set.
    """

    name = "bm25"

    def __init__(self, tools: Iterable[Tool], *, k1: float = 1.2, b: float = 0.75,
                 stemmer: str | Stem | None = "auto",
                 cache: bool = True) -> None:
        self.tools: list[Tool] = list(tools)
        docs = [tool_document(t) for t in self.tools]
        tokenizer = Tokenizer(stemmer)
        self._index: _Index | None = None
        if not docs:
            return
        key = _content_key(docs, tokenizer.stemmer_name, k1, b) if cache else ""
        index = _cached_index(key) if cache else None
        if index is None:
            index = _Index(docs, tokenizer, k1, b)
            if cache:
                with _INDEX_LOCK:
                    _INDEX_CACHE[key] = index
                    while len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
                        _INDEX_CACHE.popitem(last=False)
        self._index = index

    @property
    def index(self) -> Any:
        """The underlying ``bm25s.BM25`` object (``None`` for an empty tool set)."""
        return self._index.bm25 if self._index is not None else None

    def tokenize(self, text: str) -> list[str]:
        return self._index.tokenizer(text) if self._index is not None else []

    def search(self, query: str, k: int = 10) -> list[Hit]:
        index = self._index
        if index is None or k <= 0 or not query:
            return []
        vocab = index.vocab
        tokens = [t for t in index.tokenizer(query) if t and t in vocab]
        if not tokens:
            return []
        k = min(k, index.size)
        docs, scores = index.bm25.retrieve(
            [tokens], k=k, show_progress=False, n_threads=0, backend_selection="numpy"
        )
        tools = self.tools
        return [Hit(tools[i], s) for i, s in zip(docs[0].tolist(), scores[0].tolist(),
                                                 strict=True) if s > 0]


def _cached_index(key: str) -> _Index | None:
    with _INDEX_LOCK:
        index = _INDEX_CACHE.get(key)
        if index is not None:
            _INDEX_CACHE.move_to_end(key)
        return index


def _content_key(docs: Sequence[str], stemmer: str, k1: float, b: float) -> str:
    h = hashlib.blake2b(f"{stemmer}\x1e{k1}\x1e{b}".encode(), digest_size=16)
    for d in docs:
        h.update(b"\x1e")
        h.update(d.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


# Choosing and caching ----------------------------------------------------------------------

def retriever_factory(name: str = DEFAULT_RETRIEVER, registry: Any = None) -> RetrieverFactory:
    """The factory registered as ``name`` (``registry.retrievers``); ``"bm25"`` is built in."""
    table = getattr(registry, "retrievers", None) or {}
    entry = table.get(name)
    if entry is not None:
        factory: RetrieverFactory = entry.factory
        return factory
    if name == DEFAULT_RETRIEVER:
        return BM25Retriever
    known = ", ".join(sorted({DEFAULT_RETRIEVER, *table}))
    raise RetrieverNotFoundError(f"unknown retriever {name!r} (available: {known})")


def make_retriever(tools: Mapping[str, Tool] | Iterable[Tool], name: str = DEFAULT_RETRIEVER,
                   registry: Any = None) -> Retriever:
    """A new retriever over ``tools`` (no caching): see :func:`retriever_for`."""
    return retriever_factory(name, registry)(_tool_list(tools))


# key -> (what the key's ids refer to, kept alive so no id is reused while cached; retriever)
_RETRIEVERS: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Retriever]] = OrderedDict()
_RETRIEVERS_LOCK = threading.Lock()
_RETRIEVERS_SIZE = 8


def retriever_for(tools: Mapping[str, Tool] | Iterable[Tool], name: str = DEFAULT_RETRIEVER,
                  registry: Any = None) -> Retriever:
    """The retriever over ``tools``, built once and then reused.

    The cache key is the retriever's name, its factory and the identity of every tool in
    order, so a registry that gains or loses a tool gets a new index, and the same tools get
    the same retriever object. The cache keeps the last few tool sets (it holds the tools
    and the factory alive, so an identity is never reused by another object while cached).
    The identity key costs about 3 ms for 16,000 tools: keep the returned retriever (or use
    :func:`lazy_retriever`) rather than calling this per query.
    """
    tool_list = _tool_list(tools)
    factory = retriever_factory(name, registry)
    key = (name, id(factory), *map(id, tool_list))
    with _RETRIEVERS_LOCK:
        cached = _RETRIEVERS.get(key)
        if cached is not None:
            _RETRIEVERS.move_to_end(key)
            return cached[1]
    retriever = factory(tool_list)
    with _RETRIEVERS_LOCK:
        cached = _RETRIEVERS.setdefault(key, ((factory, *tool_list), retriever))  # racing
        # builds of one key: the first stored wins, so every caller gets the same object
        while len(_RETRIEVERS) > _RETRIEVERS_SIZE:
            _RETRIEVERS.popitem(last=False)
    return cached[1]


def clear_cache() -> None:
    """Forget every cached retriever and index (tests, or after tools changed in place)."""
    with _RETRIEVERS_LOCK:
        _RETRIEVERS.clear()
    with _INDEX_LOCK:
        _INDEX_CACHE.clear()


def _tool_list(tools: Mapping[str, Tool] | Iterable[Tool]) -> list[Tool]:
    return list(tools.values()) if isinstance(tools, Mapping) else list(tools)


# Adapters ----------------------------------------------------------------------------------

def as_callable(retriever: Retriever) -> Callable[[str, int], list[Tool]]:
    """The ``(query, k) -> tools`` callable that ``Agent(retriever=...)`` takes."""

    def retrieve(query: str, k: int = 10) -> list[Tool]:
        return [hit.tool for hit in retriever.search(query, k)]

    return retrieve


def lazy_retriever(tools: Mapping[str, Tool] | Iterable[Tool], name: str = DEFAULT_RETRIEVER,
                   registry: Any = None) -> Callable[[str, int], list[Tool]]:
    """Like ``as_callable(retriever_for(...))``, but the index is built on the first query.

    For an ``Agent`` whose planner may never retrieve: no bm25s import, no index, until then.
    """
    tool_list = _tool_list(tools)
    retriever_factory(name, registry)  # an unknown name fails now, not mid-run
    built: list[Retriever] = []

    def retrieve(query: str, k: int = 10) -> list[Tool]:
        if not built:
            built.append(retriever_for(tool_list, name, registry))
        return [hit.tool for hit in built[0].search(query, k)]

    return retrieve
