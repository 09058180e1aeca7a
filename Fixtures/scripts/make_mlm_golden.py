#!/usr/bin/env python3
"""Writes the golden masked-LM outputs of the tiny BERT with a masked-LM head (under --out).

The model itself is defined here (`write_model`) and written by make_models.py:
- Fixtures/models/bert-tiny-mlm/: BertForMaskedLM names (`bert.` prefix, `cls.predictions.*`,
  decoder tied to the word embeddings as Hugging Face saves it), 2 layers, d=32, n=128, GELU,
  a WordPiece tokenizer.json whose vocabulary is the model's (vocab_size = its length).
- Fixtures/mlm_golden/ (this script): an independent float64 numpy forward of that model on a fixed sequence:
  the head's logits for every position (`logits.f32`, [T, V]) and the masked-LM loss (mean
  cross-entropy at fixed masked positions, the inputs there replaced by [MASK]) in index.json.

Deterministic: fixed seed, fixed safetensors metadata, sorted JSON.
"""
import argparse
import json
import math
import pathlib

import numpy as np
from safetensors.numpy import save_file

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "of", "to", "and", "or", "in", "is", "this", "that", "license", "software",
         "you", "for", "be", "any", "by", "copyright", "with", "not", "may", "use", "work", "program"]
PUNCTUATION = list(".,;:'\"()-/")
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]
VOCAB = SPECIAL + PUNCTUATION + LETTERS + ["##" + c for c in LETTERS] + WORDS


def clustered_keys(rng, n, d, centres, spread=0.7):
    c = rng.standard_normal((centres, d))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    labels = rng.integers(0, centres, size=n)
    return (c[labels] + rng.standard_normal((n, d)) * (spread / np.sqrt(d))).astype(np.float32)


def dense(rng, rows, cols, scale=None):
    scale = 1.0 / np.sqrt(cols) if scale is None else scale
    return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)


def vector(rng, n, scale=0.02, centre=0.0):
    return (centre + rng.standard_normal(n) * scale).astype(np.float32)


def make_weights():
    rng = np.random.default_rng(1004)
    d, n, layers, vocab, positions = 32, 128, 2, len(VOCAB), 64
    t = {
        "bert.embeddings.word_embeddings.weight": dense(rng, vocab, d, 0.5),
        "bert.embeddings.position_embeddings.weight": dense(rng, positions, d, 0.1),
        "bert.embeddings.token_type_embeddings.weight": dense(rng, 2, d, 0.1),
        "bert.embeddings.LayerNorm.weight": vector(rng, d, 0.05, 1.0),
        "bert.embeddings.LayerNorm.bias": vector(rng, d),
    }
    for i in range(layers):
        p = f"bert.encoder.layer.{i}."
        for proj in ("query", "key", "value"):
            t[p + f"attention.self.{proj}.weight"] = dense(rng, d, d)
            t[p + f"attention.self.{proj}.bias"] = vector(rng, d)
        t[p + "attention.output.dense.weight"] = dense(rng, d, d)
        t[p + "attention.output.dense.bias"] = vector(rng, d)
        t[p + "attention.output.LayerNorm.weight"] = vector(rng, d, 0.05, 1.0)
        t[p + "attention.output.LayerNorm.bias"] = vector(rng, d)
        t[p + "intermediate.dense.weight"] = clustered_keys(rng, n, d, 24)
        t[p + "intermediate.dense.bias"] = vector(rng, n, 0.1)
        t[p + "output.dense.weight"] = dense(rng, d, n)
        t[p + "output.dense.bias"] = vector(rng, d)
        t[p + "output.LayerNorm.weight"] = vector(rng, d, 0.05, 1.0)
        t[p + "output.LayerNorm.bias"] = vector(rng, d)
    t["cls.predictions.transform.dense.weight"] = dense(rng, d, d)
    t["cls.predictions.transform.dense.bias"] = vector(rng, d)
    t["cls.predictions.transform.LayerNorm.weight"] = vector(rng, d, 0.05, 1.0)
    t["cls.predictions.transform.LayerNorm.bias"] = vector(rng, d)
    t["cls.predictions.bias"] = vector(rng, vocab, 0.1)
    config = {
        "architectures": ["BertForMaskedLM"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": d,
        "initializer_range": 0.02,
        "intermediate_size": n,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": positions,
        "model_type": "bert",
        "num_attention_heads": 2,
        "num_hidden_layers": layers,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "type_vocab_size": 2,
        "vocab_size": vocab,
    }
    return t, config


def tokenizer_json():
    special = [{"id": VOCAB.index(s), "content": s, "single_word": False, "lstrip": False,
                "rstrip": False, "normalized": False, "special": True} for s in SPECIAL]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": special,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(VOCAB)}},
    }


