#!/usr/bin/python3
"""Why Gemma 3's llama.cpp golden differs by ~1e-3: scores what llama.cpp scored with
the float64 torch reference (llm/transformer/scripts/reference.py), once with the
exact tanh GELU and once with llama.cpp's CPU GELU (input rounded to F16, result
read from an F16 table: ggml-cpu/vec.h, GGML_GELU_FP16), and prints the largest
difference to llama.cpp's top-5 log-probs for each.

    sh -c 'cd llm/gguf && GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1 go test -run TestWriteGoldenCheckpoint . \
        -args -golden-checkpoint gemma3_swa8_6layers=/tmp/g3' && /usr/bin/python3 llm/gguf/scripts/gelu_f16.py /tmp/g3 gemma3_swa8_6layers
"""
import json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "transformer", "scripts"))
import torch
import reference

ckpt, name = sys.argv[1], sys.argv[2]
cfg = json.load(open(os.path.join(ckpt, "config.json")))
W = reference.read_safetensors(os.path.join(ckpt, "model.safetensors"))
golden = json.load(open(os.path.join(here, "..", "testdata", f"llamacpp_{name}.json")))
exact = torch.nn.functional.gelu


def gelu_f16(t, approximate="none"):
    x = t.to(torch.float16).to(torch.float64)
    return exact(x, approximate=approximate).to(torch.float16).to(torch.float64)


for mode, fn in (("exact GELU", exact), ("F16 GELU", gelu_f16)):
    torch.nn.functional.gelu = fn
    worst, over, n = 0.0, 0, 0
    for run in golden["runs"]:
        lp = torch.log_softmax(reference.forward(cfg, W, run["prompt"] + run["greedy"]), -1)
        p = len(run["prompt"])
        for s, step in enumerate(run["steps"]):
            for top in step["top"]:
                d = abs(lp[p - 1 + s, top["id"]].item() - top["logprob"])
                worst, over, n = max(worst, d), over + (d > 1e-3), n + 1
    print(f"{name}, reference with {mode}: max |Δ log-prob| vs llama.cpp = {worst:.2e} ({over} of {n} above 1e-3)")
