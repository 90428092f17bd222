#!/usr/bin/env python3
"""Writes a small GPT-2 fixture with PyTorch: a randomly initialised model (seeded) in the three
checkpoint formats TapeGrad reads, a token file, and PyTorch's logits, loss, every gradient and
the losses of 10 AdamW steps, which `tapegrad-conformance --gpt2 DIR` checks.

The model is nanoGPT's GPT-2 (pre-norm blocks, fused causal attention, GELU with the tanh
approximation as GPT-2 and llm.c, the head tied to the token embedding), written out here.
The 10 steps are llm.c's `test_gpt2.c`: the same batch each step, AdamW with lr 1e-4, betas
0.9/0.999, eps 1e-8 and weight decay 0.01 on every parameter.

Files in DIR:
  model.safetensors       nanoGPT names, `nn.Linear` layout [out, in], no `lm_head.weight` (tied)
  hf/model.safetensors    Hugging Face names (no `transformer.` prefix), Conv1D layout [in, out]
  hf/config.json          Hugging Face's GPT-2 config keys
  model.bin               llm.c's checkpoint (header 20240326, version 3, vocabulary padded to 128)
  tokens.bin              llm.c's token file (header 20240520, version 1, uint16 tokens)
  reference.safetensors   inputs, targets [B, T] (int64), logits [B, T, V], loss [], losses [10]
                          and `grad.NAME` for every parameter (nanoGPT names), float32
  fixture.json            the sizes and the optimizer's settings
"""
import argparse
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file


class Attention(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.H = H

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.c_fc = nn.Linear(C, 4 * C)
        self.c_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.attn = Attention(C, H)
        self.ln_2 = nn.LayerNorm(C)
        self.mlp = MLP(C)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, V, maxT, L, H, C):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(V, C), wpe=nn.Embedding(maxT, C),
            h=nn.ModuleList([Block(C, H) for _ in range(L)]), ln_f=nn.LayerNorm(C)))
        self.lm_head = nn.Linear(C, V, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * L))
            elif name.endswith(".weight") and p.dim() == 2:
                nn.init.normal_(p, std=0.02)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
        # LayerNorm weights stay 1; give them and the biases some spread so that a wrong
        # gradient of either cannot hide behind a constant.
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() == 1:
                    p.add_(0.1 * torch.randn_like(p))

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        return logits, F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


LLMC_ORDER = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
              "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
              "mlp.c_proj.weight", "mlp.c_proj.bias"]
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def write_llmc_checkpoint(path, sd, V, maxT, L, H, C):
    Vp = (V + 127) // 128 * 128
    header = [20240326, 3, maxT, V, L, H, C, Vp] + [0] * 248
    wte = torch.zeros(Vp, C)
    wte[:V] = sd["transformer.wte.weight"]
    tensors = [wte, sd["transformer.wpe.weight"]]
    for name in LLMC_ORDER:
        tensors += [sd[f"transformer.h.{i}.{name}"] for i in range(L)]
    tensors += [sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"]]
    with open(path, "wb") as fh:
        fh.write(struct.pack("<256i", *header))
        for t in tensors:
            fh.write(t.detach().float().contiguous().numpy().tobytes())


def write_tokens(path, tokens):
    with open(path, "wb") as fh:
        fh.write(struct.pack("<256i", *([20240520, 1, len(tokens)] + [0] * 253)))
        fh.write(torch.tensor(tokens, dtype=torch.int32).numpy().astype("<u2").tobytes())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--out", default=os.path.join(here, "..", "Tests", "TapeGradTests", "Resources", "gpt2-fixture"))
    p.add_argument("--seed", type=int, default=2015)
    p.add_argument("--vocab", type=int, default=256)
    p.add_argument("--ctx", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--embd", type=int, default=64)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=32)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    V, maxT, L, H, C, B, T = args.vocab, args.ctx, args.layers, args.heads, args.embd, args.batch, args.seq
    model = GPT(V, maxT, L, H, C)
    os.makedirs(os.path.join(args.out, "hf"), exist_ok=True)

    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    nano = {k: v for k, v in sd.items() if k != "lm_head.weight"}
    save_file(nano, os.path.join(args.out, "model.safetensors"))
    hf = {}
    for k, v in nano.items():
        name = k[len("transformer."):]
        hf[name] = v.t().contiguous() if name.endswith(CONV1D) else v
    save_file(hf, os.path.join(args.out, "hf", "model.safetensors"))
    with open(os.path.join(args.out, "hf", "config.json"), "w") as fh:
        json.dump({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": V, "n_positions": maxT,
                   "n_ctx": maxT, "n_embd": C, "n_layer": L, "n_head": H, "activation_function": "gelu_new",
                   "layer_norm_epsilon": 1e-5}, fh, indent=2)
        fh.write("\n")
    write_llmc_checkpoint(os.path.join(args.out, "model.bin"), sd, V, maxT, L, H, C)

    g = torch.Generator().manual_seed(args.seed + 1)
    tokens = torch.randint(0, V, (16 * B * T + 1,), generator=g).tolist()
    write_tokens(os.path.join(args.out, "tokens.bin"), tokens)
    batch = torch.tensor(tokens[:B * T + 1])
    inputs, targets = batch[:-1].view(B, T), batch[1:].view(B, T)

    logits, loss = model(inputs, targets)
    loss.backward()
    reference = {"inputs": inputs, "targets": targets, "logits": logits.detach().contiguous(), "loss": loss.detach()}
    for name, param in model.named_parameters():
        reference[f"grad.{name}"] = param.grad.detach().clone()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    model.zero_grad()
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        _, step_loss = model(inputs, targets)
        step_loss.backward()
        optimizer.step()
        losses.append(step_loss.item())
    reference["losses"] = torch.tensor(losses)
    save_file({k: v.clone().contiguous() for k, v in reference.items()}, os.path.join(args.out, "reference.safetensors"))
    with open(os.path.join(args.out, "fixture.json"), "w") as fh:
        json.dump({"generator": f"scripts/make-gpt2-fixture.py --seed {args.seed} (PyTorch {torch.__version__.split('+')[0]})",
                   "vocab": V, "ctx": maxT, "layers": L, "heads": H, "embd": C, "batch": B, "seq": T,
                   "optimizer": {"name": "AdamW", "lr": 1e-4, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01, "steps": 10},
                   "losses": losses}, fh, indent=2)
        fh.write("\n")
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(args.out) for f in fs)
    print(f"loss {loss.item():.6f}, 10 AdamW losses {losses[0]:.6f} .. {losses[-1]:.6f} -> {args.out} ({size // 1024} KiB)")


if __name__ == "__main__":
    main()
