#!/usr/bin/env python3
"""Writes TapeGrad's differential reference: PyTorch's results for every op of the conformance
table (Sources/TapeGradConformance/OpTable.swift) on random shapes, checked by
`swift run tapegrad-conformance Tests/TapeGradTests/Resources/differential-reference.json`
(CI, .ci/run) and by DifferentialReferenceTests.

    python3 scripts/make-differential-reference.py [--seed 2015] [--out PATH]

Needs torch (PyTorch 2.15); seeded and deterministic (same torch, same file). Per op:
  * float64 cases on random shapes (broadcast pairs, 0-dim and size-0 tensors where the op
    allows them): the output, the gradients for a random upstream `u` (autograd.grad of
    out·u), and a Hessian-vector product: for random `v` (one per input that requires grad),
    the gradient of Σ <grad(out·u, inputs), v> with respect to each input (create_graph=True);
  * float32 cases: output and gradients only;
  * error cases: bad inputs, with the Python exception's class name and str() exactly;
  * mutants: a valid float64 case of every op with one random change (an input's shape, a
    size-0 or 0-dim input, a float input made bool or a bool one float, an out-of-range or
    perturbed argument), recorded as PyTorch answers: its error, or its output and gradients.
    They find the inputs TapeGrad accepts where PyTorch raises, and the reverse, without a
    list written by hand.
Gradients PyTorch leaves undefined (None) are written as zeros: the file
checks values, not which graph edges exist. Non-finite numbers are the strings "NaN",
"Infinity", "-Infinity". The format is documented on DifferentialSuite
(Sources/TapeGradConformance/Differential.swift).
"""
import argparse, json, math, os, random, sys

import warnings

import torch
import torch.nn.functional as F

FORMAT = "tapegrad-differential-1"
# float16 and bfloat16: about four units in the last place (PyTorch rounds after each of its
# backward's ops, TapeGrad after each of its own, which are not always the same ops).
TOLERANCES = {"float64": {"atol": 1e-8, "rtol": 1e-6}, "float32": {"atol": 1e-5, "rtol": 1e-4},
              "float16": {"atol": 1e-3, "rtol": 4e-3}, "bfloat16": {"atol": 8e-3, "rtol": 3.2e-2}}
N_FLOAT64 = 8   # random float64 cases per op (the first ones on the edge shapes an op allows: 0-dim, size-0)
N_FLOAT32 = 4   # float32 cases per op (the same kinds of shapes)
N_MUTANTS = 12  # mutants per op (see `mutate`)

# Cases where TapeGrad disagrees with PyTorch and that are therefore left out of the vendored
# file, each with the reason; `known_differences` in the file lists them too (nothing is dropped
# silently). Names are `OP#k` / `OP#f32-k` / `OP#err-k` as generated below.
# An entry names a case and why it differs; remove an entry when TapeGrad matches, and
# regenerate. Mutants whose PyTorch result has a dtype TapeGrad lacks are left out by
# `run_mutant` (with that reason), not listed here.
KNOWN_DIFFERENCES = {
    # A 0-dim target of an empty [0, C, d] input: PyTorch's nll_loss_nd fails inside ATen
    # ("ArrayRef: invalid slice, N = 1; size = 0"); TapeGrad names the size mismatch.
    "nll_loss_tensor#mut-8": "PyTorch fails with an internal ArrayRef error; TapeGrad says \"Expected target size [0, 2], got []\"",
    # PyTorch's 2-byte layer-norm backward forms dx = a·dy·w + b·x + c from terms near 1 in
    # the 2-byte type, so a small dx keeps their rounding error (about 1e-3 in float16, 0.1
    # in bfloat16). TapeGrad computes the row in float32 and rounds once: it matches float64
    # (ReducedPrecisionTests checks it against TapeGrad's float64, which matches PyTorch's).
    # Several indices out of range: PyTorch reports the one its TensorIterator reaches first in
    # its own loop order, TapeGrad the first in row-major order.
    "gather#int32-1": "PyTorch reports index -1 (its loop order), TapeGrad index -2 (the first in row-major order)",
    "layer_norm#float16": "PyTorch's float16 backward gives x's gradient -0.00613 where float64 (and TapeGrad) give -0.00722",
    "layer_norm#bfloat16": "PyTorch's bfloat16 backward gives x's gradient -0.0273 where float64 (and TapeGrad) give -0.1239",
}

INF = math.inf

# Ops PyTorch differentiates once (its fused attention's backward has no derivative): their
# float64 cases have no Hessian-vector product, except those that take the math path (k = 1)
# and the mask that requires grad (always the math path).
ONCE_OPS = {"sdpa", "sdpa_causal", "sdpa_scale", "sdpa_mask", "sdpa_float_mask", "sdpa_gqa"}

# Ops whose result for equal values is the kernel's choice (topk's indices).
TIE_ORDER_OPS = {"topk_indices"}


# ---------------------------------------------------------------------------------------------
# Random inputs

class Gen:
    """Shapes from Python's `random`, values from a torch generator, both seeded."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.g = torch.Generator().manual_seed(seed)

    def size(self, lo=1, hi=4):
        return self.r.randint(lo, hi)

    def shape(self, rank_lo=1, rank_hi=3, lo=1, hi=4):
        return [self.size(lo, hi) for _ in range(self.r.randint(rank_lo, rank_hi))]

    def values(self, shape, kind="any"):
        """Values rounded to 4 decimals (short in JSON, exact on both sides). kind: any,
        positive (0.5 + |x|), nonzero (|x| ≥ 0.3), kinkfree (no value within 1e-2 of 0 or ±0.5),
        distinct (no two values within 1e-3: max/amax have a unique argmax)."""
        x = torch.randn(shape, generator=self.g, dtype=torch.float64)
        if kind == "positive":
            x = x.abs() + 0.5
        elif kind == "nonzero":
            x = torch.where(x.abs() < 0.3, x.sign() * 0.3 + x, x)
            x = torch.where(x == 0, torch.full_like(x, 0.7), x)
        elif kind == "kinkfree":
            for k in (0.0, 0.5, -0.5):
                near = (x - k).abs() < 1e-2
                x = torch.where(near, x + 0.05, x)
        elif kind == "distinct":
            n = x.numel()
            if n:
                perm = torch.randperm(n, generator=self.g).to(torch.float64)
                x = (perm / n * 4 - 2 + (torch.rand(n, generator=self.g, dtype=torch.float64) * 1e-4)).reshape(shape)
        return torch.round(x, decimals=4)

    def mask(self, shape):
        return torch.rand(shape, generator=self.g) < 0.5

    def integers(self, shape, dtype=torch.int64):
        """Small integers, -3 to 3: class indices, counts, and values whose products stay exact."""
        return torch.randint(-3, 4, shape, generator=self.g).to(dtype)

    def broadcast_pair(self, rank_hi=3, allow_empty=False):
        """Two shapes that broadcast: b drops leading dims of a and sets some to 1; maybe swapped."""
        a = self.shape(1, rank_hi, lo=0 if allow_empty else 1)
        b = a[self.r.randint(0, len(a)):] if self.r.random() < 0.5 else list(a)
        b = [1 if self.r.random() < 0.4 else s for s in b]
        if self.r.random() < 0.3:
            a = [1 if self.r.random() < 0.3 else s for s in a]
        return (a, b) if self.r.random() < 0.5 else (b, a)


# ---------------------------------------------------------------------------------------------
# Ops: name -> (fn(*inputs, **kwargs), builder(gen, k) -> (inputs, kwargs)).
# An input is (tensor, requires_grad). kwargs spell what OpTable.swift reads (its defaults are
# the fixed arguments of ops-reference.json).

def el(shape_fn=None, kind="any"):
    """Unary elementwise: random shapes, and 0-dim / size-0 among the first cases."""
    def build(G, k):
        if k == 0:
            shape = []
        elif k == 1:
            shape = [G.size(1, 3), 0]
        else:
            shape = G.shape(1, 3)
        return [(G.values(shape, kind), True)], {}
    return build


def binary_broadcast(kind_b="any"):
    def build(G, k):
        if k == 0:
            sa, sb = [], G.shape(1, 2)
        elif k == 1:
            sa, sb = [G.size(1, 3), 0], [G.size(1, 1)]
        elif k == 2:
            sa, sb = G.shape(2, 3), []
        else:
            sa, sb = G.broadcast_pair()
        return [(G.values(sa), True), (G.values(sb, kind_b), True)], {}
    return build


def without_grad(build):
    """A builder's inputs, none requiring grad (ops PyTorch has no derivative for)."""
    def wrapped(G, k):
        inputs, kwargs = build(G, k)
        return [(x, False) for x, _ in inputs], kwargs
    return wrapped


def integer_pair(G, k):
    """Two broadcasting int64 operands (the shapes of binary_broadcast)."""
    inputs, kwargs = binary_broadcast()(G, k)
    return [(G.integers(list(x.shape)), False) for x, _ in inputs], kwargs


def shift_pair(G, k):
    """An int64 tensor and shift counts 0 to 3."""
    (a, _), (b, _) = integer_pair(G, k)[0]
    return [(a, False), (b.abs(), False)], {}


