"""Retrieval benchmark: Tunesmith's knowledge base against the exact numpy baseline, one run.

Prints, each beside its baseline:
  1. ingestion: chunks/s embedding the sample documents' chunks in batches vs one at a time;
  2. search latency p50/p95 at 10k and 100k chunks: the index Tunesmith chooses (flat or HNSW)
     vs exact numpy search (matrix-vector product + argpartition);
  3. recall@10 of the chosen index against exact search;
  4. `tunesmith --help` start-up time vs `python -c "import torch"` (the CLI must not import torch).

The 10k/100k collections are built from the real MiniLM vectors of the sample chunks plus
Gaussian noise, renormalised, so they are clustered like real document embeddings (random
uniform vectors would flatter neither index). Usage: python bench/retrieval.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q) * 1000)


def sample_chunks() -> list[str]:
    from core import sample_data
    from tools.knowledge.chunking import chunk_document, minilm_token_counter
    from tools.knowledge.loaders import load_document

    counter = minilm_token_counter()
    texts = []
    for path in sample_data.list_documents():
        doc = load_document(path, max_bytes=50 << 20)
        texts += [c.text for c in chunk_document(doc, max_tokens=200, count_tokens=counter)]
    return texts


def bench_ingestion(embedder, texts: list[str]) -> None:
    """Batched embedding (what `kb add` does) vs one chunk per call, same chunks, warmed up."""
    subset = texts[: min(len(texts), 64)]
    embedder.encode(subset[:8], batch_size=8)  # warm-up: first calls pay one-off costs

    def rate(batch_size: int) -> float:
        start = time.perf_counter()
        if batch_size == 1:
            for text in subset:
                embedder.encode([text], batch_size=1)
        else:
            embedder.encode(subset, batch_size=batch_size)
        return len(subset) / (time.perf_counter() - start)

    single, batched = rate(1), rate(64)
    print(
        f"ingestion (embed {len(subset)} sample chunks): batched {batched:,.1f} chunks/s, "
        f"one at a time {single:,.1f} chunks/s, ratio {batched / single:.2f}x"
    )


def synthetic_collection(base: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    picks = base[rng.integers(0, len(base), n)]
    noisy = picks + 0.35 * rng.standard_normal(picks.shape).astype(np.float32) / np.sqrt(
        base.shape[1]
    )
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return noisy.astype(np.float32)


def exact_search(vectors: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = vectors @ query
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def bench_search(base: np.ndarray, queries: np.ndarray, n: int, rng: np.random.Generator) -> None:
    from tools.knowledge.index import build_index, search_index

    vectors = synthetic_collection(base, n, rng)
    start = time.perf_counter()
    index, choice = build_index(vectors)
    build_s = time.perf_counter() - start
    ours, exact, recalls = [], [], []
    for query in queries:
        t0 = time.perf_counter()
        _, ids = search_index(index, query[None, :], 10)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        truth = exact_search(vectors, query, 10)
        exact.append(time.perf_counter() - t0)
        recalls.append(len(set(ids[0].tolist()) & set(truth.tolist())) / 10)
    print(
        f"{n:>7,} chunks: index={choice.kind} (built in {build_s:.1f}s)  "
        f"p50 {percentile_ms(ours, 50):.3f} ms  p95 {percentile_ms(ours, 95):.3f} ms  |  "
        f"numpy exact p50 {percentile_ms(exact, 50):.3f} ms  "
        f"p95 {percentile_ms(exact, 95):.3f} ms  |  "
        f"p50 speed-up {np.median(exact) / np.median(ours):.1f}x  recall@10 {np.mean(recalls):.3f}"
    )


def bench_cli_startup(repeats: int = 3) -> None:
    def timed(args: list[str]) -> float:
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            best = min(best, time.perf_counter() - t0)
        return best

    ours = timed([sys.executable, "-m", "ui.cli", "--help"])
    torch_import = timed([sys.executable, "-c", "import torch"])
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, ui.cli; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"`tunesmith --help`: {ours * 1000:.0f} ms (imports torch: {loaded}); "
        f"`import torch` alone: {torch_import * 1000:.0f} ms; ratio {torch_import / ours:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k only, fewer queries")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    from core.embeddings import get_embedder

    rng = np.random.default_rng(0)
    embedder = get_embedder()
    texts = sample_chunks()
    bench_ingestion(embedder, texts)
    base = embedder.encode(texts)
    n_queries = 50 if args.quick else args.queries
    queries = synthetic_collection(base, n_queries, rng)
    for n in [10_000] if args.quick else [10_000, 100_000]:
        bench_search(base, queries, n, rng)
    bench_cli_startup()


if __name__ == "__main__":
    main()
