"""llama.cpp (through llama-cpp-python) as an oracle for GGUF exports, independently of emoe-pack.

usage:
  llama_cpp_oracle.py tokens MODEL.gguf TEXT_FILE N OUT_IDS.safetensors
      tokenises TEXT_FILE with the model's own tokenizer (no BOS), keeps the first N tokens and
      writes them as input_ids [N] I32 (the input of `emoe-pack run --model`).
  llama_cpp_oracle.py eval MODEL.gguf IDS.safetensors [REFERENCE.safetensors]
      evaluates the token ids with every position's logits (one batch, one thread) and prints
      the perplexity of tokens 1..N-1; with REFERENCE (an `emoe-pack run --model` output holding
      logits [N, V]) also the per-token cosine of the two logit vectors (mean and minimum), the
      share of positions whose argmax agrees, and the reference's perplexity.

Prints one JSON object on the last line of stdout.
"""
import json
import sys

import numpy as np
from safetensors.numpy import load_file, save_file


def load(path, vocab_only=False):
    from llama_cpp import Llama

    return Llama(model_path=path, vocab_only=vocab_only, verbose=False)


def perplexity(logits, ids):
    logits = logits[:-1].astype(np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_z = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    nll = log_z - logits[np.arange(len(ids) - 1), ids[1:]]
    return float(np.exp(nll.mean()))


def tokens(model, text_file, count, out):
    llm = load(model, vocab_only=True)
    with open(text_file, "rb") as f:
        ids = llm.tokenize(f.read(), add_bos=False, special=False)[: int(count)]
    if len(ids) < int(count):
        raise SystemExit(f"{text_file} has only {len(ids)} tokens")
    save_file({"input_ids": np.asarray(ids, dtype=np.int32)}, out)
    print(json.dumps({"ok": True, "tokens": len(ids)}))


def evaluate(model, ids_file, reference=None):
    from llama_cpp import Llama

    ids = load_file(ids_file)["input_ids"].reshape(-1).astype(np.int64)
    n = len(ids)
    llm = Llama(
        model_path=model, logits_all=True, n_ctx=max(n, 32), n_batch=n, n_ubatch=n,
        n_threads=1, n_threads_batch=1, verbose=False)
    llm.eval(ids.tolist())
    logits = np.array(llm.scores[:n], dtype=np.float64)
    report = {"ok": bool(np.isfinite(logits).all()), "tokens": n,
              "perplexity": perplexity(logits, ids)}
    if reference:
        ours = load_file(reference)["logits"].astype(np.float64).reshape(n, -1)
        cos = (ours * logits).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(logits, axis=1))
        report.update({
            "cosine_mean": float(cos.mean()),
            "cosine_min": float(cos.min()),
            "argmax_agreement": float((ours.argmax(1) == logits.argmax(1)).mean()),
            "reference_perplexity": perplexity(ours, ids),
        })
    print(json.dumps(report))


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"tokens": tokens, "eval": evaluate}[command](*arguments)