def inplace_pair_build(kind_b="any"):
    """A target (cloned before the in-place op, so the leaf stays untouched) and an operand
    that broadcasts to the target's shape."""
    def build(G, k):
        if k == 0:
            sa, sb = [], []
        elif k == 1:
            sa, sb = [G.size(1, 3), 0], [1]
        elif k == 2:
            sa, sb = G.shape(2, 3), []
        else:
            sa = G.shape(1, 3)
            sb = [1 if G.r.random() < 0.4 else size for size in sa[G.r.randint(0, len(sa)):]]
        return [(G.values(sa), True), (G.values(sb, kind_b), True)], {}
    return build


def setitem_build(G, k):
    """A target, a row index and a value that broadcasts to the row."""
    inputs, kw = index_build(G, k)
    row = list(inputs[0][0].shape[1:])
    value = row[G.r.randint(0, len(row)):] if row and G.r.random() < 0.5 else []
    return inputs + [(G.values(value), True)], kw


def setitem(a, b, index):
    x = a.clone()
    x[index] = b
    return x


def masked_fill_tensor_build(G, k):
    inputs, kw = masked_fill_build(G, k)
    return inputs + [(G.values([]), True)], kw


def pow_tensor_build(G, k):
    sa, sb = ([], [3]) if k == 0 else G.broadcast_pair()
    return [(G.values(sa, "positive"), True), (G.values(sb), True)], {}


def reduce_build(dim_default, keepdim_default, kind="any", allow_empty=True, dims=False):
    """A reduction over a random dim (kwargs dim/keepdim), or a list of dims (kwargs dims)."""
    def build(G, k):
        if k == 0:
            shape = []
        elif k == 1 and allow_empty:
            shape = [0, G.size(1, 3)]
        else:
            shape = G.shape(1, 3)
        rank = len(shape)
        kw = {"keepdim": G.r.random() < 0.5}
        span = max(rank, 1)
        if dims:
            n = G.r.randint(1, span)
            picked = G.r.sample(range(span), n)
            kw["dims"] = [d - span if G.r.random() < 0.3 else d for d in picked]
        else:
            d = G.r.randrange(span)
            kw["dim"] = d - span if G.r.random() < 0.3 else d
        if k == 1 and allow_empty and not dims:
            kw["dim"] = 1  # reduce the non-empty dim of [0, n]
        return [(G.values(shape, kind), True)], kw
    return build


def vector_norm_build(order):
    """`reduce_build`'s shapes and dims, the norm's order fixed by the op (0, 1, 2, 3, 0.5, ±inf);
    values kept off zero for the orders whose derivative is not continuous there."""
    base = reduce_build(1, False, dims=True)

    def build(G, k):
        inputs, kw = base(G, k)
        if order in (1, 0.5, -math.inf, math.inf) or order < 1:
            x, rg = inputs[0]
            inputs = [(x.sign().where(x != 0, torch.ones_like(x)) * (x.abs() + 0.25), rg)]
        if k == 1 and (order < 0 or math.isinf(order)):
            kw["dims"] = [1]  # the non-empty dim of [0, n]: an inf norm has no identity on an empty one
        kw["ord"] = order
        return inputs, kw
    return build


def full_reduce_build(kind="any", allow_empty=True):
    def build(G, k):
        shape = [] if k == 0 else ([G.size(1, 3), 0] if k == 1 and allow_empty else G.shape(1, 3))
        return [(G.values(shape, kind), True)], {}
    return build


def mm_build(G, k):
    n, kk, m = G.size(), G.size(), G.size()
    if k == 0:
        kk = 0
    elif k == 1:
        n = 0
    return [(G.values([n, kk]), True), (G.values([kk, m]), True)], {}


def matmul_vec_build(G, k):
    kk = G.size(0 if k == 0 else 1, 4)
    lead = G.shape(1, 3)
    if G.r.random() < 0.5 or k == 1:
        sa, sb = lead + [kk], [kk]
    else:
        sa, sb = [kk], [kk] + [G.size()]
    if k == 2:
        sa, sb = [kk], [kk]
    return [(G.values(sa), True), (G.values(sb), True)], {}


def matmul_batched_build(G, k):
    b, n, kk, m = G.size(1, 3), G.size(), G.size(), G.size()
    if k == 0:
        b = 0
    return [(G.values([b, n, kk]), True), (G.values([b, kk, m]), True)], {}


def matmul_broadcast_build(G, k):
    n, kk, m = G.size(), G.size(), G.size()
    ba, bb = G.broadcast_pair(rank_hi=2)
    if k == 0:
        ba, bb = [2, 1], [3]
    return [(G.values(ba + [n, kk]), True), (G.values(bb + [kk, m]), True)], {}


def t_build(G, k):
    shape = [[], [G.size()], [G.size(), 0]][k] if k < 3 else G.shape(2, 2)
    return [(G.values(shape), True)], {}


def transpose_build(G, k):
    shape = [] if k == 0 else G.shape(1, 4, lo=0 if k == 1 else 1)
    span = max(len(shape), 1)
    d0, d1 = G.r.randrange(span), G.r.randrange(span)
    return [(G.values(shape), True)], {"dims": [d0, d1 - span if G.r.random() < 0.3 else d1]}


def permute_build(G, k):
    shape = [] if k == 0 else G.shape(1, 4, lo=0 if k == 1 else 1)
    dims = list(range(len(shape)))
    G.r.shuffle(dims)
    return [(G.values(shape), True)], {"dims": dims}


def reshape_target(G, shape):
    """Another shape with the same number of elements, maybe with one -1."""
    n = math.prod(shape)
    if n == 0:
        target = [0, G.size(1, 3)]
    else:
        target, rest = [], n
        for p in (2, 3, 5, 7):
            while rest % p == 0 and G.r.random() < 0.7:
                target.append(p)
                rest //= p
        target.append(rest)
        G.r.shuffle(target)
        if G.r.random() < 0.3:
            target.insert(G.r.randint(0, len(target)), 1)
    if G.r.random() < 0.3 and n != 0:
        target[G.r.randrange(len(target))] = -1
    return target


def view_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3, lo=0 if k == 1 else 1)
    target = [] if k == 0 else reshape_target(G, shape)
    return [(G.values(shape), True)], {"shape": target}


def flatten_build(G, k):
    shape = [] if k == 0 else G.shape(1, 4, lo=0 if k == 1 else 1)
    span = max(len(shape), 1)
    s = G.r.randrange(span)
    e = G.r.randrange(s, span)
    return [(G.values(shape), True)], {"start_dim": s, "end_dim": e - span if G.r.random() < 0.5 else e}


def unsqueeze_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3, lo=0 if k == 1 else 1)
    d = G.r.randint(-(len(shape) + 1), len(shape))
    return [(G.values(shape), True)], {"dim": d}


def squeeze_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3, lo=0 if k == 1 else 1)
    if shape:
        shape[G.r.randrange(len(shape))] = 1
    span = max(len(shape), 1)
    ones = [i for i, s in enumerate(shape) if s == 1] or [0]
    d = G.r.choice(ones) if G.r.random() < 0.7 else G.r.randrange(span)
    return [(G.values(shape), True)], {"dim": d}


def expand_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3)
    shape = [1 if G.r.random() < 0.5 else s for s in shape]
    target = [G.size() if s == 1 else s for s in shape]
    if G.r.random() < 0.5:
        target = [G.size(1, 3)] + target
    if k == 1:
        target = [0] + target
    if target and G.r.random() < 0.3:
        i = len(target) - len(shape) + G.r.randrange(len(shape)) if shape else 0
        if i >= len(target) - len(shape):
            target[i] = -1
    return [(G.values(shape), True)], {"shape": target}


def index_build(G, k):
    shape = G.shape(1, 3, lo=0 if k == 1 else 1)
    shape[0] = max(shape[0], 1)
    i = G.r.randrange(shape[0])
    return [(G.values(shape), True)], {"index": i - shape[0] if G.r.random() < 0.4 else i}


def slice_build(G, k):
    shape = G.shape(1, 3, lo=0 if k == 1 else 1, hi=6)
    slices = []
    for s in shape[:G.r.randint(1, len(shape))]:
        start = G.r.choice([None, G.r.randint(-s - 1, s + 1)])
        end = G.r.choice([None, G.r.randint(-s - 1, s + 2)])
        slices.append([start, end, G.r.randint(1, 3)])
    return [(G.values(shape), True)], {"slices": slices}


def cat_build(G, k):
    if k == 7:  # PyTorch's legacy rule: a 1-D size-0 tensor joins tensors of any shape
        shape = G.shape(2, 3)
        return [(G.values([0]), True), (G.values(shape), True)], {"dim": 0}
    shape = G.shape(1, 3)
    d = G.r.randrange(len(shape))
    sb = list(shape)
    sb[d] = G.size(0 if k == 0 else 1, 3)
    return [(G.values(shape), True), (G.values(sb), True)], {"dim": d - len(shape) if G.r.random() < 0.3 else d}


def stack_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3, lo=0 if k == 1 else 1)
    d = G.r.randint(0, len(shape))
    return [(G.values(shape), True), (G.values(shape), True)], {"dim": d}


