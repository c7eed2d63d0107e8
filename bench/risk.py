"""Benchmark: the full risk check against better-profanity 0.6.1 and alt-profanity-check.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/risk.py

Builds a fixed corpus of typical posts (tweet length to 3,000 characters, English, Italian and
mixed; about one in five with something risky), then times, post by post and in the same run:
`workflows.risk.check` (every rule, with a platform for most posts), better-profanity's
`contains_profanity` (profanity only) and alt-profanity-check's `predict` (profanity only).
Also measures, each in a fresh process, the first check (imports and lexicon loading
included) and the memory the risk checker's lexicons and rules take.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "Our new trail shoe is here, lighter and grippier than ever.",
    "Saturday at 8 we run 5 km in Parco Sempione, all paces welcome.",
    "Free repairs on every jacket, bring it to any store.",
    "Thanks to everyone who joined the Acme Run, see you next year!",
    "Read the full story at https://acme.it/blog/2026/11/new-trail-shoe",
    "Questions? Write to assistenza@acme.it and we will answer within a day.",
    "La nuova scarpa da trail è arrivata, più leggera e con più grip.",
    "Sabato alle 8 corriamo 5 km al Parco Sempione, tutti i ritmi sono benvenuti.",
    "Riparazioni gratuite su ogni giacca, portala in qualsiasi negozio.",
    "Grazie a tutti i partecipanti della Acme Run, ci vediamo l'anno prossimo!",
    "Saldi di fine stagione fino al 30% su tutto il reparto corsa.",
    "Prenditi cura dei tuoi piedi con le nuove solette, consegna garantita in 24 ore.",
    "Weekend vibes, ci vediamo al run club 🏃‍♀️☕",
    "Tag a friend who needs new shoes #running #milano #acme",
    "Il nostro team di Milano vi aspetta per l'analisi del passo gratuita.",
    "Spaghetti alla puttanesca for the pasta party, classic carb load in Scunthorpe style.",
]
RISKY = [
    "What the f*ck is this weather, seriously.",
    "Che cazzo di giornata, ma noi corriamo lo stesso.",
    "Terremoto? Niente paura, 20% di sconto con il codice SALVA20!",
    "Use my code GIULIA15 on @acme_it, obsessed with these leggings.",
    "Call Marco at +39 347 555 0192 for your refund.",
    "Link: [insert link] and preview at https://staging.acme.it/new",
    "THE BIGGEST SALE OF THE YEAR STARTS NOW!!!",
    "Clinically proven to cure arthritis, rendimento garantito.",
    "Better than Nike, ask anyone #AskAcme",
    "INTERNAL ONLY - do not share before Monday.",
]
PLATFORMS = [None, "x", "bluesky", "instagram", "linkedin", "facebook", "mastodon", "threads"]


def build_corpus(count: int, seed: int = 7) -> list[tuple[str, str | None]]:
    rng = random.Random(seed)
    posts = []
    for i in range(count):
        target = rng.choice([140, 200, 280, 280, 500, 800, 1500, 3000])
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < target:
            parts.append(rng.choice(SENTENCES))
        if rng.random() < 0.2:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(RISKY))
        text = " ".join(parts)[:3000]
        posts.append((text, PLATFORMS[i % len(PLATFORMS)]))
    return posts


def timed(fn: Callable[[str, str | None], object], posts: list[tuple[str, str | None]]) -> dict:
    for text, plat in posts[:50]:  # warm-up: caches, lazy imports
        fn(text, plat)
    durations = []
    started = time.perf_counter()
    for text, plat in posts:
        t0 = time.perf_counter_ns()
        fn(text, plat)
        durations.append(time.perf_counter_ns() - t0)
    total = time.perf_counter() - started
    durations.sort()
    return {
        "posts_per_s": len(posts) / total,
        "p50_ms": durations[len(durations) // 2] / 1e6,
        "p99_ms": durations[int(len(durations) * 0.99) - 1] / 1e6,
        "mean_ms": statistics.fmean(durations) / 1e6,
    }


FIRST_CHECK = """
import time
t0 = time.perf_counter()
from workflows.risk import check
check("Che cazzo, the new shoe is here: https://acme.it 🏃", "x")
print(time.perf_counter() - t0)
"""

MEMORY = """
import gc, json, resource, tracemalloc
def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
import pydantic, yaml, regex  # shared libraries the app loads anyway
rss0 = rss_kb()
tracemalloc.start()
from workflows.risk import check
check("Che cazzo, the new shoe is here: https://acme.it 🏃 +39 347 555 0192", "x")
gc.collect()
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({"traced_mb": current / 2**20, "traced_peak_mb": peak / 2**20,
                  "rss_delta_mb": (rss_kb() - rss0) / 1024}))
"""


def fresh(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--starts", type=int, default=5, help="fresh processes for start-up")
    args = parser.parse_args()

    from better_profanity import profanity
    from profanity_check import predict

    from workflows.risk import RiskConfig, check

    posts = build_corpus(args.posts)
    config = RiskConfig(competitors=["Nike", "Decathlon"], own_contacts=["assistenza@acme.it"])
    profanity.load_censor_words()
    lengths = sorted(len(t) for t, _ in posts)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load} (figures are only fair near 0)")
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{len(posts)} posts, {lengths[0]}-{lengths[-1]} chars "
        f"(median {lengths[len(lengths) // 2]})\n"
    )

    results = {
        "greenlight check (all rules)": timed(lambda t, p: check(t, p, config), posts),
        "better-profanity 0.6.1 contains_profanity": timed(
            lambda t, p: profanity.contains_profanity(t), posts
        ),
        "alt-profanity-check predict": timed(lambda t, p: predict([t]), posts),
    }
    baseline = results["better-profanity 0.6.1 contains_profanity"]["posts_per_s"]
    print(f"{'':44} {'posts/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs b-p':>7}")
    for name, r in results.items():
        print(
            f"{name:44} {r['posts_per_s']:9.0f} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} "
            f"{r['posts_per_s'] / baseline:6.1f}x"
        )

    starts = sorted(float(fresh(FIRST_CHECK)) for _ in range(args.starts))
    memory = json.loads(fresh(MEMORY))
    print(
        f"\nfirst check in a fresh process (imports + lexicons): median "
        f"{starts[len(starts) // 2] * 1000:.0f} ms, worst {starts[-1] * 1000:.0f} ms"
    )
    print(
        f"risk checker memory (tracemalloc, after first check): {memory['traced_mb']:.1f} MB "
        f"(peak {memory['traced_peak_mb']:.1f} MB); RSS delta {memory['rss_delta_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()
