"""Oracles for the GGUF export of a Qwen2 safetensors checkpoint (llama.cpp's `llama`), independently
of emoe-pack.

usage:
  qwen2_gguf.py fixture FOLDER
      completes the tiny Qwen2 that TinyDecoders made in FOLDER (config.json, model.safetensors,
      logits.f32): writes a Qwen2-style tokenizer.json made by the `tokenizers` package (NFC
      normaliser, Qwen2's Split pattern, ByteLevel without regex; 86 tokens, 10 fewer than the
      model's 96 embedding rows, as Qwen2's embedding is larger than its vocabulary),
      tokenizer_config.json, ids.safetensors (the logits' token ids, input_ids [N] I32) and
      hf_logits.safetensors (transformers' float64 logits as `logits` [N, V] F32).
  qwen2_gguf.py tensors MODEL.gguf FOLDER
      reads the GGUF with gguf-py and checks every layer's attention against the checkpoint with
      numpy: attn_q/attn_k weights and biases equal the checkpoint's rows permuted per head as
      convert_hf_to_gguf.py permutes them, attn_v bias equals the checkpoint's as it is.
  qwen2_gguf.py compare MODEL.gguf FOLDER REFERENCE.safetensors
      llama.cpp's logits for FOLDER/ids.safetensors (one batch, one thread, F32 KV cache, so the
      only rounding is llama.cpp's F32 arithmetic) against REFERENCE's `logits` [N, V] (an
      `emoe-pack run --model` output, or FOLDER/hf_logits.safetensors): the largest difference
      relative to the reference's range, the smallest per-token cosine, argmax agreement.
  qwen2_gguf.py tokenize MODEL.gguf FOLDER TEXT
      token ids of TEXT from llama.cpp (the GGUF's vocabulary) and from the `tokenizers` package
      (FOLDER/tokenizer.json).

Prints one JSON object on the last line of stdout, with "ok".
"""
import json
import os
import sys

import numpy as np