def softmax_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3, lo=0 if k == 1 else 1)
    span = max(len(shape), 1)
    return [(G.values(shape), True)], {"dim": G.r.randrange(-span, span)}


def same_pair_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3)
    return [(G.values(shape), True), (G.values(shape), True)], {}


def cross_entropy_build(G, k):
    n, c = G.size(1, 5), G.size(2, 5)
    return [(G.values([n, c]), True)], {"target": [G.r.randrange(c) for _ in range(n)]}


def cross_entropy_spatial_build(G, k):
    """Scores [N, C, d...] (1 to 3 positional dims) and a class per position (int64)."""
    n, c = G.size(1, 3), G.size(2, 4)
    rest = [[G.size(0, 3)], G.shape(2, 2), G.shape(3, 3, hi=2)][k % 3]
    target = torch.randint(0, c, [n] + rest, generator=G.g)
    return [(G.values([n, c] + rest), True), (target, False)], {}


def class_target_build(G, k):
    """Scores [N, C] (or [C] when k == 0) and int64 classes [N] (or [])."""
    n, c = G.size(1, 5), G.size(2, 5)
    if k == 0:
        return [(G.values([c]), True), (torch.randint(0, c, [], generator=G.g), False)], {}
    return [(G.values([n, c]), True), (torch.randint(0, c, [n], generator=G.g), False)], {}


def linear_bias_build(G, k):
    """linear with a bias of any shape that broadcasts to the result [n, o]."""
    n, i, o = G.size(), G.size(), G.size()
    bias = [[o], [1, o], [n, o], [], [1], [n, 1]][k % 6]
    lead = [n] if n in bias[:1] or k % 2 == 0 else [2, n]  # a bias with n rows fits only [n, i]
    return [(G.values(lead + [i]), True), (G.values([o, i]), True), (G.values(bias), True)], {}


def linear_build(G, k):
    i, o = G.size(), G.size()
    lead = [[], [G.size()], G.shape(2, 2)][k % 3]
    return [(G.values(lead + [i]), True), (G.values([o, i]), True), (G.values([o]), True)], {}


def conv_build(kernel, bias, min_hw):
    def build(G, k):
        n, c, o = G.size(1, 2), G.size(1, 3), G.size(1, 3)
        h, w = G.size(min_hw, min_hw + 3), G.size(min_hw, min_hw + 3)
        inputs = [(G.values([n, c, h, w]), True), (G.values([o, c, kernel, kernel]), True)]
        if bias:
            inputs.append((G.values([o]), True))
        return inputs, {}
    return build


