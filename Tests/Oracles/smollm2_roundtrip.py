"""Derived SmolLM2 fixtures for the safetensors-source GGUF export check (made once, cached).

usage: smollm2_roundtrip.py SOURCE.gguf OUT_FOLDER

Writes into OUT_FOLDER:
  safetensors/  transformers' round trip of the GGUF: from_pretrained(gguf_file=...) dequantises
                it into PyTorch (undoing llama.cpp's q/k row permutation), and the state dict is
                saved as model.safetensors (F32, tied head dropped) with config.json and the
                tokenizer (tokenizer.json, tokenizer_config.json, chat_template.jinja).
  f32.gguf      the same GGUF with every tensor dequantised to F32 by gguf-py (metadata kept,
                general.file_type 0): the reference the round trip must reproduce.

transformers 5.25 refuses save_pretrained on a model loaded from GGUF ("quantized with gguf"),
so the state dict and config are written directly. Its GGUF tokenizer converter also drops
tokenizer.ggml.pre (it writes a bare ByteLevel pre-tokenizer, GPT-2's split), so the script
restores the pre-tokenizer SmolLM2's own tokenizer.json has on the Hub for pre 'smollm':
Digits(individual_digits) then ByteLevel. Without that, digits would split differently from
the original GGUF in llama.cpp and in transformers alike.
"""
import json
import os
import sys

import numpy as np


def round_trip(source, out):
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = os.path.split(os.path.abspath(source))
    os.makedirs(out, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    tokenizer.save_pretrained(out)
    path = os.path.join(out, "tokenizer.json")
    with open(path) as f:
        document = json.load(f)
    document["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": True},
        ],
    }
    with open(path, "w") as f:
        json.dump(document, f, ensure_ascii=False, indent=2)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["architectures"] = ["LlamaForCausalLM"]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def f32_copy(source, out):
    import gguf

    reader = gguf.GGUFReader(source)
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(out, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = field.contents()
        if key == "general.file_type":
            value = 0  # all F32
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, value, kind, sub_type=sub)
    for tensor in reader.tensors:
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        shape = [int(n) for n in reversed(tensor.shape)]
        writer.add_tensor(tensor.name, np.ascontiguousarray(values, dtype=np.float32).reshape(shape))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    source, out = sys.argv[1], sys.argv[2]
    done = os.path.join(out, "done")
    if os.path.exists(done):
        return
    round_trip(source, os.path.join(out, "safetensors"))
    f32_copy(source, os.path.join(out, "f32.gguf"))
    open(done, "w").close()


if __name__ == "__main__":
    main()
