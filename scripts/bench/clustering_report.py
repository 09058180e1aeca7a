#!/usr/bin/env python3
"""Prints the Markdown tables of scripts/bench/clustering.sh from its results folder."""
import json
import pathlib
import statistics
import sys

folder = pathlib.Path(sys.argv[1])
results = folder / "results"


def lines(name):
    return [json.loads(line) for line in (results / name).read_text().splitlines() if line.strip()]


def reference(stem, n_init=10):
    path = folder / f"reference-{stem}-n{n_init}.json"
    return json.loads(path.read_text()) if path.exists() else None


ours = lines("ours.jsonl")
plain = {(r["model"], r["layer"]): r for r in lines("plain.jsonl")}
print("### Per layer: default options against k-means-constrained\n")
print("| model | layer | n × d, E | ours: SSE | time (s) | restarts | swaps | "
      "1 restart, no swaps: SSE | reference SSE | time (s) | ours vs reference |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
summary = {}
for r in ours:
    stem = f"{r['model'].lower()}-L{r['layer']}"
    ref = reference(stem)
    p = plain[(r["model"], r["layer"])]
    if ref:
        delta = f"{(r['sse'] / ref['sse'] - 1) * 100:+.3f} %"
        summary.setdefault(r["model"], []).append((r["sse"], ref["sse"], r["seconds"], ref["seconds"]))
        ref_sse, ref_time = f"{ref['sse']:.3f}", f"{ref['seconds']:.1f}"
    else:
        delta, ref_sse, ref_time = "–", "not run", "–"
    print(f"| {r['model']} | {r['layer']} | {r['rows']} × {r['cols']}, {r['experts']} | "
          f"{r['sse']:.3f} | {r['seconds']:.2f} | {r['restarts']} | {r['swaps']} | "
          f"{p['sse']:.3f} | {ref_sse} | {ref_time} | {delta} |")

print("\n### Summary over the layers the reference ran on\n")
print("| model | layers | mean SSE ours | mean SSE reference | worst layer | time ours | time reference |")
print("|---|---|---|---|---|---|---|")
for model, rows in summary.items():
    worst = max(o / t - 1 for o, t, _, _ in rows) * 100
    print(f"| {model} | {len(rows)} | {statistics.mean(o for o, _, _, _ in rows):.3f} | "
          f"{statistics.mean(t for _, t, _, _ in rows):.3f} | {worst:+.3f} % | "
          f"{sum(s for _, _, s, _ in rows):.1f} s | {sum(s for _, _, _, s in rows):.1f} s |")

print("\n### Restarts against SSE and time (local improvement on)\n")
print("| keys | restarts | mean SSE | mean time per layer (s) |")
print("|---|---|---|---|")
for name, label in (("sweep-minilm.jsonl", "MiniLM, 6 layers"),
                    ("sweep-smollm2.jsonl", "SmolLM2 layers 0, 10, 20")):
    by_restarts = {}
    for r in lines(name):
        by_restarts.setdefault(r["restarts"], []).append(r)
    for restarts, rows in sorted(by_restarts.items()):
        print(f"| {label} | {restarts} | {statistics.mean(r['sse'] for r in rows):.3f} | "
              f"{statistics.mean(r['seconds'] for r in rows):.2f} |")

print("\n### Synthetic LLaMA-7B-shaped layer (11008 × 4096, E = 64)\n")
print("| method | restarts | SSE | time (s) | iterations | swaps |")
print("|---|---|---|---|---|---|")
for r in lines("synthetic.jsonl"):
    label = "emoe-pack" + ("" if r["local_improvement"] else ", no local improvement")
    print(f"| {label} | {r['restarts']} | {r['sse']:.3f} | {r['seconds']:.2f} | "
          f"{r['iterations']} | {r['swaps']} |")
ref = reference("synthetic-7b", 1)
if ref:
    print(f"| k-means-constrained, n_init=1 (measured) | 1 | {ref['sse']:.3f} | "
          f"{ref['seconds']:.1f} | – | – |")
    print(f"| k-means-constrained, n_init=10 (default; time extrapolated ×10) | 10 | – | "
          f"≈ {ref['seconds'] * 10:.0f} | – | – |")
