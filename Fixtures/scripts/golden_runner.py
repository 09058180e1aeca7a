#!/usr/bin/env python3
"""Golden whole-model outputs for the reference runners (Sources/EMoERunner/Models), computed
independently with PyTorch + transformers.

NOT a make_*.py: it needs torch and transformers (plus accelerate and gguf for GGUF loading),
which CI does not install, so it is run once by hand and its output is committed under
Fixtures/runner_golden/ beside this script. Every model is run in float64 (the loaded float32 or
dequantised weights cast up exactly), so the reference carries no float32 rounding of its own.

* all-MiniLM-L6-v2 (BertModel from .cache/models/all-MiniLM-L6-v2 with its config.json):
  last_hidden_state [16, 384] for 16 fixed token ids (token_type_ids 0, no padding).
* SmolLM2-135M-Instruct Q4_1 GGUF (AutoModelForCausalLM.from_pretrained(dir, gguf_file=...),
  which dequantises every tensor and undoes llama.cpp's q/k permute): the final hidden states
  after the last RMSNorm [16, 576], the full logits row of the last position [49152], and the
  top 50 logits (values and indices) of every position.
* The tiny fixture models Fixtures/models/bert-tiny and Fixtures/models/llama-tiny, when present
  (safetensors with config.json, or one .gguf file): the same outputs.

Raw little-endian F32/I32 files and index.json (token ids, shapes, tolerances for the Swift
runners, which compute in float32).

Setup (PyPI only): pip install torch transformers accelerate gguf numpy safetensors
Usage: golden_runner.py [--out Fixtures/runner_golden]
"""
import argparse
import json
import pathlib

import numpy as np
import torch
from transformers import AutoModelForCausalLM, BertModel

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
TOP = 50


def write(out, name, array, dtype):
    data = np.ascontiguousarray(np.asarray(array), dtype=dtype)
    (out / name).write_bytes(data.astype(data.dtype.newbyteorder("<")).tobytes())
    return {"file": name, "shape": list(data.shape)}


def bert_entry(out, name, folder, tokens, tolerance):
    model = BertModel.from_pretrained(folder, attn_implementation="eager").to(torch.float64)
    model.eval()
    ids = torch.tensor([tokens])
    with torch.no_grad():
        hidden = model(input_ids=ids, token_type_ids=torch.zeros_like(ids),
                       attention_mask=torch.ones_like(ids)).last_hidden_state[0]
    return {"name": name, "kind": "bert", "source": str(folder.relative_to(ROOT)),
            "tokens": tokens, "hidden": write(out, f"{name}.hidden.f32", hidden.numpy(),
                                               np.float32),
            "tolerance": tolerance}


def llama_entry(out, name, folder, gguf_file, tokens, tolerance):
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager", **kwargs).to(torch.float64)
    model.eval()
    ids = torch.tensor([tokens])
    with torch.no_grad():
        result = model(input_ids=ids, output_hidden_states=True)
    # hidden_states[-1] of a LlamaModel is taken after the final RMSNorm.
    hidden = result.hidden_states[-1][0].numpy()
    logits = result.logits[0].numpy()
    order = np.argsort(-logits, axis=1, kind="stable")[:, :TOP]
    source = folder / gguf_file if gguf_file else folder
    return {"name": name, "kind": "llama", "source": str(source.relative_to(ROOT)),
            "tokens": tokens, "vocabulary": int(logits.shape[1]),
            "tied_embeddings": bool(model.config.tie_word_embeddings),
            "hidden": write(out, f"{name}.hidden.f32", hidden, np.float32),
            "last_logits": write(out, f"{name}.last_logits.f32", logits[-1], np.float32),
            "top_logit_values": write(out, f"{name}.top_values.f32",
                                      np.take_along_axis(logits, order, axis=1), np.float32),
            "top_logit_indices": write(out, f"{name}.top_indices.i32", order, np.int32),
            "tolerance": tolerance}


def fixture_llama(folder):
    ggufs = sorted(folder.glob("*.gguf"))
    if (folder / "config.json").exists() and list(folder.glob("*.safetensors")):
        return None
    return ggufs[0].name if ggufs else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "Fixtures" / "runner_golden"))
    out = pathlib.Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    models = ROOT / ".cache" / "models"
    # "[CLS] the quick brown fox jumps over the lazy dog . emoe splits dense layers [SEP]"
    bert_tokens = [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 7861,
                   8913, 19584, 9742, 102]
    # SmolLM2's tokenizer on "<|im_start|>user\nWhat is the capital of France? Answer
    # briefly.<|im_end|>\n<|im_start|>" (15 ids) plus "assistant" (16 ids).
    llama_tokens = [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 19842, 13099, 30, 2,
                    198, 1]
    entries = [
        bert_entry(out, "minilm", models / "all-MiniLM-L6-v2", bert_tokens,
                   {"max_abs": 1e-4, "min_row_cosine": 0.999999}),
        llama_entry(out, "smollm2", models, "SmolLM2-135M-Instruct.Q4_1.gguf", llama_tokens,
                    {"hidden_max_abs_relative": 1e-5, "min_row_cosine": 0.999999,
                     "logits_max_abs": 5e-4, "min_logit_cosine": 0.999999}),
    ]
    tiny = ROOT / "Fixtures" / "models"
    if (tiny / "bert-tiny" / "config.json").exists():
        config = json.loads((tiny / "bert-tiny" / "config.json").read_text())
        tokens = [t % config["vocab_size"] for t in bert_tokens]
        entries.append(bert_entry(out, "bert-tiny", tiny / "bert-tiny", tokens,
                                  {"max_abs": 1e-4, "min_row_cosine": 0.999999}))
    if (tiny / "llama-tiny").is_dir():
        folder = tiny / "llama-tiny"
        gguf_file = fixture_llama(folder)
        if gguf_file is not None or (folder / "config.json").exists():
            model_vocab = None
            if (folder / "config.json").exists():
                model_vocab = json.loads((folder / "config.json").read_text())["vocab_size"]
            tokens = [t % model_vocab for t in llama_tokens] if model_vocab else llama_tokens
            entries.append(llama_entry(out, "llama-tiny", folder, gguf_file, tokens,
                                       {"hidden_max_abs_relative": 1e-5, "min_row_cosine": 0.999999,
                                        "logits_max_abs": 1e-4, "min_logit_cosine": 0.999999}))
    index = {"generator": "Fixtures/scripts/golden_runner.py",
             "reference": f"torch {torch.__version__}, float64",
             "models": entries}
    (out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