def layer_norm(x, w, b, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def forward(t, config, ids):
    """float64 BertForMaskedLM: the head's logits [T, V]."""
    w = {k: v.astype(np.float64) for k, v in t.items()}
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    T = len(ids)
    x = (w["bert.embeddings.word_embeddings.weight"][ids]
         + w["bert.embeddings.position_embeddings.weight"][:T]
         + w["bert.embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, w["bert.embeddings.LayerNorm.weight"], w["bert.embeddings.LayerNorm.bias"], eps)
    for i in range(config["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        def lin(name, v):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]
        q, k, v = (lin(f"attention.self.{n}", x) for n in ("query", "key", "value"))
        hd = q.shape[1] // heads
        ctx = np.zeros_like(q)
        for h in range(heads):
            s = slice(h * hd, (h + 1) * hd)
            scores = q[:, s] @ k[:, s].T / math.sqrt(hd)
            scores -= scores.max(axis=1, keepdims=True)
            prob = np.exp(scores)
            prob /= prob.sum(axis=1, keepdims=True)
            ctx[:, s] = prob @ v[:, s]
        a = layer_norm(lin("attention.output.dense", ctx) + x,
                       w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        f = lin("output.dense", gelu(lin("intermediate.dense", a)))
        x = layer_norm(f + a, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    h = gelu(x @ w["cls.predictions.transform.dense.weight"].T + w["cls.predictions.transform.dense.bias"])
    h = layer_norm(h, w["cls.predictions.transform.LayerNorm.weight"], w["cls.predictions.transform.LayerNorm.bias"], eps)
    return h @ w["bert.embeddings.word_embeddings.weight"].T + w["cls.predictions.bias"]


def cross_entropy(row, target):
    m = row.max()
    return math.log(np.exp(row - m).sum()) - (row[target] - m)


def write_model(folder):
    """The model, its config.json and its tokenizer.json in `folder`."""
    t, config = make_weights()
    folder.mkdir(parents=True, exist_ok=True)
    save_file(t, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json(), indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    golden = parser.parse_args().out
    t, config = make_weights()
    ids = [2] + [VOCAB.index(w) for w in ["this", "program", "is", "software", ";", "you", "may",
                                          "use", "the", "work", "."]] + [3]
    masked_positions = [2, 5, 9]
    masked = list(ids)
    for p in masked_positions:
        masked[p] = VOCAB.index("[MASK]")
    logits = forward(t, config, ids)
    masked_logits = forward(t, config, masked)
    loss = sum(cross_entropy(masked_logits[p], ids[p]) for p in masked_positions) / len(masked_positions)
    golden.mkdir(parents=True, exist_ok=True)
    logits.astype("<f4").tofile(golden / "bert-tiny-mlm.logits.f32")
    (golden / "index.json").write_text(json.dumps({
        "model": "models/bert-tiny-mlm",
        "tokens": ids,
        "logits": {"file": "bert-tiny-mlm.logits.f32", "shape": list(logits.shape)},
        "mask_id": VOCAB.index("[MASK]"),
        "masked_positions": masked_positions,
        "masked_lm_loss": loss,
    }, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
