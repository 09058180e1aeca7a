"""Oracle for `emoe-pack export --to hf`: loads the exported folder with transformers and runs it.

    hf_oracle.py ids OUT.safetensors VOCAB COUNT
        writes input_ids [1, COUNT] (int64): (17 + 7919 i) mod VOCAB, as `verify --model` probes.

    hf_oracle.py tokens OUT.safetensors ID,ID,...
        writes input_ids [1, COUNT] (int64): the given ids.

    hf_oracle.py compare FOLDER IDS.safetensors LABEL:MODE:RUN.safetensors ...
        loads FOLDER offline and runs input_ids once per MODE:
          stored  AutoModelForCausalLM (AutoModel for BERT) with trust_remote_code=True
          kN      the same with every converted layer at top-k N (emoe_layers overridden)
          dense   transformers' own class (the config's architectures without "EMoE", e.g.
                  Qwen2ForCausalLM, BertModel) on the same weights, no remote code: the dense
                  model, since expert order only permutes each FFN's neurons
        and prints JSON per mode: the loaded class, the EMoE modules and top-k found, the
        loading report, and under relative_error[LABEL] the relative Frobenius error of its
        logits (decoders) or last hidden states (encoders) against RUN's `logits` /
        `hidden_states` (written by `emoe-pack run --model`), or against RUN's raw
        little-endian F32 values when RUN ends in .f32 (TinyDecoders' logits.f32).

    hf_oracle.py batch GROUP + GROUP + ...
        runs `compare` on each GROUP (FOLDER IDS CASE...) in one process and prints a JSON list
        of their reports, so that torch and transformers are imported once.
"""

import json
import os
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# Each run gets its own copy of the dynamic modules, so parallel tests do not share one.
os.environ["HF_MODULES_CACHE"] = tempfile.mkdtemp(prefix="emoe-hf-modules-")

import numpy as np  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402


def write_ids(path, vocab, count):
    ids = [(17 + 7919 * i) % vocab for i in range(count)]
    save_file({"input_ids": np.array([ids], dtype=np.int64)}, path)


def load(folder, config, mode):
    """The model of `mode`: "stored" (remote code, the exported top-k), "kN" (remote code at
    top-k N in every converted layer) or "dense" (transformers' own class, no remote code)."""
    import torch
    import transformers
    from transformers import AutoModel, AutoModelForCausalLM

    encoder = config["model_type"] == "emoe_bert"
    overrides = {}
    if mode.startswith("k"):
        top_k = int(mode[1:])
        layers = {key: dict(value, top_k=top_k) for key, value in config["emoe_layers"].items()}
        overrides["emoe_layers"] = layers
    if mode == "dense":
        cls = getattr(transformers, config["architectures"][0].removeprefix("EMoE"))
        return cls.from_pretrained(
            folder, dtype=torch.float32, output_loading_info=True, **overrides
        )
    cls = AutoModel if encoder else AutoModelForCausalLM
    return cls.from_pretrained(
        folder, trust_remote_code=True, dtype=torch.float32, output_loading_info=True, **overrides
    )


def expected_values(path, key, shape):
    """RUN's `key` tensor, or its raw little-endian F32 values for a .f32 file."""
    if path.endswith(".f32"):
        values = np.fromfile(path, dtype="<f4")
    else:
        values = load_file(path)[key]
    return values.astype(np.float64).reshape(shape)


def compare(arguments):
    """The reports of one FOLDER IDS CASE... group (see the module docstring)."""
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    folder, ids_path, cases = arguments[0], arguments[1], arguments[2:]
    with open(os.path.join(folder, "config.json")) as file:
        config = json.load(file)
    encoder = config["model_type"] == "emoe_bert"
    ids = torch.from_numpy(load_file(ids_path)["input_ids"].astype(np.int64)).reshape(1, -1)
    reports = {}
    results = {}
    for case in cases:
        label, mode, path = case.split(":", 2)
        if mode not in results:
            model, info = load(folder, config, mode)
            model.eval()
            with torch.no_grad():
                output = model(input_ids=ids)
            values = (output.last_hidden_state if encoder else output.logits)[0]
            results[mode] = values.double().numpy()
            reports[mode] = {
                "class": type(model).__name__,
                "emoe_modules": [
                    name
                    for name, module in model.named_modules()
                    if type(module).__name__
                    in ("EMoEMLP", "EMoEBertLayer", "EMoEGPTNeoXMLP", "EMoEOPTDecoderLayer")
                ],
                "top_k": sorted(
                    {m.top_k for m in model.modules() if type(m).__name__ == "EMoERouting"}
                ),
                "missing_keys": sorted(info.get("missing_keys", [])),
                "unexpected_keys": sorted(info.get("unexpected_keys", [])),
                "mismatched_keys": [str(item) for item in info.get("mismatched_keys", [])],
                "relative_error": {},
            }
            del model
        values = results[mode]
        expected = expected_values(path, "hidden_states" if encoder else "logits", values.shape)
        error = np.linalg.norm(values - expected) / np.linalg.norm(expected)
        reports[mode]["relative_error"][label] = float(error)
    return reports


def main():
    command = sys.argv[1]
    if command == "ids":
        write_ids(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif command == "tokens":
        ids = [int(token) for token in sys.argv[3].split(",")]
        save_file({"input_ids": np.array([ids], dtype=np.int64)}, sys.argv[2])
    elif command == "compare":
        print(json.dumps(compare(sys.argv[2:])))
    elif command == "batch":
        groups = [[]]
        for argument in sys.argv[2:]:
            if argument == "+":
                groups.append([])
            else:
                groups[-1].append(argument)
        print(json.dumps([compare(group) for group in groups]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
