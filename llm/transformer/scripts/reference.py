#!/usr/bin/python3
"""Independent reference forward pass of Qwen2/Qwen3/Llama/Mistral/Gemma 3 decoders in plain torch.

Re-implements the math of Hugging Face's modeling_qwen2.py / modeling_qwen3.py /
modeling_llama.py / modeling_mistral.py / modeling_gemma3.py (RMSNorm, Gemma's
(1 + w) RMSNorm, rotate-half RoPE with llama3 or linear scaling, grouped-query
attention with optional q/k/v bias, per-head q/k norms, sliding-window layers with
their own RoPE base, SwiGLU or GeGLU, Gemma's extra norms, embedding scale and
query scaling, tied or untied lm_head) without the transformers library. Reads a checkpoint folder written by refeval (config.json +
model.safetensors, header parsed here) and sequences.json next to it, and
writes the logits of every sequence as JSON.

Usage: /usr/bin/python3 reference.py CHECKPOINT_DIR OUT.json
(see golden_test.go: go test ./llm/transformer -run TestGolden -write-checkpoints DIR)
"""
import json, math, struct, sys

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info["dtype"]
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy()).reshape(info["shape"])
    return out


def inv_freq(cfg, head_dim, theta=None, scaling=True):
    theta = cfg["rope_theta"] if theta is None else theta
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    rs = cfg.get("rope_scaling") if scaling else None
    if rs and rs.get("rope_type", rs.get("type")) == "linear":
        return inv / rs["factor"]
    if rs:
        assert rs.get("rope_type", rs.get("type")) == "llama3"
        factor, low, high, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wl = 2 * math.pi / inv
        scaled = torch.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wl >= high_wl) & (wl <= low_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rms_norm(x, w, eps, gemma=False):
    var = x.pow(2).mean(-1, keepdim=True)
    return (1 + w if gemma else w) * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def sliding_layers(cfg):
    arch = cfg["architectures"][0]
    n = cfg["num_hidden_layers"]
    if arch == "Gemma3ForCausalLM":
        if cfg.get("layer_types"):
            return [t == "sliding_attention" for t in cfg["layer_types"]]
        p = cfg.get("sliding_window_pattern", 6)
        return [(i + 1) % p != 0 for i in range(n)]
    if arch == "MistralForCausalLM" and cfg.get("sliding_window"):
        return [True] * n
    return [False] * n


def forward(cfg, W, tokens):
    """tokens: list of ints (one unpadded sequence) -> logits [seq, vocab] (float64)."""
    arch = cfg["architectures"][0]
    gemma = arch == "Gemma3ForCausalLM"
    H = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // nh
    eps = cfg["rms_norm_eps"]
    bias = arch == "Qwen2ForCausalLM" or cfg.get("attention_bias", False)
    qk_norm = arch in ("Qwen3ForCausalLM", "Gemma3ForCausalLM")
    sliding = sliding_layers(cfg)
    window = cfg.get("sliding_window") or 0
    scale = (cfg.get("query_pre_attn_scalar") or hd) ** -0.5 if gemma else hd ** -0.5
    # Compute in float64 so the reference is more precise than the code under test.
    W = {k: v.double() for k, v in W.items()}
    ids = torch.tensor(tokens)
    S = len(tokens)
    x = W["model.embed_tokens.weight"][ids]
    if gemma:
        x = x * math.sqrt(H)
    pos = torch.arange(S, dtype=torch.float64)

    def cos_sin(inv):
        freqs = torch.outer(pos, inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[None], emb.sin()[None]  # [1, S, hd]

    rope_global = cos_sin(inv_freq(cfg, hd))
    rope_local = cos_sin(inv_freq(cfg, hd, cfg.get("rope_local_base_freq"), scaling=False)) if gemma else rope_global
    qi = torch.arange(S)[:, None]
    ki = torch.arange(S)[None, :]
    causal = ki <= qi
    local_mask = causal & (qi - ki < window) if window else causal
    gelu = lambda t: torch.nn.functional.gelu(t, approximate="tanh")
    act = gelu if gemma else torch.nn.functional.silu
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        cos, sin = rope_local if sliding[l] else rope_global
        mask = local_mask if sliding[l] else causal
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps, gemma)
        def proj(name):
            y = h @ W[p + f"self_attn.{name}.weight"].T
            if bias:
                y = y + W[p + f"self_attn.{name}.bias"]
            return y
        q = proj("q_proj").view(S, nh, hd)
        k = proj("k_proj").view(S, nkv, hd)
        v = proj("v_proj").view(S, nkv, hd).transpose(0, 1)
        if qk_norm:
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps, gemma)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps, gemma)
        q, k = q.transpose(0, 1), k.transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)
        scores = (q @ k.transpose(1, 2)) * scale
        scores = scores.masked_fill(~mask, float("-inf"))
        attn = torch.softmax(scores, dim=-1) @ v  # [nh, S, hd]
        attn = attn.transpose(0, 1).reshape(S, nh * hd)
        a = attn @ W[p + "self_attn.o_proj.weight"].T
        if bias and arch != "Qwen2ForCausalLM":  # attention_bias covers o_proj too, except in Qwen2
            a = a + W[p + "self_attn.o_proj.bias"]
        if gemma:
            x = x + rms_norm(a, W[p + "post_attention_layernorm.weight"], eps, True)
            h = rms_norm(x, W[p + "pre_feedforward_layernorm.weight"], eps, True)
        else:
            x = x + a
            h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        gate = h @ W[p + "mlp.gate_proj.weight"].T
        up = h @ W[p + "mlp.up_proj.weight"].T
        m = (act(gate) * up) @ W[p + "mlp.down_proj.weight"].T
        if gemma:
            m = rms_norm(m, W[p + "post_feedforward_layernorm.weight"], eps, True)
        x = x + m
    x = rms_norm(x, W["model.norm.weight"], eps, gemma)
    tied = cfg.get("tie_word_embeddings", gemma)
    head = W["model.embed_tokens.weight"] if tied else W["lm_head.weight"]
    return x @ head.T


def main():
    ckpt, out = sys.argv[1], sys.argv[2]
    cfg = json.load(open(f"{ckpt}/config.json"))
    W = read_safetensors(f"{ckpt}/model.safetensors")
    seqs = json.load(open(f"{ckpt}/sequences.json"))
    res = {"sequences": seqs, "logits": []}
    for s in seqs:
        logits = forward(cfg, W, s)
        res["logits"].append([[float("%.7g" % v) for v in row] for row in logits.tolist()])
    with open(out, "w") as f:
        json.dump(res, f)
        f.write("\n")


if __name__ == "__main__":
    main()