def conv_kw_build(G, k):
    """A convolution with random stride, padding, dilation and groups."""
    groups = G.r.choice([1, 1, 2])
    n, c, o = G.size(1, 2), groups * G.size(1, 2), groups * G.size(1, 2)
    kh, kw = G.size(1, 3), G.size(1, 3)
    stride, dilation = [G.size(1, 2), G.size(1, 2)], [G.size(1, 2), G.size(1, 2)]
    padding = [G.r.randint(0, kh // 2), G.r.randint(0, kw // 2)]
    h = dilation[0] * (kh - 1) + 1 + G.size(0, 3)
    w = dilation[1] * (kw - 1) + 1 + G.size(0, 3)
    inputs = [(G.values([n, c, h, w]), True), (G.values([o, c // groups, kh, kw]), True), (G.values([o]), True)]
    return inputs, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def pool_kw_build(avg):
    """Pooling with a random window, stride and padding (at most half the window)."""
    def build(G, k):
        kernel = [G.size(1, 3), G.size(1, 3)]
        stride = [G.size(1, 3), G.size(1, 3)]
        padding = [G.r.randint(0, kernel[0] // 2), G.r.randint(0, kernel[1] // 2)]
        shape = [G.size(1, 2), G.size(1, 3), kernel[0] + G.size(0, 3), kernel[1] + G.size(0, 3)]
        if k == 1:
            shape = shape[1:]
        kw = {"kernel": kernel, "stride": stride, "padding": padding}
        if avg:
            kw["count_include_pad"] = G.r.random() < 0.5
        return [(G.values(shape, "any" if avg else "distinct"), True)], kw
    return build


def adaptive_kw_build(G, k):
    shape = [G.size(1, 2), G.size(1, 3), G.size(1, 6), G.size(1, 6)]
    if k == 1:
        shape = shape[1:]
    return [(G.values(shape), True)], {"output_size": [G.size(1, 4), G.size(1, 4)]}


def pool_build(min_hw, kind="any"):
    def build(G, k):
        shape = [G.size(1, 2), G.size(1, 3), G.size(min_hw, min_hw + 4), G.size(min_hw, min_hw + 4)]
        if k == 1:
            shape = shape[1:]  # an unbatched [C, H, W] input
        return [(G.values(shape, kind), True)], {}
    return build


def cross_entropy_kw_build(G, k):
    inputs, kw = cross_entropy_build(G, k)
    c = inputs[0][0].shape[1]
    kw["ignore_index"] = G.r.choice([-100, G.r.randrange(c)])
    return inputs, kw


def batch_norm_eval_build(G, k):
    inputs, _ = batch_norm_build(G, k)
    c = inputs[1][0].shape[0]
    return inputs + [(G.values([c]), False), (G.values([c], "positive"), False)], {}


def linear_nobias_build(G, k):
    inputs, _ = linear_build(G, k)
    return inputs[:2], {}


def batch_norm_build(G, k):
    c = G.size(1, 3)
    shape = [G.size(2, 4), c] + ([] if k == 0 else [G.size(1, 3), G.size(1, 3)])
    return [(G.values(shape), True), (G.values([c], "positive"), True), (G.values([c]), True)], {}


def layer_norm_build(G, k):
    """x [..., *normalized] with a weight and a bias of the normalized shape (one or two dims)."""
    # (Rows of at least three elements: rows of two normalise to ±1 whatever they hold, and
    # the input's gradient is then a cancellation that PyTorch's 2-byte kernels lose.)
    normalized = [G.size(3, 5)] if k != 1 else [G.size(1, 3), G.size(3, 4)]
    lead = [] if k == 0 else G.shape(1, 2)
    return [(G.values(lead + normalized), True), (G.values(normalized), True), (G.values(normalized), True)], {}


def layer_norm_plain_build(G, k):
    shape = G.shape(1, 3, lo=3)
    return [(G.values(shape), True)], {"normalized_shape": shape[-1:] if k != 1 else shape[-2:]}


def sdpa_build(mask=None, mask_grad=False, gqa=False, scale=False):
    """Attention operands: 4-D [B, H, L, E] queries and [B, Hk, S, E] keys and values (3-D
    for k = 0; for k = 1 PyTorch's math path: 2-D, or 5-D with grouped heads), a [L, S] bool or
    float mask when asked (float ones requiring grad take the math path too)."""
    def build(G, k):
        B, L, S, E = G.size(1, 2), G.size(1, 4), G.size(1, 4), G.size(1, 4)
        Hk = G.size(1, 2)
        H = Hk * G.size(1, 3) if gqa else Hk
        def lead(h):
            return [h] if k == 0 else [2, B, h] if gqa and k == 1 else [] if k == 1 else [B, h]
        inputs = [(G.values(lead(H) + [L, E]), True), (G.values(lead(Hk) + [S, E]), True), (G.values(lead(Hk) + [S, E]), True)]
        if mask == "bool":
            inputs.append((G.mask([L, S]), False))
        elif mask == "float":
            inputs.append((G.values([L, S]), mask_grad))
        return inputs, ({"scale": round(G.r.uniform(-1, 1), 3)} if scale else {})
    return build


def where_build(G, k):
    sc, sa = G.broadcast_pair()
    sb = sa if G.r.random() < 0.5 else sa[G.r.randint(0, len(sa)):]
    if k == 0:
        sc, sa, sb = [], [2, 3], []
    elif k == 1:
        sc, sa, sb = [0, 2], [2], [1]
    return [(G.mask(sc), False), (G.values(sa), True), (G.values(sb), True)], {}


def masked_build(G, k):
    sa, sm = G.broadcast_pair()
    if k == 0:
        sa, sm = [], []
    elif k == 1:
        sa, sm = [0, 3], [3]
    elif k == 2:
        sa, sm = G.shape(2, 3), []
    out = G.broadcast_pair()
    return [(G.values(sa), True), (G.mask(sm), False)], {}


def masked_fill_build(G, k):
    inputs, kw = masked_build(G, k)
    a, m = inputs[0][0], inputs[1][0]
    try:
        torch.broadcast_shapes(a.shape, m.shape)
        if torch.broadcast_shapes(a.shape, m.shape) != a.shape:  # masked_fill does not grow self
            m = G.mask(list(a.shape))
    except RuntimeError:
        m = G.mask(list(a.shape))
    return [(a, True), (m, False)], kw


def mask_index_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3, lo=0 if k == 1 else 1)
    mrank = G.r.randint(0, len(shape))
    if k == 2 and shape:
        mrank = len(shape)
    return [(G.values(shape), True), (G.mask(shape[:mrank]), False)], {}


def triangle_build(G, k):
    shape = G.shape(2, 3) if k else [G.size(1, 3), G.size(1, 3)]
    return [(G.values(shape), True)], {"diagonal": G.r.randint(-2, 2)}


def gather_build(G, k):
    """x and an int64 index of its rank, no larger apart from `dim`, positions in range."""
    shape = [] if k == 0 else G.shape(1, 3)
    dim = 0 if not shape else G.r.randrange(len(shape))
    index_shape = [G.r.randint(0 if k == 1 else 1, s) for s in shape]
    if shape:
        index_shape[dim] = G.r.randint(1, 4)
    size = shape[dim] if shape else 1
    index = torch.randint(0, max(size, 1), index_shape, generator=G.g)
    return [(G.values(shape), True), (index, False)], {"dim": dim}


def sort_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3, lo=0 if k == 1 else 1)
    dim = 0 if not shape else G.r.randrange(-len(shape), len(shape))
    return [(G.values(shape, "distinct"), True)], {"dim": dim, "descending": G.r.random() < 0.5}


def topk_build(G, k):
    (x, rg), = sort_build(G, k)[0]
    shape = list(x.shape)
    dim = 0 if not shape else G.r.randrange(-len(shape), len(shape))
    size = shape[dim] if shape else 1
    return [(x, rg)], {"dim": dim, "k": G.r.randint(0, size), "largest": G.r.random() < 0.5}


def take_along_build(G, k):
    """x with dimensions (take_along_dim refuses a 0-dim one with a dim) and an index that
    broadcasts with it apart from `dim`."""
    shape = G.shape(1, 3)
    dim = G.r.randrange(len(shape))
    index_shape = [G.r.choice([1, s]) for s in shape]
    index_shape[dim] = G.r.randint(0 if k == 1 else 1, 4)
    index = torch.randint(0, shape[dim], index_shape, generator=G.g)
    return [(G.values(shape), True), (index, False)], {"dim": dim}


def scatter_build(G, k):
    """scatter's operands: x, an index as gather's (distinct positions along `dim` for the
    assigning scatter), and a source of the index's shape."""
    shape = [] if k == 0 else G.shape(1, 3, lo=1)
    dim = 0 if not shape else G.r.randrange(len(shape))
    index_shape = [G.r.randint(1, s) for s in shape]
    size = shape[dim] if shape else 1
    if shape:
        index_shape[dim] = G.r.randint(1, size)
        # A permutation's first entries along `dim`: no position is written twice.
        perm = torch.argsort(torch.rand([size] + [1] * 0, generator=G.g))[:index_shape[dim]]
        view = [1] * len(shape)
        view[dim] = index_shape[dim]
        index = perm.view(view).expand(index_shape).clone()
    else:
        index = torch.tensor(0)
    return [(G.values(shape), True), (index, False), (G.values(list(index.shape)), True)], {"dim": dim}


def index_put_build(accumulate):
    """x, an int64 index of its first dimension (distinct positions unless `accumulate`, so
    that no write depends on the order) and values that broadcast to the indexed shape."""
    def build(G, k):
        shape = G.shape(1, 3)
        n = G.r.randint(0 if k == 1 else 1, shape[0])
        index = positions(G, n, shape[0]) if accumulate else torch.randperm(shape[0], generator=G.g)[:n]
        target = [n] + shape[1:]
        values_shape = target[G.r.randint(0, len(target)):]
        return [(G.values(shape), True), (index, False), (G.values(values_shape), True)], {}
    return build


def kinks_build(G, k):
    """Values exactly at the kinks of clamp(-0.5, 0.5), relu and abs (and between them):
    where PyTorch's derivative takes a side, TapeGrad must take the same one."""
    shape = G.shape(1, 2, lo=2)
    n = 1
    for size in shape:
        n *= size
    choices = torch.tensor([-0.5, 0.5, 0.0, -0.25, 0.75, -1.0])
    picks = torch.randint(0, len(choices), [n], generator=G.g)
    return [(choices[picks].reshape(shape).to(torch.float64), True)], {}


def clamp_tensors_build(G, k):
    """x and two bounds that broadcast with it; k = 1 puts x on small values of the bounds' own
    set, so that ties (x at a bound, lo == hi, lo > hi) come up."""
    sx, sl = G.broadcast_pair()
    sh = sx[G.r.randint(0, len(sx)):] if G.r.random() < 0.5 else list(sx)
    if k == 1:
        choices = torch.tensor([-0.5, 0.5, 0.0, 1.0])
        def pick(shape):
            n = 1
            for size in shape:
                n *= size
            return choices[torch.randint(0, len(choices), [n], generator=G.g)].reshape(shape).to(torch.float64)
        return [(pick(sx), True), (pick(sl), True), (pick(sh), True)], {}
    return [(G.values(sx), True), (G.values(sl), True), (G.values(sh), True)], {}


def positions(G, count, size):
    """`count` int64 positions in `0..<size` (repeats allowed)."""
    return torch.randint(0, max(size, 1), [count], generator=G.g)


def embedding_build(G, k):
    """A weight [n, d] and ids of any shape (0-dim for k = 0) in range, repeats allowed; the
    padding row is one of the ids."""
    n, d = G.size(2, 5), G.size(1, 4)
    shape = [] if k == 0 else G.shape(1, 2, lo=0 if k == 1 else 1)
    count = 1
    for size in shape:
        count *= size
    ids = positions(G, count, n).reshape(shape)
    padding = int(ids.flatten()[0]) if count > 0 else 0
    return [(G.values([n, d]), True), (ids, False)], {"padding_idx": padding}


def index_select_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3)
    dim = 0 if not shape else G.r.randrange(len(shape))
    size = shape[dim] if shape else 1
    index = positions(G, 1 if not shape else G.r.randint(0, 4), size)
    return [(G.values(shape), True), (index, False)], {"dim": dim}


def index_add_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3)
    dim = 0 if not shape else G.r.randrange(len(shape))
    size = shape[dim] if shape else 1
    count = 1 if not shape else G.r.randint(0, 4)
    source = list(shape)
    if shape:
        source[dim] = count
    return [(G.values(shape), True), (positions(G, count, size), False), (G.values(source), True)], {"dim": dim}


def index_tensor_build(dim, min_rank):
    """x (rank `min_rank` to 3) and an int64 index for its dimension `dim`, of any shape, with
    negative indices (which count from the end)."""
    def build(G, k):
        shape = G.shape(min_rank, 3)
        index_shape = [] if k == 0 else G.shape(1, 2, lo=0 if k == 1 else 1)
        n = 1
        for size in index_shape:
            n *= size
        index = (positions(G, n, 2 * shape[dim]) - shape[dim]).reshape(index_shape)
        return [(G.values(shape), True), (index, False)], {}
    return build


def pow_scalar_build(G, k):
    shape = [] if k == 0 else G.shape(1, 3)
    e = [INF, -INF, INF, 2.5, -1.5, 0.0][k % 6]
    kind = "positive" if e in (2.5, -1.5) else "any"
    return [(G.values(shape, kind), True)], {"exponent": e}


def apply_slices(a, slices):
    return a[tuple(slice(*s) for s in slices)]


OPS = {
    "add": (lambda a, b: a + b, binary_broadcast()),
    "add_broadcast_row": (lambda a, b: a + b, binary_broadcast()),
    "add_broadcast_col": (lambda a, b: a + b, binary_broadcast()),
    "add_broadcast_3d": (lambda a, b: a + b, binary_broadcast()),
    "sub": (lambda a, b: a - b, binary_broadcast()),
    "sub_broadcast": (lambda a, b: a - b, binary_broadcast()),
    "mul": (lambda a, b: a * b, binary_broadcast()),
    "mul_broadcast": (lambda a, b: a * b, binary_broadcast()),
    "div": (lambda a, b: a / b, binary_broadcast("nonzero")),
    "div_broadcast": (lambda a, b: a / b, binary_broadcast("nonzero")),
    "floor_divide": (lambda a, b: a // b, without_grad(binary_broadcast("nonzero"))),
    "floor_divide_scalar": (lambda a: a // 2, without_grad(el())),
    "remainder": (lambda a, b: a % b, binary_broadcast("nonzero")),
    "remainder_scalar": (lambda a: a % 1.5, el()),
    "maximum": (lambda a, b: torch.maximum(a, b), binary_broadcast()),
    "minimum": (lambda a, b: torch.minimum(a, b), binary_broadcast()),
    "bitwise_and": (lambda a, b: a & b, integer_pair),
    "bitwise_or": (lambda a, b: a | b, integer_pair),
    "bitwise_xor": (lambda a, b: a ^ b, integer_pair),
    "bitwise_not": (lambda a: ~a, lambda G, k: ([(G.integers(G.shape(0, 3)), False)], {})),
    "left_shift": (lambda a, b: a << b, shift_pair),
    "right_shift": (lambda a, b: a >> b, shift_pair),
    "and_scalar": (lambda a: a & 6, lambda G, k: ([(G.integers(G.shape(0, 3)), False)], {})),
    "add_scalar": (lambda a: a + 2, el()),
    "mul_scalar": (lambda a: 3 * a, el()),
    "rsub_scalar": (lambda a: 1 - a, el()),
    "rdiv_scalar": (lambda a: 2 / a, el(kind="nonzero")),
    "neg": (lambda a: -a, el()),
    "pow2": (lambda a: a ** 2, el()),
    "pow3": (lambda a: a.pow(3), el()),
    "pow_half": (lambda a: a ** 0.5, el(kind="positive")),
    "pow_tensor": (lambda a, b: a ** b, pow_tensor_build),
    "pow_scalar": (lambda a, exponent: a ** exponent, pow_scalar_build),
    "sqrt": (torch.sqrt, el(kind="positive")),
    "exp": (torch.exp, el()),
    "log": (torch.log, el(kind="positive")),
    "tanh": (torch.tanh, el()),
    "sigmoid": (torch.sigmoid, el()),
    "erf": (torch.erf, el()),
    "gelu": (lambda a: F.gelu(a), el()),
    "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), el()),
    "silu": (lambda a: F.silu(a), el()),
    "softplus": (lambda a: F.softplus(a), el()),
    "softplus_beta": (lambda a: F.softplus(a, beta=2.0, threshold=1.0), el()),
    "relu": (torch.relu, el(kind="kinkfree")),
    "abs": (torch.abs, el(kind="kinkfree")),
    "sin": (torch.sin, el()),
    "cos": (torch.cos, el()),
    "clamp_min": (lambda a: a.clamp(min=0), el(kind="kinkfree")),
    "clamp_both": (lambda a: a.clamp(min=-0.5, max=0.5), el(kind="kinkfree")),
    "sum_all": (lambda a: a.sum(), full_reduce_build()),
    "sum_dim0": (lambda a, dim, keepdim: a.sum(dim, keepdim=keepdim), reduce_build(0, False)),
    "sum_dim1_keepdim": (lambda a, dim, keepdim: a.sum(dim, keepdim=keepdim), reduce_build(1, True)),
    "mean_all": (lambda a: a.mean(), full_reduce_build()),
    "mean_dim": (lambda a, dim, keepdim: a.mean(dim, keepdim=keepdim), reduce_build(1, False)),
    "max_all": (lambda a: a.max(), full_reduce_build("distinct", allow_empty=False)),
    "amax_dim": (lambda a, dim, keepdim: a.amax(dim, keepdim=keepdim), reduce_build(1, False, "distinct")),
    "amax_dims": (lambda a, dims, keepdim: a.amax(dims, keepdim=keepdim), reduce_build(1, False, "distinct", allow_empty=False, dims=True)),
    "max_dim": (lambda a, dim, keepdim: a.max(dim, keepdim=keepdim).values, reduce_build(1, False, "distinct")),
    "mm": (lambda a, b: a.mm(b), mm_build),
    "matmul_vec": (lambda a, b: a @ b, matmul_vec_build),
    "matmul_batched": (lambda a, b: a @ b, matmul_batched_build),
    "matmul_broadcast": (lambda a, b: a @ b, matmul_broadcast_build),
    "t": (lambda a: a.t(), t_build),
    "transpose": (lambda a, dims: a.transpose(*dims), transpose_build),
    "permute": (lambda a, dims: a.permute(dims), permute_build),
    "view": (lambda a, shape: (2 * a).view(shape), view_build),
    "reshape": (lambda a, shape: a.reshape(shape), view_build),
    "flatten": (lambda a, start_dim, end_dim: a.flatten(start_dim, end_dim), flatten_build),
    "unsqueeze": (lambda a, dim: a.unsqueeze(dim), unsqueeze_build),
    "squeeze": (lambda a, dim: a.squeeze(dim), squeeze_build),
    "expand": (lambda a, shape: a.expand(shape), expand_build),
    "index_select_row": (lambda a, index: a[index], index_build),
    "slice": (lambda a, slices: apply_slices(a, slices), slice_build),
    "cat": (lambda a, b, dim: torch.cat([a, b], dim), cat_build),
    "stack": (lambda a, b, dim: torch.stack([a, b], dim), stack_build),
    "softmax": (lambda a, dim: torch.softmax(a, dim), softmax_build),
    "log_softmax": (lambda a, dim: torch.log_softmax(a, dim), softmax_build),
    "mse_loss": (lambda a, b: F.mse_loss(a, b), same_pair_build),
    "mse_loss_sum": (lambda a, b: F.mse_loss(a, b, reduction="sum"), same_pair_build),
    "cross_entropy": (lambda a, target: F.cross_entropy(a, torch.tensor(target)), cross_entropy_build),
    "cross_entropy_spatial": (lambda a, t: F.cross_entropy(a, t), cross_entropy_spatial_build),
    "cross_entropy_spatial_none": (lambda a, t: F.cross_entropy(a, t, reduction="none"), cross_entropy_spatial_build),
    "cross_entropy_tensor": (lambda a, t: F.cross_entropy(a, t), class_target_build),
    "nll_loss_tensor": (lambda a, t: F.nll_loss(a.log_softmax(-1), t, reduction="sum"), class_target_build),
    "linear": (lambda x, w, b: F.linear(x, w, b), linear_build),
    "linear_bias_broadcast": (lambda x, w, b: F.linear(x, w, b), linear_bias_build),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1), conv_build(3, True, 1)),
    "conv2d_stride2": (lambda x, w: F.conv2d(x, w, stride=2, padding=1), conv_build(3, False, 1)),
    "conv2d_1x1_stride2": (lambda x, w: F.conv2d(x, w, stride=2), conv_build(1, False, 1)),
    "conv2d_kw": (lambda x, w, b, stride, padding, dilation, groups: F.conv2d(x, w, b, stride=stride, padding=padding,
                                                                             dilation=dilation, groups=groups), conv_kw_build),
    "max_pool2d_kw": (lambda a, kernel, stride, padding: F.max_pool2d(a, kernel, stride, padding), pool_kw_build(False)),
    "avg_pool2d_kw": (lambda a, kernel, stride, padding, count_include_pad: F.avg_pool2d(a, kernel, stride, padding,
                      count_include_pad=count_include_pad), pool_kw_build(True)),
    "adaptive_avg_pool2d_kw": (lambda a, output_size: F.adaptive_avg_pool2d(a, output_size), adaptive_kw_build),
    "max_pool2d": (lambda a: F.max_pool2d(a, 3, 2, 1), pool_build(1, "distinct")),
    "avg_pool2d": (lambda a: F.avg_pool2d(a, 2), pool_build(2)),
    "adaptive_avg_pool2d_1": (lambda a: F.adaptive_avg_pool2d(a, 1), pool_build(1)),
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-5), batch_norm_build),
    "embedding": (lambda w, ids, padding_idx: F.embedding(ids, w), embedding_build),
    "embedding_padding": (lambda w, ids, padding_idx: F.embedding(ids, w, padding_idx=padding_idx), embedding_build),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, w.shape, w, b), layer_norm_build),
    "layer_norm_plain": (lambda x, normalized_shape: F.layer_norm(x, normalized_shape), layer_norm_plain_build),
    "rms_norm": (lambda x, w, b: F.rms_norm(x, w.shape, w), layer_norm_build),
    "rms_norm_plain": (lambda x, normalized_shape: F.rms_norm(x, normalized_shape, eps=1e-5), layer_norm_plain_build),
    "sdpa": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), sdpa_build()),
    "sdpa_causal": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), sdpa_build()),
    "sdpa_scale": (lambda q, k, v, scale: F.scaled_dot_product_attention(q, k, v, scale=scale), sdpa_build(scale=True)),
    "sdpa_mask": (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), sdpa_build("bool")),
    "sdpa_float_mask": (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), sdpa_build("float")),
    "sdpa_mask_grad": (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), sdpa_build("float", mask_grad=True)),
    "sdpa_gqa": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True), sdpa_build(gqa=True)),
    "vector_norm": (lambda a, dims, keepdim, ord: torch.linalg.vector_norm(a, ord, dims, keepdim), vector_norm_build(2)),
    "vector_norm_1": (lambda a, dims, keepdim, ord: torch.linalg.vector_norm(a, ord, dims, keepdim), vector_norm_build(1)),
    "vector_norm_3": (lambda a, dims, keepdim, ord: torch.linalg.vector_norm(a, ord, dims, keepdim), vector_norm_build(3)),
    "vector_norm_half": (lambda a, dims, keepdim, ord: torch.linalg.vector_norm(a, ord, dims, keepdim), vector_norm_build(0.5)),
    "vector_norm_0": (lambda a, dims, keepdim, ord: torch.linalg.vector_norm(a, ord, dims, keepdim), vector_norm_build(0)),
    "vector_norm_inf": (lambda a, dims, keepdim, ord: torch.linalg.vector_norm(a, ord, dims, keepdim), vector_norm_build(math.inf)),
    "vector_norm_ninf": (lambda a, dims, keepdim, ord: torch.linalg.vector_norm(a, ord, dims, keepdim), vector_norm_build(-math.inf)),
    "norm": (lambda a: torch.norm(a), el()),
    "rsqrt": (torch.rsqrt, el(kind="positive")),
    "batch_norm_eval": (lambda x, w, b, rm, rv: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5), batch_norm_eval_build),
    "cross_entropy_kw": (lambda a, target, ignore_index: F.cross_entropy(a, torch.tensor(target), ignore_index=ignore_index),
                         cross_entropy_kw_build),
    "linear_nobias": (lambda x, w: F.linear(x, w), linear_nobias_build),
    "add_inplace": (lambda a, b: a.clone().add_(b), inplace_pair_build()),
    "sub_inplace": (lambda a, b: a.clone().sub_(b), inplace_pair_build()),
    "mul_inplace": (lambda a, b: a.clone().mul_(b), inplace_pair_build()),
    "div_inplace": (lambda a, b: a.clone().div_(b), inplace_pair_build("nonzero")),
    "add_inplace_alpha": (lambda a, b: a.clone().add_(b, alpha=2), inplace_pair_build()),
    "copy_inplace": (lambda a, b: a.clone().copy_(b), inplace_pair_build()),
    "mul_scalar_inplace": (lambda a: a.clone().mul_(2.5), el()),
    "clamp_inplace": (lambda a: a.clone().clamp_(min=-0.5, max=0.5), el(kind="kinkfree")),
    "masked_fill_inplace": (lambda a, m: a.clone().masked_fill_(m, -INF), masked_fill_build),
    "masked_fill_tensor_inplace": (lambda a, m, v: a.clone().masked_fill_(m, v), masked_fill_tensor_build),
    "setitem_row": (setitem, setitem_build),
    "sum_dims": (lambda a, dims, keepdim: a.sum(dims, keepdim=keepdim), reduce_build(1, False, dims=True)),
    "mean_dims": (lambda a, dims, keepdim: a.mean(dims, keepdim=keepdim), reduce_build(1, False, dims=True)),
    "var": (lambda a: a.var(), el()),
    "var_dims": (lambda a, dims, keepdim: a.var(dims, correction=0, keepdim=keepdim), reduce_build(1, False, dims=True)),
    "std_dim": (lambda a, dim, keepdim: a.std(dim, keepdim=keepdim), reduce_build(0, False)),
    "logsumexp_dims": (lambda a, dims, keepdim: torch.logsumexp(a, dims, keepdim=keepdim), reduce_build(1, False, dims=True)),
    "where": (lambda c, a, b: torch.where(c, a, b), where_build),
    "masked_fill_neginf": (lambda a, m: a.masked_fill(m, -INF), masked_fill_build),
    "masked_select": (lambda a, m: a.masked_select(m), masked_build),
    "mask_index": (lambda a, m: a[m], mask_index_build),
    "index_select": (lambda a, i, dim: a.index_select(dim, i), index_select_build),
    "index_add": (lambda a, i, s, dim: a.index_add(dim, i, s), index_add_build),
    "index_add_inplace": (lambda a, i, s, dim: a.clone().index_add_(dim, i, s), index_add_build),
    "int_index": (lambda a, i: a[i], index_tensor_build(0, 1)),
    "clamp_at_kinks": (lambda a: a.clamp(min=-0.5, max=0.5), kinks_build),
    "clamp_tensor_min": (lambda a, b: torch.clamp(a, min=b), binary_broadcast()),
    "clamp_tensor_max": (lambda a, b: torch.clamp(a, max=b), binary_broadcast()),
    "clamp_tensors": (lambda a, lo, hi: torch.clamp(a, min=lo, max=hi), clamp_tensors_build),
    "clamp_min_at_kinks": (lambda a: a.clamp(min=0.0), kinks_build),
    "relu_at_kinks": (torch.relu, kinks_build),
    "abs_at_kinks": (torch.abs, kinks_build),
    "index_put": (lambda a, i, v: a.index_put((i,), v), index_put_build(False)),
    "index_put_accumulate": (lambda a, i, v: a.index_put((i,), v, accumulate=True), index_put_build(True)),
    "subscript_tensor": (lambda a, i: a[:, i], index_tensor_build(1, 2)),
    "subscript_tensor_select": (lambda a, i: a[0, i], index_tensor_build(1, 2)),
    "subscript_ellipsis": (lambda a: a[..., 0], lambda G, k: ([(G.values(G.shape(1, 3)), True)], {})),
    "subscript_newaxis": (lambda a: a[:, None, ..., None], lambda G, k: ([(G.values(G.shape(1, 3)), True)], {})),
    "subscript_list": (lambda a: a[[0, -1, 0]], lambda G, k: ([(G.values(G.shape(1, 3)), True)], {})),
    "tril": (lambda a, diagonal: a.tril(diagonal), triangle_build),
    "gather": (lambda a, i, dim: a.gather(dim, i), gather_build),
    "sort": (lambda a, dim, descending: a.sort(dim=dim, descending=descending, stable=True)[0], sort_build),
    "argsort": (lambda a, dim, descending: a.argsort(dim=dim, descending=descending, stable=True), without_grad(sort_build)),
    "topk": (lambda a, dim, k, largest: a.topk(k, dim=dim, largest=largest)[0], topk_build),
    "topk_indices": (lambda a, dim, k, largest: a.topk(k, dim=dim, largest=largest)[1], without_grad(topk_build)),
    "take_along_dim": (lambda a, i, dim: torch.take_along_dim(a, i, dim), take_along_build),
    "scatter_add": (lambda a, i, s, dim: a.scatter_add(dim, i, s), scatter_build),
    "scatter": (lambda a, i, s, dim: a.scatter(dim, i, s), scatter_build),
    "scatter_value": (lambda a, i, s, dim: a.scatter(dim, i, 2.5), scatter_build),
    "scatter_add_inplace": (lambda a, i, s, dim: a.clone().scatter_add_(dim, i, s), scatter_build),
    "triu": (lambda a, diagonal: a.triu(diagonal), triangle_build),
}


