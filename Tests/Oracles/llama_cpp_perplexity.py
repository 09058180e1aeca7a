#!/usr/bin/env python3
"""Perplexity of GGUF models under llama.cpp (llama-cpp-python), on one text.

usage: llama_cpp_perplexity.py TEXT TOKENS MODEL.gguf [MODEL.gguf ...]

Tokenises the first part of TEXT with the first model's vocabulary (with BOS), keeps TOKENS
tokens, evaluates them in one batch per model (logits for every position) and prints one JSON
object: {"tokens": n, "models": [{"path", "perplexity", "nll", "tensor_types"}]}, where nll is
the mean negative log-likelihood (natural log) of tokens 1..n-1 given their prefix, perplexity
is exp(nll), and tensor_types counts the GGUF tensor types llama.cpp loaded (from gguf-py, so a
caller can check what was run). Every model must tokenise the text identically.
"""
import json
import sys

import numpy as np
from llama_cpp import Llama


def perplexity(path, text, count):
    llm = Llama(model_path=path, n_ctx=count, n_batch=count, n_ubatch=count, logits_all=True,
                n_threads=2, verbose=False, seed=0)
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=True)[:count]
    if len(tokens) < count:
        raise SystemExit(f"{path}: the text has only {len(tokens)} tokens, {count} asked")
    llm.reset()
    llm.eval(tokens)
    logits = np.array(llm.scores[: len(tokens)], dtype=np.float64)
    if not np.isfinite(logits).all():
        raise SystemExit(f"{path}: llama.cpp produced non-finite logits")
    shifted = logits - logits.max(axis=1, keepdims=True)
    logprobs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    nll = -float(np.mean([logprobs[i, tokens[i + 1]] for i in range(len(tokens) - 1)]))
    llm.close() if hasattr(llm, "close") else None
    return tokens, nll


def tensor_types(path):
    from gguf import GGUFReader
    counts = {}
    for tensor in GGUFReader(path).tensors:
        name = tensor.tensor_type.name
        counts[name] = counts.get(name, 0) + 1
    return counts


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    text_path, count, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    # A few kB of text is more than enough for any tokenizer to give `count` tokens.
    with open(text_path, encoding="utf-8") as handle:
        text = handle.read()[: count * 12]
    results, first = [], None
    for path in models:
        tokens, nll = perplexity(path, text, count)
        if first is None:
            first = tokens
        elif tokens != first:
            raise SystemExit(f"{path} tokenises the text differently from {models[0]}")
        results.append({"path": path, "perplexity": float(np.exp(nll)), "nll": nll,
                        "tensor_types": tensor_types(path)})
    print(json.dumps({"tokens": len(first), "models": results}))


if __name__ == "__main__":
    main()
