#!/usr/bin/python3
"""dpo.py times one DPO step and one forward pass in PyTorch, the anchor of
bench/dpo/run.sh: a Qwen2 decoder (q/k/v biases, grouped-query attention,
rotate-half RoPE, SwiGLU, RMSNorm, tied embeddings) with the shapes that
`go run ./bench/dpo -config` prints on stdin, random weights, the same batch
(micro-batch × accumulation pairs of prompt + response tokens), sigmoid DPO
loss with beta 0.1 and torch.optim.AdamW (lr 1e-6, weight decay 0.01).

    go run ./bench/dpo -config | OPENBLAS_NUM_THREADS=2 \
        LD_PRELOAD=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 /usr/bin/python3 bench/dpo/dpo.py 3

Prints the BLAS library mapped into the process (Debian's torch calls the
system libblas.so.3: the reference BLAS unless OpenBLAS is preloaded or
selected with update-alternatives) and one line per measurement: medians
of wall and CPU seconds over the timed repetitions, after an untimed one.
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

THREADS = int(os.environ.get("TORCH_THREADS", "2"))


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        h, d = c["hidden_size"], c["head_dim"]
        self.nh, self.nkv, self.d = c["num_attention_heads"], c["num_key_value_heads"], d
        self.eps = c["rms_norm_eps"]
        self.ln1 = torch.nn.Parameter(torch.ones(h))
        self.ln2 = torch.nn.Parameter(torch.ones(h))
        self.q = torch.nn.Linear(h, self.nh * d)
        self.k = torch.nn.Linear(h, self.nkv * d)
        self.v = torch.nn.Linear(h, self.nkv * d)
        self.o = torch.nn.Linear(self.nh * d, h, bias=False)
        i = c["intermediate_size"]
        self.gate = torch.nn.Linear(h, i, bias=False)
        self.up = torch.nn.Linear(h, i, bias=False)
        self.down = torch.nn.Linear(i, h, bias=False)

    def norm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def forward(self, x, cos, sin, bias):
        b, s, _ = x.shape
        y = self.norm(x, self.ln1)
        q = self.q(y).view(b, s, self.nh, self.d).transpose(1, 2)
        k = self.k(y).view(b, s, self.nkv, self.d).transpose(1, 2)
        v = self.v(y).view(b, s, self.nkv, self.d).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if self.nkv != self.nh:
            k = k.repeat_interleave(self.nh // self.nkv, dim=1)
            v = v.repeat_interleave(self.nh // self.nkv, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / self.d**0.5 + bias, dim=-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, s, self.nh * self.d))
        y = self.norm(x, self.ln2)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rot * sin


class Qwen2(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = torch.nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = torch.nn.ModuleList(Block(c) for _ in range(c["num_hidden_layers"]))
        self.ln = torch.nn.Parameter(torch.ones(c["hidden_size"]))
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, tokens):
        s, d = tokens.shape[1], self.c["head_dim"]
        inv = 1.0 / self.c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float32) / d)
        ang = torch.outer(torch.arange(s, dtype=torch.float32), inv)
        ang = torch.cat((ang, ang), dim=-1)
        cos, sin = ang.cos(), ang.sin()
        bias = torch.full((s, s), float("-inf")).triu(1)
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x, cos, sin, bias)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c["rms_norm_eps"]) * self.ln
        return x @ self.embed.weight.t()


def seq_logps(model, tokens, mask):
    logp = torch.log_softmax(model(tokens)[:, :-1], dim=-1)
    tok = logp.gather(-1, tokens[:, 1:].unsqueeze(-1)).squeeze(-1)
    return (tok * mask[:, 1:]).sum(-1)


def main():
    c = json.load(sys.stdin)
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    torch.set_num_threads(THREADS)
    torch.manual_seed(1)
    blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line and "/" in line})
    print("blas", ",".join(blas) or "none", "threads", torch.get_num_threads())
    model = Qwen2(c)
    params = sum(p.numel() for p in model.parameters())
    print("params", params)
    mb, accum, pl, rl, v = c["micro_batch"], c["accum"], c["prompt_len"], c["response_len"], c["vocab_size"]
    s = pl + rl
    mask = torch.zeros(2 * mb, s)
    mask[:, pl:] = 1
    ref = torch.full((mb,), -8.0 * rl)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.01)

    def step():
        for _ in range(accum):
            tokens = torch.randint(0, v, (2 * mb, s))  # [chosen; rejected]
            lp = seq_logps(model, tokens, mask)
            x = (lp[:mb] - lp[mb:]) - (ref - ref)
            loss = -F.logsigmoid(0.1 * x).mean() / accum
            loss.backward()
        opt.step()
        opt.zero_grad()

    fwd_tokens = torch.randint(0, v, (2 * mb * accum, s))
    fwd_mask = torch.zeros(2 * mb * accum, s)
    fwd_mask[:, pl:] = 1

    def forward():
        with torch.no_grad():
            seq_logps(model, fwd_tokens, fwd_mask)

    for name, fn in (("dpo_step", step), ("forward", forward)):
        wall, cpu = [], []
        for i in range(1 + reps):
            w, t = time.perf_counter(), time.process_time()
            fn()
            if i > 0:
                wall.append(time.perf_counter() - w)
                cpu.append(time.process_time() - t)
        print(f"{name} wall {statistics.median(wall):.4f} cpu {statistics.median(cpu):.4f}")


main()