# ---------------------------------------------------------------------------------------------
# Error cases: (op, [(shape, kind-or-"bool", requires_grad)], kwargs). Values do not matter.

def f(*shape):
    return (list(shape), "any", True)


def b(*shape):
    return (list(shape), "bool", False)


ERRORS = [
    ("add", [f(2, 3), f(4)], {}),
    ("add", [f(2, 3, 4), f(3, 1, 5)], {}),
    ("sub", [f(0, 3), f(2, 3)], {}),
    ("mul", [f(3), f(2, 2)], {}),
    ("div", [f(5, 1, 2), f(4, 3)], {}),
    ("pow_tensor", [f(2, 3), f(2)], {}),
    ("sum_dim0", [f(2, 3)], {"dim": 2, "keepdim": False}),
    ("sum_dim0", [f()], {"dim": 1, "keepdim": False}),
    ("mean_dim", [f(2, 3)], {"dim": -3, "keepdim": False}),
    ("max_all", [f(0, 3)], {}),
    ("max_all", [f(0)], {}),
    ("amax_dim", [f(0, 3)], {"dim": 0, "keepdim": False}),
    ("amax_dim", [f(2, 3)], {"dim": 5, "keepdim": False}),
    ("amax_dims", [f(2, 3)], {"dims": [0, 0], "keepdim": False}),
    ("max_dim", [f(0, 3)], {"dim": 0, "keepdim": False}),
    ("max_dim", [f(2, 3)], {"dim": 2, "keepdim": False}),
    ("mm", [f(2, 3), f(4, 2)], {}),
    ("mm", [f(3), f(3, 2)], {}),
    ("mm", [f(2, 3, 4), f(4, 2)], {}),
    ("matmul_vec", [f(), f(3)], {}),
    ("matmul_vec", [f(3), f(4)], {}),
    ("matmul_batched", [f(2, 3, 4), f(2, 5, 2)], {}),
    ("matmul_broadcast", [f(2, 3, 4), f(3, 4, 5)], {}),
    ("t", [f(2, 3, 4)], {}),
    ("transpose", [f(2, 3)], {"dims": [0, 2]}),
    ("transpose", [f()], {"dims": [0, 1]}),
    ("permute", [f(2, 3, 4)], {"dims": [0, 1]}),
    ("permute", [f(2, 3)], {"dims": [0, 0]}),
    ("permute", [f(2, 3)], {"dims": [0, 2]}),
    ("view", [f(2, 3)], {"shape": [4, 2]}),
    ("view", [f(2, 3)], {"shape": [-1, -1]}),
    ("view", [f(0, 3)], {"shape": [-1, 0]}),
    ("reshape", [f(4)], {"shape": [3, -1]}),
    ("flatten", [f(2, 3, 4)], {"start_dim": 2, "end_dim": 1}),
    ("flatten", [f(2, 3)], {"start_dim": 3, "end_dim": -1}),
    ("unsqueeze", [f(2, 3)], {"dim": 3}),
    ("unsqueeze", [f()], {"dim": -2}),
    ("squeeze", [f(2, 3)], {"dim": 2}),
    ("expand", [f(3, 2)], {"shape": [3, 4]}),
    ("expand", [f(2, 3)], {"shape": [3]}),
    ("expand", [f(3, 1)], {"shape": [-1, -2]}),
    ("index_select_row", [f(3, 4)], {"index": 3}),
    ("index_select_row", [f(3, 4)], {"index": -4}),
    ("index_select_row", [f()], {"index": 0}),
    ("slice", [f(3, 4)], {"slices": [[None, None, 0]]}),
    ("slice", [f(3, 4)], {"slices": [[None, None, -1]]}),
    ("slice", [f(3)], {"slices": [[0, 2, 1], [0, 1, 1]]}),
    ("cat", [f(2, 3), f(2, 4)], {"dim": 0}),
    ("cat", [f(2, 3), f(2, 3)], {"dim": 2}),
    ("cat", [f(2, 3), f(3)], {"dim": 0}),
    ("cat", [f(), f()], {"dim": 0}),
    ("stack", [f(2, 3), f(2, 4)], {"dim": 0}),
    ("stack", [f(2, 3), f(2, 3)], {"dim": 3}),
    ("softmax", [f(2, 3)], {"dim": 2}),
    ("log_softmax", [f(2, 3)], {"dim": -3}),
    ("mse_loss", [f(2, 3), f(2, 4)], {}),
    ("cross_entropy", [f(3, 4)], {"target": [0, 1]}),
    ("cross_entropy", [f(3, 4)], {"target": [0, 4, 1]}),
    ("cross_entropy", [f(3, 4)], {"target": [0, -1, 1]}),
    ("linear", [f(3, 4), f(2, 5), f(2)], {}),
    ("linear", [f(3, 4), f(2, 4), f(3)], {}),
    ("conv2d", [f(1, 2, 5, 5), f(4, 3, 3, 3), f(4)], {}),
    ("conv2d", [f(2, 5, 5), f(4, 2, 3), f(4)], {}),
    ("conv2d_1x1_stride2", [f(1, 3, 5, 5), f(3, 2, 1, 1)], {}),
    ("conv2d_stride2", [f(1, 2, 1, 1), f(3, 2, 5, 5)], {}),
    ("max_pool2d", [f(3, 4)], {}),
    ("avg_pool2d", [f(1, 3, 1, 1)], {}),
    ("avg_pool2d", [f(5)], {}),
    ("adaptive_avg_pool2d_1", [f(5)], {}),
    ("batch_norm_train", [f(1, 3), f(3), f(3)], {}),
    ("batch_norm_train", [f(4, 3), f(2), f(3)], {}),
    ("where", [f(2, 3), f(2, 3), f(2, 3)], {}),
    ("where", [b(2, 3), f(4), f(2, 3)], {}),
    ("masked_fill_neginf", [f(2, 3), b(2, 4)], {}),
    ("masked_fill_neginf", [f(2, 3), f(2, 3)], {}),
    ("masked_select", [f(2, 3), b(4)], {}),
    ("masked_select", [f(2, 3), f(2, 3)], {}),
    ("mask_index", [f(3, 4), b(2, 4)], {}),
    ("mask_index", [f(3), b(3, 1)], {}),
    # 0-dim and size-0 operands
    ("max_dim", [f()], {"dim": 1, "keepdim": False}),
    ("amax_dims", [f(0, 3)], {"dims": [], "keepdim": False}),
    ("softmax", [f()], {"dim": 1}),
    ("stack", [f(), f()], {"dim": 1}),
    ("index_select_row", [f(0, 3)], {"index": 0}),
    ("expand", [f(3)], {"shape": [-1, 3]}),
    ("permute", [f(2, 3)], {"dims": [0, -2]}),
    ("matmul_vec", [f(3), f()], {}),
    ("mm", [f(), f(2, 2)], {}),
    ("linear", [f(), f(2, 3), f(2)], {}),
    ("where", [b(2, 1), f(3, 1), f(4)], {}),
]


