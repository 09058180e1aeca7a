#!/usr/bin/env python3
"""Writes the tiny fixture models under --out (committed as Fixtures/models/).

- bert-tiny/:  BertModel names, 2 layers, d=32, n=128, GELU, biases, pooler.
- gpt2-tiny/:  GPT-2 names (Conv1D weights stored [in, out]), 2 layers, d=48, n=192, gelu_new.
- llama-tiny/: LLaMA names, 4 layers, d=64, n=256, SwiGLU, no biases, grouped KV heads (4 q, 2 kv).
- llama-tiny-sharded/: the same tensors and config as llama-tiny in two shards with a Hugging Face
  model.safetensors.index.json.
- bert-tiny-mlm/: a BertForMaskedLM with its tokenizer.json, defined in make_mlm_golden.py (which
  also writes its golden outputs).

All tensors are F32. FFN keys (rows of W1 / gate_proj, columns of GPT-2's c_fc) are drawn around a
few dozen random unit centres plus noise, so balanced clustering has structure to find. Output is
deterministic: fixed seeds, fixed safetensors metadata, sorted JSON.
"""
import argparse
import json
import pathlib

import numpy as np
from safetensors.numpy import save_file

import make_mlm_golden

METADATA = {"format": "pt"}


def clustered_keys(rng, n, d, centres, spread=0.7):
    """n keys of length d around `centres` random unit directions (norm ~1.2 each)."""
    c = rng.standard_normal((centres, d))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    labels = rng.integers(0, centres, size=n)
    keys = c[labels] + rng.standard_normal((n, d)) * (spread / np.sqrt(d))
    return keys.astype(np.float32)


def dense(rng, rows, cols, scale=None):
    scale = 1.0 / np.sqrt(cols) if scale is None else scale
    return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)


def vector(rng, n, scale=0.02, centre=0.0):
    return (centre + rng.standard_normal(n) * scale).astype(np.float32)


def write_config(folder, config):
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def bert_tiny(out):
    rng = np.random.default_rng(1001)
    d, n, layers, vocab, positions = 32, 128, 2, 64, 32
    t = {
        "embeddings.word_embeddings.weight": dense(rng, vocab, d, 0.5),
        "embeddings.position_embeddings.weight": dense(rng, positions, d, 0.1),
        "embeddings.token_type_embeddings.weight": dense(rng, 2, d, 0.1),
        "embeddings.LayerNorm.weight": vector(rng, d, 0.05, 1.0),
        "embeddings.LayerNorm.bias": vector(rng, d),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
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
    t["pooler.dense.weight"] = dense(rng, d, d)
    t["pooler.dense.bias"] = vector(rng, d)
    folder = out / "bert-tiny"
    folder.mkdir(parents=True, exist_ok=True)
    save_file(t, str(folder / "model.safetensors"), metadata=METADATA)
    write_config(folder, {
        "architectures": ["BertModel"],
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
        "torch_dtype": "float32",
        "type_vocab_size": 2,
        "vocab_size": vocab,
    })


def gpt2_tiny(out):
    rng = np.random.default_rng(1002)
    d, n, layers, vocab, positions = 48, 192, 2, 64, 32
    t = {
        "wte.weight": dense(rng, vocab, d, 0.5),
        "wpe.weight": dense(rng, positions, d, 0.1),
    }
    for i in range(layers):
        p = f"h.{i}."
        t[p + "ln_1.weight"] = vector(rng, d, 0.05, 1.0)
        t[p + "ln_1.bias"] = vector(rng, d)
        # Conv1D stores its weight as [in, out].
        t[p + "attn.c_attn.weight"] = dense(rng, d, 3 * d, 1.0 / np.sqrt(d))
        t[p + "attn.c_attn.bias"] = vector(rng, 3 * d)
        t[p + "attn.c_proj.weight"] = dense(rng, d, d)
        t[p + "attn.c_proj.bias"] = vector(rng, d)
        t[p + "ln_2.weight"] = vector(rng, d, 0.05, 1.0)
        t[p + "ln_2.bias"] = vector(rng, d)
        keys = clustered_keys(rng, n, d, 24)
        t[p + "mlp.c_fc.weight"] = np.ascontiguousarray(keys.T)
        t[p + "mlp.c_fc.bias"] = vector(rng, n, 0.1)
        t[p + "mlp.c_proj.weight"] = dense(rng, n, d, 1.0 / np.sqrt(n))
        t[p + "mlp.c_proj.bias"] = vector(rng, d)
    t["ln_f.weight"] = vector(rng, d, 0.05, 1.0)
    t["ln_f.bias"] = vector(rng, d)
    folder = out / "gpt2-tiny"
    folder.mkdir(parents=True, exist_ok=True)
    save_file(t, str(folder / "model.safetensors"), metadata=METADATA)
    write_config(folder, {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "layer_norm_epsilon": 1e-5,
        "model_type": "gpt2",
        "n_ctx": positions,
        "n_embd": d,
        "n_head": 4,
        "n_inner": n,
        "n_layer": layers,
        "n_positions": positions,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "vocab_size": vocab,
    })


def llama_tensors():
    rng = np.random.default_rng(1003)
    d, n, layers, vocab = 64, 256, 4, 96
    heads, kv_heads, head_dim = 4, 2, 16
    t = {"model.embed_tokens.weight": dense(rng, vocab, d, 0.5)}
    for i in range(layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = vector(rng, d, 0.05, 1.0)
        t[p + "self_attn.q_proj.weight"] = dense(rng, heads * head_dim, d)
        t[p + "self_attn.k_proj.weight"] = dense(rng, kv_heads * head_dim, d)
        t[p + "self_attn.v_proj.weight"] = dense(rng, kv_heads * head_dim, d)
        t[p + "self_attn.o_proj.weight"] = dense(rng, d, heads * head_dim)
        t[p + "post_attention_layernorm.weight"] = vector(rng, d, 0.05, 1.0)
        t[p + "mlp.gate_proj.weight"] = clustered_keys(rng, n, d, 32)
        t[p + "mlp.up_proj.weight"] = clustered_keys(rng, n, d, 32, spread=1.0)
        t[p + "mlp.down_proj.weight"] = dense(rng, d, n)
    t["model.norm.weight"] = vector(rng, d, 0.05, 1.0)
    t["lm_head.weight"] = dense(rng, vocab, d)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "hidden_size": d,
        "intermediate_size": n,
        "max_position_embeddings": 64,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "vocab_size": vocab,
    }
    return t, config


def llama_tiny(out):
    t, config = llama_tensors()
    folder = out / "llama-tiny"
    folder.mkdir(parents=True, exist_ok=True)
    save_file(t, str(folder / "model.safetensors"), metadata=METADATA)
    write_config(folder, config)

    folder = out / "llama-tiny-sharded"
    folder.mkdir(parents=True, exist_ok=True)
    first = {k: v for k, v in t.items()
             if k.startswith("model.embed_tokens.") or k.startswith(("model.layers.0.", "model.layers.1."))}
    second = {k: v for k, v in t.items() if k not in first}
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    weight_map = {}
    for name, shard in zip(names, (first, second)):
        save_file(shard, str(folder / name), metadata=METADATA)
        for key in shard:
            weight_map[key] = name
    index = {
        "metadata": {"total_size": int(sum(v.nbytes for v in t.values()))},
        "weight_map": dict(sorted(weight_map.items())),
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    write_config(folder, config)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    bert_tiny(out)
    gpt2_tiny(out)
    llama_tiny(out)
    make_mlm_golden.write_model(out / "bert-tiny-mlm")


if __name__ == "__main__":
    main()
