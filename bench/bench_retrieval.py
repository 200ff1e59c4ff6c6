"""Tool retrieval over a registry of 16,000 generated tools: index build time, query latency.

What it measures
----------------
A deterministic (seeded) registry of N (default 16,000) plausible tools, ToolBench-style:
``{provider}_{verb}_{noun}`` names across 20 domains, descriptions from templates, 1-5
parameters each (names, descriptions, some enums), example queries for about a third of them.
Q (default 200) varied queries are generated from templates (paraphrased verbs, filler words,
entities, sometimes the provider's name), each aimed at one tool.

  build        ``BM25Retriever(tools, cache=False)``: documents, tokenisation (stemmed,
               stopwords out), the bm25s index. Seconds, over ``--build-rounds`` builds.
  cached       ``retriever_for(tools)`` when the index is already built (the cache lookup:
               identity of every tool). Milliseconds.
  bm25         ``retriever.search(query, k=10)``: tokenise the query, score, top-k, hits.
               Per-query milliseconds; median and p95 over all queries of all rounds.
  floor        the scoring arithmetic alone, on the same index: the query's token ids are
               precomputed; the postings of those ids are summed per document
               (``np.bincount``) and the top 10 taken (``np.argpartition``). No tokenising,
               no Python per document.                                            (floor)
  naive_scan   brute force, the naive baseline: for every tool, count the query's words
               (lowercased, 3+ letters) that occur as substrings of the tool's lowercased
               document, then ``heapq.nlargest(10)``. What a retriever must beat.

Quality sanity figure (not a benchmark of relevance: the queries come from the same
templates as the tools): ``hit_at_10``, the share of queries for which a tool with the
target's verb and noun is among the bm25 top 10 (several providers offer the same verb and
noun, so the exact tool is not required); and ``exact_at_10`` for the exact tool.

Variants run interleaved in a shuffled order each round, in one process. Output: JSON lines
as in bench/README.md; ``paired_ratio_median`` for a query variant is the median over
(round, query) of variant / floor for the same query in the same round. Goal line: bm25
median under 10 ms per query.

Run:  PYTHONPATH=/work/main /work/venv/bin/python bench/bench_retrieval.py [--n 16000]
      [--queries 200] [--rounds 5] [--build-rounds 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import random
import statistics
import sys
import time

BENCH = "retrieval"
GOAL_MS = 10.0

DOMAINS: dict[str, list[str]] = {
    "weather": ["forecast", "temperature", "humidity", "wind", "rainfall", "uv_index",
                "air_quality", "sunrise", "storm_alert", "pollen_count"],
    "finance": ["stock_quote", "exchange_rate", "portfolio", "dividend", "invoice",
                "transaction", "balance", "loan", "crypto_price", "tax_rate"],
    "travel": ["flight", "hotel", "airport", "booking", "itinerary", "car_rental",
               "visa_requirement", "train_schedule", "boarding_pass", "seat_map"],
    "music": ["song", "album", "artist", "playlist", "lyrics", "concert", "chart",
              "radio_station", "podcast_episode", "genre"],
    "sports": ["match_score", "team", "player_stats", "league_table", "fixture", "transfer",
               "odds", "tournament", "injury_report", "coach"],
    "food": ["recipe", "restaurant", "menu", "ingredient", "nutrition_facts", "reservation",
             "delivery_order", "wine_pairing", "diet_plan", "cuisine"],
    "ecommerce": ["product", "order", "cart", "coupon", "review", "shipment", "return_request",
                  "wishlist", "inventory", "price_history"],
    "social": ["post", "comment", "follower", "profile", "hashtag", "direct_message",
               "story", "friend_request", "trending_topic", "mention"],
    "maps": ["route", "geocode", "place", "distance", "traffic", "elevation", "timezone",
             "postal_code", "nearby_poi", "address"],
    "news": ["headline", "article", "news_source", "breaking_news", "topic_feed", "author",
             "press_release", "editorial", "fact_check", "newsletter"],
    "health": ["symptom", "medication", "appointment", "doctor", "vaccine", "heart_rate",
               "sleep_record", "step_count", "blood_pressure", "prescription"],
    "education": ["course", "lesson", "quiz", "student", "grade", "assignment", "teacher",
                  "certificate", "enrollment", "syllabus"],
    "realestate": ["listing", "property_value", "mortgage_rate", "rental", "neighborhood",
                   "floor_plan", "open_house", "agent_contact", "tax_assessment", "zoning"],
    "devops": ["deployment", "build", "container", "log_entry", "metric", "alert", "incident",
               "repository", "pull_request", "pipeline"],
    "email": ["email", "mailbox", "draft", "attachment", "contact", "calendar_event",
              "signature", "spam_report", "thread", "label"],
    "movies": ["movie", "tv_show", "episode", "cast", "showtime", "cinema", "trailer",
               "rating", "box_office", "streaming_availability"],
    "language": ["translation", "definition", "synonym", "pronunciation", "grammar_check",
                 "language_detection", "sentiment", "summary", "spell_check", "transliteration"],
    "science": ["element", "planet", "asteroid", "earthquake", "satellite_position",
                "species", "gene", "molecule", "constellation", "tide"],
    "jobs": ["job_posting", "resume", "salary_estimate", "company", "interview", "skill",
             "application_status", "job_alert", "recruiter", "benefit"],
    "gaming": ["game", "leaderboard", "achievement", "match_history", "item_price",
               "server_status", "tournament_bracket", "character", "patch_note", "clan"],
}

PROVIDERS = ["acme", "open", "rapid", "global", "smart", "quick", "nova", "zen", "pro", "hub",
             "sky", "blue", "omni", "meta", "data", "cloud", "bright", "true", "easy", "fast"]

VERBS: dict[str, tuple[str, list[str]]] = {
    # verb: (description phrase, query paraphrases)
    "get": ("Get", ["show me the", "what is the", "I need the", "fetch the"]),
    "list": ("List all", ["list every", "show all", "give me a list of"]),
    "search": ("Search for", ["look up", "search", "find some"]),
    "create": ("Create a new", ["make a new", "add a", "set up a"]),
    "update": ("Update an existing", ["change the", "modify my", "edit the"]),
    "delete": ("Delete a", ["remove the", "get rid of my", "erase the"]),
    "find": ("Find", ["find the", "locate the", "where can I find the"]),
    "compare": ("Compare", ["compare two", "which is better between", "difference between"]),
    "track": ("Track", ["track my", "follow the status of the", "monitor the"]),
    "analyze": ("Analyze", ["analyze the", "give me insights on the", "break down the"]),
    "export": ("Export", ["export the", "download the", "save a copy of the"]),
    "subscribe": ("Subscribe to updates about", ["notify me about", "subscribe me to",
                                                  "alert me on"]),
    "validate": ("Validate", ["check if this is a valid", "verify the", "validate my"]),
    "recommend": ("Recommend", ["suggest a", "recommend some", "what should I pick for"]),
    "calculate": ("Calculate", ["calculate the", "work out the", "estimate the"]),
    "translate": ("Translate", ["translate the", "convert into another language the"]),
    "schedule": ("Schedule", ["schedule a", "plan a", "book a time for the"]),
    "cancel": ("Cancel", ["cancel my", "call off the", "stop the"]),
    "summarize": ("Summarize", ["summarize the", "give me the gist of the", "tl;dr the"]),
    "rank": ("Rank", ["rank the", "top rated", "best"]),
}

QUALIFIERS = ["by its identifier", "for a given city", "with pagination", "in real time",
              "for the authenticated user", "within a date range", "by keyword",
              "from the public catalogue", "with optional filters", "in bulk",
              "for a specific region", "including historical data"]

PARAM_POOL: list[tuple[str, str, list[str] | None]] = [
    ("limit", "Maximum number of results to return.", None),
    ("page", "Page number for paginated results.", None),
    ("sort", "Sort order of the results.", ["asc", "desc"]),
    ("format", "Response format.", ["json", "xml", "csv"]),
    ("language", "ISO 639-1 language code, e.g. en or fr.", None),
    ("country", "ISO country code, e.g. US or DE.", None),
    ("city", "Name of the city, e.g. Paris.", None),
    ("date", "Date in YYYY-MM-DD format.", None),
    ("start_date", "Start of the date range.", None),
    ("end_date", "End of the date range.", None),
    ("query", "Free-text search query.", None),
    ("currency", "Three-letter currency code, e.g. USD.", None),
    ("units", "Unit system for measurements.", ["metric", "imperial"]),
    ("user_id", "Identifier of the user.", None),
    ("include_details", "Return the full details of each item.", None),
    ("category", "Category to filter by.", None),
    ("latitude", "Latitude in decimal degrees.", None),
    ("longitude", "Longitude in decimal degrees.", None),
    ("timezone", "IANA time zone name.", None),
    ("status", "Filter by status.", ["active", "pending", "closed"]),
]

FILLER_BEFORE = ["", "", "please ", "hey, ", "could you ", "can you ", "I'd like to "]
FILLER_AFTER = ["", "", " for me", " right now", " today", " this week", " asap",
                " in Berlin", " near Tokyo", " for my team"]


def _human(s: str) -> str:
    return s.replace("_", " ")


def generate_tools(n: int, seed: int) -> tuple[list, list[tuple[str, str, str, str]]]:
    """N tools and, for each, its (provider, verb, noun, domain)."""
    from agent.types import Tool

    rng = random.Random(seed)
    combos = [(p, v, noun, d) for d, nouns in DOMAINS.items() for noun in nouns
              for v in VERBS for p in PROVIDERS]
    if n > len(combos):
        raise SystemExit(f"--n at most {len(combos)}")
    chosen = rng.sample(combos, n)

    def fn(**kwargs: object) -> object:
        return kwargs

    tools, meta = [], []
    for provider, verb, noun, domain in chosen:
        name = f"{provider}_{verb}_{noun}"
        verb_phrase = VERBS[verb][0]
        desc = rng.choice([
            f"{verb_phrase} {_human(noun)} records {rng.choice(QUALIFIERS)}.",
            f"{verb_phrase} the {_human(noun)} {rng.choice(QUALIFIERS)} using the "
            f"{provider.title()} {domain} API.",
            f"{provider.title()} {domain.title()}: {verb_phrase.lower()} {_human(noun)} data "
            f"{rng.choice(QUALIFIERS)}.",
        ])
        props: dict[str, dict[str, object]] = {
            f"{noun}_id": {"type": "string", "description": f"Identifier of the {_human(noun)}."}
        } if verb in ("get", "update", "delete", "cancel", "track") else {}
        for pname, pdesc, enum in rng.sample(PARAM_POOL, rng.randint(1, 5)):
            if len(props) >= 5:
                break
            spec: dict[str, object] = {"type": "string", "description": pdesc}
            if enum:
                spec["enum"] = enum
            props[pname] = spec
        params = {"type": "object", "properties": props, "required": list(props)[:1]}
        examples: tuple[str, ...] = ()
        if rng.random() < 0.33:
            examples = (f"{rng.choice(VERBS[verb][1])} {_human(noun)}"
                        f"{rng.choice(FILLER_AFTER)}",)
        tools.append(Tool(name=name, description=desc, parameters=params, fn=fn,
                          tags=(domain,), examples=examples, plugin=provider))
        meta.append((provider, verb, noun, domain))
    return tools, meta


def generate_queries(meta: list[tuple[str, str, str, str]], q: int,
                     seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed + 1)
    out = []
    for _ in range(q):
        i = rng.randrange(len(meta))
        provider, verb, noun, domain = meta[i]
        phrase = rng.choice(VERBS[verb][1])
        noun_text = _human(noun) + ("" if noun.endswith("s") else rng.choice(["", "", "s"]))
        text = f"{rng.choice(FILLER_BEFORE)}{phrase} {noun_text}{rng.choice(FILLER_AFTER)}"
        if rng.random() < 0.25:
            text += f" using {provider.title()}"
        if rng.random() < 0.2:
            text += f" ({domain})"
        out.append((text, i))
    return out


def summarize(variant: str, samples: list[float], unit: str,
              floor_samples: list[float] | None = None, **extra: object) -> dict:
    ordered = sorted(samples)
    rec: dict[str, object] = {
        "bench": BENCH, "variant": variant, "unit": unit,
        "median": statistics.median(samples),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "min": ordered[0], "max": ordered[-1], "repeats": len(samples),
    }
    if floor_samples is not None:
        rec["ratio_to_floor"] = rec["median"] / statistics.median(floor_samples)  # type: ignore[operator]
        rec["paired_ratio_median"] = statistics.median(
            s / f for s, f in zip(samples, floor_samples, strict=True))
    rec.update(extra)
    for key in ("median", "p95", "min", "max", "ratio_to_floor", "paired_ratio_median"):
        if key in rec:
            rec[key] = round(rec[key], 4)  # type: ignore[call-overload]
    print(json.dumps(rec), flush=True)
    return rec


def line(**rec: object) -> None:
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


def main(n: int, q: int, rounds: int, build_rounds: int, seed: int) -> None:
    import numpy as np

    from agent.retrieval import BM25Retriever, clear_cache, retriever_for, tool_document

    t0 = time.perf_counter()
    tools, meta = generate_tools(n, seed)
    queries = generate_queries(meta, q, seed)
    line(variant="generate", unit="s", seconds=round(time.perf_counter() - t0, 3),
         tools=len(tools), queries=len(queries), example_queries=[t for t, _ in queries[:5]])

    # Build ------------------------------------------------------------------------------
    import bm25s  # noqa: F401 - the import is not part of the build time

    build_s = []
    for _ in range(build_rounds):
        gc.collect()
        t = time.perf_counter()
        retriever = BM25Retriever(tools, cache=False)
        build_s.append(time.perf_counter() - t)
    index = retriever._index
    assert index is not None
    summarize("build", build_s, "s", vocab=len(index.vocab),
              postings=int(index.bm25.scores["data"].shape[0]),
              stemmer=index.tokenizer.stemmer_name)

    clear_cache()
    t = time.perf_counter()
    retriever = retriever_for(tools)  # type: ignore[assignment]
    first_s = time.perf_counter() - t
    cached_ms = []
    for _ in range(20):
        t = time.perf_counter()
        again = retriever_for(tools)
        cached_ms.append((time.perf_counter() - t) * 1e3)
        assert again is retriever
    summarize("cached", cached_ms, "ms", first_build_s=round(first_s, 3))

    # Queries ----------------------------------------------------------------------------
    bm25 = index.bm25
    data, indices, indptr = bm25.scores["data"], bm25.scores["indices"], bm25.scores["indptr"]
    ndocs = len(tools)
    query_ids = [np.array([index.vocab[tok] for tok in index.tokenizer(text)
                           if tok in index.vocab], dtype=np.int64) for text, _ in queries]

    def floor(ids: np.ndarray) -> list[int]:
        if not len(ids):
            return []
        cols = [indices[indptr[i]:indptr[i + 1]] for i in ids]
        vals = [data[indptr[i]:indptr[i + 1]] for i in ids]
        scores = np.bincount(np.concatenate(cols), weights=np.concatenate(vals),
                             minlength=ndocs)
        top = np.argpartition(scores, -10)[-10:]
        return top[np.argsort(-scores[top])].tolist()

    docs_lower = [tool_document(t).lower() for t in tools]

    def naive(text: str) -> list[int]:
        words = [w for w in text.lower().split() if len(w) >= 3 and w.isalpha()]
        scored = ((sum(w in d for w in words), i) for i, d in enumerate(docs_lower))
        return [i for s, i in heapq.nlargest(10, scored) if s > 0]

    runners = {
        "bm25": lambda j: retriever.search(queries[j][0], 10),
        "floor": lambda j: floor(query_ids[j]),
        "naive_scan": lambda j: naive(queries[j][0]),
    }
    for name in runners:  # warm-up (and sanity) pass
        for j in range(min(10, q)):
            runners[name](j)
    samples: dict[str, list[list[float]]] = {name: [] for name in runners}
    order_rng = random.Random(seed + 2)
    for _ in range(rounds):
        names = list(runners)
        order_rng.shuffle(names)
        for name in names:
            run = runners[name]
            gc.collect()
            times = []
            for j in range(q):
                t = time.perf_counter()
                run(j)
                times.append((time.perf_counter() - t) * 1e3)
            samples[name].append(times)

    flat = {name: [x for rnd in s for x in rnd] for name, s in samples.items()}
    hits = [retriever.search(text, 10) for text, _ in queries]
    verb_noun = [(m[1], m[2]) for m in meta]
    by_tool = {id(t): i for i, t in enumerate(tools)}
    hit10 = sum(any(verb_noun[by_tool[id(h.tool)]] == verb_noun[target] for h in hs)
                for hs, (_, target) in zip(hits, queries, strict=True)) / q
    exact10 = sum(any(by_tool[id(h.tool)] == target for h in hs)
                  for hs, (_, target) in zip(hits, queries, strict=True)) / q
    summarize("floor", flat["floor"], "ms_per_query")
    rec = summarize("bm25", flat["bm25"], "ms_per_query", floor_samples=flat["floor"],
                    hit_at_10=round(hit10, 3), exact_at_10=round(exact10, 3))
    naive_hits = [naive(text) for text, _ in queries]
    naive10 = sum(any(verb_noun[i] == verb_noun[target] for i in hs)
                  for hs, (_, target) in zip(naive_hits, queries, strict=True)) / q
    summarize("naive_scan", flat["naive_scan"], "ms_per_query", floor_samples=flat["floor"],
              hit_at_10=round(naive10, 3))
    median = float(rec["median"])  # type: ignore[arg-type]
    line(variant="bm25", goal=f"median under {GOAL_MS:g} ms per query over {n} tools",
         median_ms=median, met=median < GOAL_MS)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16_000, help="tools in the generated registry")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--rounds", type=int, default=5, help="passes over the queries")
    p.add_argument("--build-rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=7)
    ns = p.parse_args()
    print(json.dumps({"bench": BENCH, "python": sys.version.split()[0], "n": ns.n,
                      "queries": ns.queries, "rounds": ns.rounds}), flush=True)
    main(ns.n, ns.queries, ns.rounds, ns.build_rounds, ns.seed)