# ---------------------------------------------------------------------------------------------
# Running and recording

def num(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


DTYPE_NAMES = {torch.bool: "bool", torch.float32: "float32", torch.float64: "float64", torch.int64: "int64",
               torch.int32: "int32", torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8",
               torch.float16: "float16", torch.bfloat16: "bfloat16"}


# The dtypes TapeGrad has: a mutant whose PyTorch result is of another one is left out.
TAPEGRAD_DTYPES = {torch.bool, torch.float32, torch.float64, torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8,
                   torch.float16, torch.bfloat16}


def tensor_json(t, requires_grad=None, case_dtype=None):
    """A tensor as JSON; `dtype` is written for bool and integer types, and for any type other
    than `case_dtype` when one is given (a mutant's output: `exp` of a bool is float32)."""
    if t._is_zerotensor():  # autograd's efficient zeros (e.g. the second derivative of a + b)
        t = torch.zeros(t.shape, dtype=t.dtype)
    d = {"shape": list(t.shape), "values": [num(x) for x in t.detach().to(torch.float64).flatten().tolist()]}
    if not t.dtype.is_floating_point or (case_dtype is not None and t.dtype != case_dtype):
        d["dtype"] = DTYPE_NAMES[t.dtype]
    if requires_grad is not None:
        d["requires_grad"] = requires_grad
    return d


def leaves_of(inputs, dtype):
    out = []
    for x, rg in inputs:
        x = x.clone()
        if x.dtype.is_floating_point:
            x = x.to(dtype)
        out.append(x.requires_grad_(rg))
    return out


def run_case(G, op, k, dtype, hvp):
    fn, build = OPS[op]
    inputs, kwargs = build(G, k)
    xs = leaves_of(inputs, dtype)
    out = fn(*xs, **kwargs)
    leaves = [x for x in xs if x.requires_grad]
    if not leaves:
        # An op without a derivative (or of integers): its value only.
        return {"name": None, "op": op, "dtype": DTYPE_NAMES[dtype],
                "inputs": [tensor_json(x, rg) for x, (_, rg) in zip(xs, inputs)],
                "kwargs": {key: (num(v) if isinstance(v, float) else v) for key, v in kwargs.items()},
                "output": tensor_json(out, case_dtype=dtype), "grads": []}
    u = G.values(list(out.shape)).to(dtype)
    grads = torch.autograd.grad(out, leaves, u, create_graph=hvp, allow_unused=True)
    grads = [torch.zeros_like(x) if g is None else g for g, x in zip(grads, leaves)]
    case = {"name": None, "op": op, "dtype": DTYPE_NAMES[dtype],
            "inputs": [tensor_json(x, rg) for x, (_, rg) in zip(xs, inputs)],
            "kwargs": {key: (num(v) if isinstance(v, float) else v) for key, v in kwargs.items()},
            "upstream": tensor_json(u), "output": tensor_json(out),
            "grads": [tensor_json(g) for g in grads]}
    if hvp:
        vs = [G.values(list(x.shape)).to(dtype) for x in leaves]
        s = None
        for g, v in zip(grads, vs):
            term = (g * v).sum()
            s = term if s is None else s + term
        if s is not None and s.requires_grad:
            h = torch.autograd.grad(s, leaves, allow_unused=True)
            h = [torch.zeros_like(x) if t is None else t for t, x in zip(h, leaves)]
        else:
            h = [torch.zeros_like(x) for x in leaves]
        case["hvp"] = {"v": [tensor_json(v) for v in vs], "grads": [tensor_json(t) for t in h]}
    return case


# Arguments whose lists have a fixed length (mutants change their values, not their length).
FIXED_LENGTH = {("transpose", "dims"), ("conv2d_kw", "stride"), ("conv2d_kw", "padding"), ("conv2d_kw", "dilation"),
                ("max_pool2d_kw", "kernel"), ("max_pool2d_kw", "stride"), ("max_pool2d_kw", "padding"),
                ("avg_pool2d_kw", "kernel"), ("avg_pool2d_kw", "stride"), ("avg_pool2d_kw", "padding"),
                ("adaptive_avg_pool2d_kw", "output_size")}


def mutate_list(G, op, key, v):
    """One change to a list argument: a perturbed, dropped or repeated element."""
    v = json.loads(json.dumps(v))
    if v and isinstance(v[0], list):  # slices: [[start, stop, step], ...]
        choice = G.r.random()
        if choice < 0.2 and len(v) > 0:
            v.pop(G.r.randrange(len(v)))
        elif choice < 0.35:
            v.append([None, None, G.r.choice([None, 1, 2])])
        else:
            inner = v[G.r.randrange(len(v))]
            inner[G.r.randrange(3)] = G.r.choice([None, G.r.randint(-5, 5)])
        return v
    fixed = (op, key) in FIXED_LENGTH
    choice = G.r.random()
    if not v or (choice < 0.2 and not fixed):
        v.append(G.r.randint(-4, 4))
    elif choice < 0.4 and not fixed:
        v.pop(G.r.randrange(len(v)))
    elif choice < 0.5 and not fixed:
        v.insert(G.r.randrange(len(v) + 1), v[G.r.randrange(len(v))])
    else:
        i = G.r.randrange(len(v))
        v[i] = v[i] + G.r.choice([-4, -3, -2, -1, 1, 2, 3, 4])
    return v


def mutate(G, op, inputs, kwargs, flip=None, flip_to=None):
    """A valid case with one random change: the bad (or unusual) input of a mutant. With
    `flip`, the change is fixed: input `flip` made bool (or float, when it is bool), or made
    the integer dtype `flip_to`."""
    inputs, kwargs = list(inputs), dict(kwargs)
    kinds = ["shape", "shape", "size0", "scalar", "dtype"] + ["kwarg"] * (3 if kwargs else 0)
    kind = "dtype" if flip is not None else G.r.choice(kinds)
    if kind == "kwarg":
        key = G.r.choice(sorted(kwargs))
        v = kwargs[key]
        if isinstance(v, bool):
            kwargs[key] = not v
        elif isinstance(v, int):
            kwargs[key] = G.r.choice([v + G.r.choice([-4, -3, -2, 2, 3, 4]), G.r.randint(-5, 5)])
        elif isinstance(v, float):
            kwargs[key] = G.r.choice([INF, -INF, 0.0, -1.5, 0.5, 7.0])
        elif isinstance(v, list):
            kwargs[key] = mutate_list(G, op, key, v)
        return inputs, kwargs
    i = flip if flip is not None else G.r.randrange(len(inputs))
    t, rg = inputs[i]
    shape = list(t.shape)
    if kind == "shape":
        shape = G.shape(0, 4, lo=0, hi=4)
    elif kind == "size0":
        if shape:
            shape[G.r.randrange(len(shape))] = 0
        else:
            shape = [0]
    elif kind == "scalar":
        shape = []
    if kind == "dtype" and flip_to is not None:
        inputs[i] = (G.integers(shape, flip_to), False)
    elif kind == "dtype":
        inputs[i] = (G.values(shape), True) if t.dtype == torch.bool else (G.mask(shape), False)
    elif t.dtype == torch.bool:
        inputs[i] = (G.mask(shape), False)
    elif not t.dtype.is_floating_point:
        # An index keeps its type; its small values test the bounds.
        inputs[i] = (G.integers(shape, t.dtype), False)
    else:
        inputs[i] = (G.values(shape), rg)
    return inputs, kwargs


def run_mutant(G, op, k, flip=None, flip_to=None):
    """A mutant of a valid case, as PyTorch answers it: an error case, or a value case with
    output and gradients (no Hessian-vector product). None when the change only broke the
    harness (a Python TypeError from the lambda, a non-tensor result), or when PyTorch's
    backward refuses what its forward took."""
    fn, build = OPS[op]
    inputs, kwargs = mutate(G, op, *build(G, k), flip=flip, flip_to=flip_to)
    xs = leaves_of(inputs, torch.float64)
    case = {"name": None, "op": op, "dtype": "float64", "kwargs": {key: (num(v) if isinstance(v, float) else v) for key, v in kwargs.items()}}
    try:
        out = fn(*xs, **kwargs)
    except TypeError:
        return None
    except Exception as e:  # noqa: BLE001 - every exception class is recorded by name
        case["inputs"] = [tensor_json(x, rg) for x, (_, rg) in zip(xs, inputs)]
        case["error"] = {"type": type(e).__name__, "message": str(e)}
        return case
    if not isinstance(out, torch.Tensor):
        return None
    if op.startswith("sdpa") and any(0 in x.shape for x in xs):
        # PyTorch's CPU attention (fused and math) does not check operands with a size 0 (a value of
        # batch 0 beside queries of batch 2 gives a [2, …] result); TapeGrad takes them to the
        # math path, which refuses inconsistent shapes.
        case["inputs"] = [tensor_json(x, rg) for x, (_, rg) in zip(xs, inputs)]
        case["output"] = tensor_json(out, case_dtype=torch.float64)
        case["grads"] = []
        case["left_out"] = "PyTorch's fused attention takes empty operands without checking their shapes; TapeGrad checks them"
        return case
    if any(size < 0 for size in out.shape):
        # PyTorch 2.15 returns a shape with a negative size when the target has a 0 beside it
        # (`ones(1).expand(0, -2, -1)` is [0, -2, 1]); TapeGrad refuses it ("numel: integer
        # multiplication overflow"). Not a result to copy.
        return None
    if out.dtype not in TAPEGRAD_DTYPES:
        case["inputs"] = [tensor_json(x, rg) for x, (_, rg) in zip(xs, inputs)]
        case["output"] = tensor_json(out, case_dtype=torch.float64)
        case["grads"] = []
        case["left_out"] = f"PyTorch's result is {DTYPE_NAMES[out.dtype]}, a dtype TapeGrad does not have yet (issue 11)"
        return case
    if not out.requires_grad:
        inputs = [(x, False) for x, _ in inputs]
        xs = leaves_of(inputs, torch.float64)
        out = fn(*xs, **kwargs)
    case["inputs"] = [tensor_json(x, rg) for x, (_, rg) in zip(xs, inputs)]
    case["output"] = tensor_json(out, case_dtype=torch.float64)
    leaves = [x for x in xs if x.requires_grad]
    if leaves:
        u = G.values(list(out.shape))
        try:
            grads = torch.autograd.grad(out, leaves, u, allow_unused=True)
        except Exception:  # noqa: BLE001 - a backward PyTorch refuses: not a forward case
            return None
        case["upstream"] = tensor_json(u)
        case["grads"] = [tensor_json(torch.zeros_like(x) if g is None else g) for g, x in zip(grads, leaves)]
    else:
        case["grads"] = []
    return case


def run_error(G, op, specs, kwargs):
    fn, _ = OPS[op]
    inputs = [(G.mask(shape) if kind == "bool" else G.values(shape, kind), rg) for shape, kind, rg in specs]
    xs = leaves_of(inputs, torch.float64)
    case = {"name": None, "op": op, "dtype": "float64",
            "inputs": [tensor_json(x, rg) for x, (_, rg) in zip(xs, inputs)],
            "kwargs": kwargs}
    try:
        fn(*xs, **kwargs)
    except Exception as e:  # noqa: BLE001 - every exception class is recorded by name
        case["error"] = {"type": type(e).__name__, "message": str(e)}
        return case
    print(f"error case {op} {specs} {kwargs}: PyTorch did not raise", file=sys.stderr)
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=2015)
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--out", default=os.path.join(here, "..", "Tests", "TapeGradTests", "Resources", "differential-reference.json"))
    args = p.parse_args()
    warnings.simplefilter("ignore")  # mse_loss's broadcast warning in its error case
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    G = Gen(args.seed)
    cases, left_out = [], []

    def add(case, name):
        case["name"] = name
        if "left_out" in case:
            left_out.append({"case": name, "reason": case.pop("left_out")})
        elif name in KNOWN_DIFFERENCES:
            left_out.append({"case": name, "reason": KNOWN_DIFFERENCES[name]})
        else:
            cases.append(case)

    for op in OPS:
        for k in range(N_FLOAT64):
            add(run_case(G, op, k, torch.float64, hvp=op not in ONCE_OPS or k == 1), f"{op}#{k}")
        for k in range(N_FLOAT32):
            add(run_case(G, op, k, torch.float32, hvp=False), f"{op}#f32-{k}")
    counts = {}
    for op, specs, kwargs in ERRORS:
        n = counts.get(op, 0)
        counts[op] = n + 1
        case = run_error(G, op, specs, kwargs)
        if case is None:
            raise SystemExit(1)
        add(case, f"{op}#err-{n}")
    for op in OPS:
        n = 0
        for k in range(N_MUTANTS):
            case = run_mutant(G, op, k % N_FLOAT64)
            if case is not None:
                add(case, f"{op}#mut-{n}")
                n += 1
        # Every input of every op once as the other dtype class (bool for float, float for bool),
        # on a case with sizes (k = 2): the dtype rules, op by op, without leaving them to chance.
        for i in range(len(OPS[op][1](Gen(0), 2)[0])):
            case = run_mutant(G, op, 2, flip=i)
            if case is not None:
                add(case, f"{op}#dtype-{i}")
            # And as integers: int64 (what literals and indices are), and int32 and uint8 for
            # the promotion of narrower integer types.
            # (topk's indices among equal values are its kernel's choice, not PyTorch's
            # contract: small integers tie often, so they get no integer inputs.)
            for integer in (() if op in TIE_ORDER_OPS else (torch.int64, torch.int32, torch.uint8)):
                case = run_mutant(G, op, 2, flip=i, flip_to=integer)
                if case is not None:
                    add(case, f"{op}#{DTYPE_NAMES[integer]}-{i}")
    # Each op once in float16 and once in bfloat16 (all its float inputs), from a generator of
    # its own so that the cases above stay as they were. An op PyTorch refuses in a 2-byte
    # type is left out.
    H = Gen(args.seed + 16)
    for op in OPS:
        for reduced in (torch.float16, torch.bfloat16):
            try:
                case = run_case(H, op, 2, reduced, hvp=False)
            except Exception as e:  # noqa: BLE001 - PyTorch's refusal: no case
                print(f"{op} {DTYPE_NAMES[reduced]}: {type(e).__name__}: {str(e)[:80]}", file=sys.stderr)
                continue
            add(case, f"{op}#{DTYPE_NAMES[reduced]}")
    unknown = set(KNOWN_DIFFERENCES) - {c["case"] for c in left_out}
    if unknown:
        raise SystemExit(f"KNOWN_DIFFERENCES names no generated case: {sorted(unknown)}")

    doc = {"generator": f"scripts/make-differential-reference.py --seed {args.seed} (PyTorch {torch.__version__.split('+')[0]})",
           "format": FORMAT, "tolerances": TOLERANCES,
           "known_differences": left_out, "cases": cases}
    with open(args.out, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.write("\n")
    print(f"{len(cases)} cases ({len(left_out)} known differences left out) -> {args.out} "
          f"({os.path.getsize(args.out) // 1024} KiB)")


if __name__ == "__main__":
    main()
