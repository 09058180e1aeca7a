#!/usr/bin/env python3
"""Writes a synthetic LLaMA-7B-shaped checkpoint (random F16 weights) for memory benchmarks.

The model has LLaMA-7B's shapes (d = 4096, n = 11008, 32 heads, vocabulary 32000) but only
`--layers` layers (default 4), one safetensors shard per layer plus one for the embeddings, a
`model.safetensors.index.json` and a `config.json`. Values are seeded normal noise (std 0.02),
so the bytes are the same on every run. It is generated on demand (about 0.4 GB per layer plus
0.5 GB of embeddings), never committed.

usage: scripts/make_synthetic_llama.py OUT_DIR [--layers 4] [--seed 0]
"""
import argparse
import json
import os

import numpy as np
from safetensors.numpy import save_file

HIDDEN = 4096
INTERMEDIATE = 11008
HEADS = 32
VOCAB = 32000


def normal(rng, shape):
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    count = args.layers + 1
    weight_map = {}
    total = 0

    def write(number, tensors):
        nonlocal total
        name = f"model-{number:05d}-of-{count:05d}.safetensors"
        save_file(tensors, os.path.join(args.out_dir, name), metadata={"format": "pt"})
        for key, value in tensors.items():
            weight_map[key] = name
            total += value.nbytes

    rng = np.random.default_rng(args.seed)
    write(1, {
        "model.embed_tokens.weight": normal(rng, (VOCAB, HIDDEN)),
        "lm_head.weight": normal(rng, (VOCAB, HIDDEN)),
        "model.norm.weight": np.ones(HIDDEN, dtype=np.float16),
    })
    for layer in range(args.layers):
        rng = np.random.default_rng([args.seed, layer + 1])
        prefix = f"model.layers.{layer}."
        write(layer + 2, {
            prefix + "input_layernorm.weight": np.ones(HIDDEN, dtype=np.float16),
            prefix + "post_attention_layernorm.weight": np.ones(HIDDEN, dtype=np.float16),
            prefix + "self_attn.q_proj.weight": normal(rng, (HIDDEN, HIDDEN)),
            prefix + "self_attn.k_proj.weight": normal(rng, (HIDDEN, HIDDEN)),
            prefix + "self_attn.v_proj.weight": normal(rng, (HIDDEN, HIDDEN)),
            prefix + "self_attn.o_proj.weight": normal(rng, (HIDDEN, HIDDEN)),
            prefix + "mlp.gate_proj.weight": normal(rng, (INTERMEDIATE, HIDDEN)),
            prefix + "mlp.up_proj.weight": normal(rng, (INTERMEDIATE, HIDDEN)),
            prefix + "mlp.down_proj.weight": normal(rng, (HIDDEN, INTERMEDIATE)),
        })
    with open(os.path.join(args.out_dir, "model.safetensors.index.json"), "w") as handle:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
                  handle, indent=2)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
        "hidden_size": HIDDEN, "intermediate_size": INTERMEDIATE, "num_attention_heads": HEADS,
        "num_key_value_heads": HEADS, "num_hidden_layers": args.layers, "vocab_size": VOCAB,
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "torch_dtype": "float16",
        "tie_word_embeddings": False,
    }
    with open(os.path.join(args.out_dir, "config.json"), "w") as handle:
        json.dump(config, handle, indent=2)
    print(f"wrote {args.out_dir}: {args.layers} layers, {total / 1e9:.2f} GB of tensors")


if __name__ == "__main__":
    main()
