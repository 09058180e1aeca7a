#!/usr/bin/env python3
"""llama.cpp (llama-cpp-python) speed of GGUF models: prompt and generation tokens per second.

usage: llama_cpp_speed.py [--prompt N] [--generate N] [--runs N] [--threads N] LABEL=MODEL.gguf ...

Per model: the first N tokens of /usr/share/common-licenses/GPL-3 are evaluated in one batch
(prompt tok/s), then N tokens are generated greedily one at a time (generation tok/s); best of
--runs, the cache cleared between runs. Prints one JSON line per model with the 1-minute load
average before its runs.
"""
import argparse
import json
import os
import time

import numpy as np
from llama_cpp import Llama


def measure(path, prompt_tokens, generate, runs, threads):
    llm = Llama(model_path=path, n_ctx=prompt_tokens + generate + 8, n_batch=prompt_tokens,
                n_ubatch=prompt_tokens, n_threads=threads, n_threads_batch=threads,
                verbose=False, seed=0)
    text = open("/usr/share/common-licenses/GPL-3", encoding="utf-8").read()[: prompt_tokens * 12]
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=True)[:prompt_tokens]
    assert len(tokens) == prompt_tokens
    best_prompt, best_generate, generated = 0.0, 0.0, []
    for _ in range(runs):
        llm.reset()
        start = time.perf_counter()
        llm.eval(tokens)
        prompt_rate = len(tokens) / (time.perf_counter() - start)
        out = []
        start = time.perf_counter()
        for _ in range(generate):
            # The last position's logits straight from the context (without logits_all,
            # llama-cpp-python no longer copies them into `scores`).
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
            token = int(np.argmax(logits))
            out.append(token)
            llm.eval([token])
        generate_rate = generate / (time.perf_counter() - start)
        best_prompt, best_generate = max(best_prompt, prompt_rate), max(best_generate, generate_rate)
        generated = out
    return best_prompt, best_generate, llm.detokenize(generated).decode("utf-8", "replace")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt", type=int, default=256)
    parser.add_argument("--generate", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    for spec in args.models:
        label, path = spec.split("=", 1)
        load = os.getloadavg()[0]
        prompt, gen, text = measure(path, args.prompt, args.generate, args.runs, args.threads)
        print(json.dumps({"model": label, "size_mb": round(os.path.getsize(path) / 1e6, 1),
                          "prompt_tok_s": round(prompt, 1), "gen_tok_s": round(gen, 2),
                          "load_1min": round(load, 2), "generated": text[:60]}), flush=True)


if __name__ == "__main__":
    main()