# Qwen2's split pattern, as its tokenizer.json spells it (LLaMA 3's with single digits).
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
         r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def fixture(folder):
    from safetensors.numpy import save_file
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers
    from tokenizers.pre_tokenizers import ByteLevel

    config = json.load(open(os.path.join(folder, "config.json")))
    rows = config["vocab_size"]
    byte_char = ByteLevel.alphabet()
    # The byte-level characters of space, newline, digits, lower-case letters and some
    # punctuation (ByteLevel maps each byte to one printable character, space to 'Ġ').
    table = {b: c for b, c in zip(range(256), _bytes_to_unicode())}
    base = [table[b] for b in b" \n0123456789abcdefghijklmnopqrstuvwxyz.,!?'-"]
    assert all(c in byte_char for c in base)
    merges = [("1", "2"), ("h", "e"), ("Ġ", "t"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"),
              ("e", "r"), ("o", "n"), ("Ġ", "s"), ("e", "n"), ("a", "t"), ("o", "r"),
              ("Ġ", "c"), ("e", "s"), ("Ġ", "w"), ("a", "n"), ("Ġ", "p"), ("i", "s"),
              ("r", "e"), ("Ġ", "f"), ("a", "l"), ("Ġ", "o"), ("Ġ", "b"), ("Ġ", "in"),
              ("e", "d"), ("Ġ", "m"), ("i", "t"), ("o", "u"), ("Ġ", "d"), ("e", "e"),
              ("Ġs", "he"), ("Ġshe", "e"), ("Ġshee", "p"), ("Ġthe", "n"), ("Ġ", "1"),
              ("Ġ", "2"), ("2", "0"), ("4", "5"), ("Ġ", "Ġ"), ("Ċ", "Ċ")]
    vocab = {c: i for i, c in enumerate(base)}
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    specials = ["<|endoftext|>", "<|im_start|>"]
    assert len(vocab) + len(specials) < rows, (len(vocab), rows)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tok.save(os.path.join(folder, "tokenizer.json"))
    json.dump({"bos_token": None, "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
               "add_bos_token": False},
              open(os.path.join(folder, "tokenizer_config.json"), "w"))
    tokens = [3, 17, 42, 5, 88, 23, 61, 9, 14, 70]
    logits = np.fromfile(os.path.join(folder, "logits.f32"), dtype="<f4").reshape(len(tokens), -1)
    save_file({"input_ids": np.asarray(tokens, dtype=np.int32)},
              os.path.join(folder, "ids.safetensors"))
    save_file({"logits": np.ascontiguousarray(logits)}, os.path.join(folder, "hf_logits.safetensors"))
    print(json.dumps({"ok": True, "tokens": len(vocab) + len(specials), "rows": rows}))


def _bytes_to_unicode():
    """GPT-2's byte → printable character table (the one ByteLevel uses), in byte order."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def permute(rows, heads):
    """convert_hf_to_gguf.py's LlamaModel.permute: per head, row 2i + j ← row j·hd/2 + i."""
    shape = rows.shape
    return (rows.reshape(heads, 2, shape[0] // heads // 2, *shape[1:])
            .swapaxes(1, 2).reshape(shape))


def tensors(model, folder):
    import gguf
    from safetensors.numpy import load_file

    config = json.load(open(os.path.join(folder, "config.json")))
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    hf = load_file(os.path.join(folder, "model.safetensors"))
    reader = gguf.GGUFReader(model)
    stored = {t.name: np.asarray(t.data) for t in reader.tensors}
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    pre = bytes(reader.fields["tokenizer.ggml.pre"].parts[-1]).decode()
    checked, failures = 0, []
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}.self_attn."
        for gguf_name, hf_name, count in [
                ("attn_q.weight", "q_proj.weight", heads), ("attn_k.weight", "k_proj.weight", kv),
                ("attn_q.bias", "q_proj.bias", heads), ("attn_k.bias", "k_proj.bias", kv),
                ("attn_v.bias", "v_proj.bias", None)]:
            name = f"blk.{layer}.{gguf_name}"
            if name not in stored:
                failures.append(f"{name} missing")
                continue
            want = hf[prefix + hf_name].astype(np.float32)
            want = permute(want, count) if count else want
            got = stored[name].reshape(want.shape)
            if not np.array_equal(got, want):
                failures.append(f"{name} differs by {float(np.abs(got - want).max())}")
            # The permutation moves rows: the bias as stored in the checkpoint must differ.
            if count and gguf_name.endswith("bias") and np.array_equal(got, hf[prefix + hf_name]):
                failures.append(f"{name} is not permuted")
            checked += 1
    print(json.dumps({"ok": not failures, "architecture": arch, "pre": pre, "checked": checked,
                      "failures": failures, "tensors": len(stored)}))


def compare(model, folder, reference):
    from llama_cpp import Llama
    from safetensors.numpy import load_file

    ids = load_file(os.path.join(folder, "ids.safetensors"))["input_ids"].astype(np.int64)
    n = len(ids)
    llm = Llama(model_path=model, logits_all=True, n_ctx=64, n_batch=n, n_ubatch=n, n_threads=1,
                n_threads_batch=1, type_k=0, type_v=0, verbose=False)
    llm.eval(ids.tolist())
    got = np.array(llm.scores[:n], dtype=np.float64)
    want = load_file(reference)["logits"].astype(np.float64).reshape(n, -1)
    assert got.shape == want.shape, (got.shape, want.shape)
    cosine = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    print(json.dumps({
        "ok": bool(np.isfinite(got).all()),
        "relative": float(np.abs(got - want).max() / (want.max() - want.min())),
        "cosine_min": float(cosine.min()),
        "argmax_agreement": float((got.argmax(1) == want.argmax(1)).mean())}))


def tokenize(model, folder, text):
    from llama_cpp import Llama
    from tokenizers import Tokenizer

    llm = Llama(model_path=model, vocab_only=True, verbose=False)
    ours = llm.tokenize(text.encode(), add_bos=False, special=False)
    theirs = Tokenizer.from_file(os.path.join(folder, "tokenizer.json")).encode(
        text, add_special_tokens=False).ids
    print(json.dumps({"ok": ours == theirs, "llama_cpp": ours, "tokenizers": theirs}))


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"fixture": fixture, "tensors": tensors, "compare": compare, "tokenize": tokenize}[command](*arguments)
