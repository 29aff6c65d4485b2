#!/usr/bin/python3
"""Regenerates testdata/dpo_golden.json: preference losses and their
gradients computed by PyTorch (Debian's python3-torch), the reference that
loss_test.go checks llm/train's GoMLX graph against.

Run from llm/train:  /usr/bin/python3 scripts/dpo_golden.py > testdata/dpo_golden.json

The loss formulas are TRL's DPOTrainer.dpo_loss for loss_type sigmoid (with
label smoothing), ipo and hinge, and reference_free (reference log-probs
taken as 0). The loss is the mean over pairs; gradients are of that mean.
"""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(4)
N = 6


def loss_fn(kind, beta, eps, pc, pr, rc, rr):
    if kind == "reference_free":
        rc, rr = torch.zeros_like(rc), torch.zeros_like(rr)
        kind = "sigmoid"
    x = (pc - pr) - (rc - rr)
    if kind == "sigmoid":
        return -F.logsigmoid(beta * x) * (1 - eps) - F.logsigmoid(-beta * x) * eps
    if kind == "ipo":
        return (x - 1 / (2 * beta)) ** 2
    if kind == "hinge":
        return torch.relu(1 - beta * x)
    raise ValueError(kind)


def grad(t):
    """The gradient of t, zeros where the loss does not depend on it."""
    return (t.grad if t.grad is not None else torch.zeros_like(t)).tolist()


cases = [
    ("sigmoid", 0.1, 0.0),
    ("sigmoid", 0.01, 0.0),
    ("sigmoid", 0.5, 0.1),
    ("ipo", 0.1, 0.0),
    ("ipo", 0.5, 0.0),
    ("hinge", 0.1, 0.0),
    ("hinge", 0.5, 0.0),
    ("reference_free", 0.1, 0.0),
]
out = []
for kind, beta, eps in cases:
    # Summed log-probs of a few dozen tokens: negative, tens of nats apart.
    vals = [(-40 * torch.rand(N, dtype=torch.float64) - 5).requires_grad_() for _ in range(4)]
    pc, pr, rc, rr = vals
    losses = loss_fn(kind, beta, eps, pc, pr, rc, rr)
    loss = losses.mean()
    loss.backward()
    out.append({
        "loss_type": kind,
        "beta": beta,
        "label_smoothing": eps,
        "policy_chosen": pc.tolist(),
        "policy_rejected": pr.tolist(),
        "reference_chosen": rc.tolist(),
        "reference_rejected": rr.tolist(),
        "losses": losses.tolist(),
        "loss": loss.item(),
        "grad_policy_chosen": grad(pc),
        "grad_policy_rejected": grad(pr),
        "grad_reference_chosen": grad(rc),
        "grad_reference_rejected": grad(rr),
    })
print(json.dumps({"torch_version": torch.__version__, "cases": out}, indent=1))
