#!/usr/bin/env python3
"""Independent numpy oracle for `convert --calibration` on a LLaMA-family safetensors model.

Runs the dense model in float64 (Hugging Face conventions: RMSNorm, rotary embedding on
rotate-half pairs, grouped-query attention, SiLU GLU), records the FFN input of each layer,
and from it each neuron's intermediate activation act(Wg x) * (Wu x) on every token.

Usage:
  calibration_oracle.py tokens OUT.safetensors COUNT VOCAB SEED
      writes input_ids [1, COUNT] (int64), drawn with numpy's default_rng(SEED)
  calibration_oracle.py check MODEL_DIR GOLDEN_DIR
      runs the golden token ids and prints the largest relative error of the last logits
      against Fixtures/runner_golden (the oracle's own check)
  calibration_oracle.py shared MODEL_DIR TOKENS.safetensors LAYERS SHARED
      prints {"L": [the SHARED neurons with the largest mean |activation|, ascending]}
  calibration_oracle.py sse MODEL_DIR TOKENS.safetensors LAYER PERMUTATION_JSON BOUNDARIES_JSON
      prints the SSE of the routed neurons' L2-normalised activation patterns (one value per
      token) to their expert's mean, for the stored order and expert boundaries given
"""
import json
import pathlib
import sys

import numpy as np
from safetensors.numpy import load_file, save_file


def load(model_dir):
    model_dir = pathlib.Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    weights = {k: v.astype(np.float64) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
    return config, weights


def forward(config, w, ids):
    d = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv = config.get("num_key_value_heads", heads)
    hd = config.get("head_dim", d // heads)
    eps = config["rms_norm_eps"]
    theta = config.get("rope_theta", 10000.0)
    t = len(ids)
    x = w["model.embed_tokens.weight"][ids]
    inv = theta ** (-np.arange(0, hd, 2) / hd)
    ang = np.arange(t)[:, None] * inv[None, :]
    cos = np.concatenate([np.cos(ang)] * 2, axis=1)[:, None, :]
    sin = np.concatenate([np.sin(ang)] * 2, axis=1)[:, None, :]

    def rms(v, weight):
        return v / np.sqrt((v * v).mean(-1, keepdims=True) + eps) * weight

    def rope(v):
        half = v.shape[-1] // 2
        rotated = np.concatenate([-v[..., half:], v[..., :half]], axis=-1)
        return v * cos + rotated * sin

    mask = np.triu(np.full((t, t), -np.inf), 1)
    inputs = {}
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        a = rms(x, w[p + "input_layernorm.weight"])
        q = rope((a @ w[p + "self_attn.q_proj.weight"].T).reshape(t, heads, hd))
        k = rope((a @ w[p + "self_attn.k_proj.weight"].T).reshape(t, kv, hd))
        v = (a @ w[p + "self_attn.v_proj.weight"].T).reshape(t, kv, hd)
        k = np.repeat(k, heads // kv, axis=1)
        v = np.repeat(v, heads // kv, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        x = x + np.einsum("hts,shd->thd", s, v).reshape(t, heads * hd) @ w[p + "self_attn.o_proj.weight"].T
        f = rms(x, w[p + "post_attention_layernorm.weight"])
        inputs[layer] = f
        x = x + activations(w, layer, f) @ w[p + "mlp.down_proj.weight"].T
    x = rms(x, w["model.norm.weight"])
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ head.T, inputs


def activations(w, layer, f):
    p = f"model.layers.{layer}.mlp."
    g = f @ w[p + "gate_proj.weight"].T
    return g / (1 + np.exp(-g)) * (f @ w[p + "up_proj.weight"].T)


def tokens(path):
    return [int(i) for i in load_file(path)["input_ids"].reshape(-1)]


def main():
    mode = sys.argv[1]
    if mode == "tokens":
        out, count, vocab, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        ids = np.random.default_rng(seed).integers(0, vocab, size=(1, count), dtype=np.int64)
        save_file({"input_ids": ids}, out)
        return
    config, w = load(sys.argv[2])
    if mode == "check":
        index = json.loads((pathlib.Path(sys.argv[3]) / "index.json").read_text())
        entry = next(m for m in index["models"] if m["name"] == "llama-tiny")
        logits, _ = forward(config, w, entry["tokens"])
        golden = np.fromfile(pathlib.Path(sys.argv[3]) / entry["last_logits"]["file"], dtype="<f4")
        print(json.dumps({"relative_error": float(np.abs(logits[-1] - golden).max() / np.abs(golden).max())}))
        return
    ids = tokens(sys.argv[3])
    _, inputs = forward(config, w, ids)
    if mode == "shared":
        count = int(sys.argv[5])
        result = {}
        for layer in [int(v) for v in sys.argv[4].split(",")]:
            magnitude = np.abs(activations(w, layer, inputs[layer])).mean(0)
            order = sorted(range(len(magnitude)), key=lambda i: (-magnitude[i], i))
            result[str(layer)] = sorted(order[:count])
        print(json.dumps(result))
    elif mode == "sse":
        layer = int(sys.argv[4])
        permutation = json.loads(sys.argv[5])
        boundaries = json.loads(sys.argv[6])
        patterns = activations(w, layer, inputs[layer]).T
        patterns = patterns / np.maximum(np.linalg.norm(patterns, axis=1, keepdims=True), 1e-30)
        sse = 0.0
        for start, end in zip(boundaries, boundaries[1:]):
            members = patterns[permutation[start:end]]
            sse += float(((members - members.mean(0)) ** 2).sum())
        print(json.dumps({"sse": sse}))


if __name__ == "__main__":
    main()
