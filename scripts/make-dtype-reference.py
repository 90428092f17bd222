#!/usr/bin/env python3
"""Records what PyTorch does with each dtype, for Tests/TapeGradTests/DTypeReferenceTests.swift.

  python3 scripts/make-dtype-reference.py --out Tests/TapeGradTests/Resources/dtype-reference.json

Three tables, each over every dtype TapeGrad has:
  result_types   torch.result_type of every pair: tensor with dimensions, 0-dim tensor, and the
                 Python numbers 2, 2.5 and True;
  conversions    float values with edge cases (out of range, NaN, fractions) cast to each dtype;
  ops            a list of ops applied to a tensor of each dtype: the result's dtype, values and
                 repr, or PyTorch's error (type and message).
"""
import argparse
import json
import math

import torch

DTYPES = [torch.float32, torch.float64, torch.bool, torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8,
          torch.float16, torch.bfloat16]
NAMES = {d: str(d).removeprefix("torch.") for d in DTYPES}

# Values each dtype is tried with (what it holds: uint8 no negatives, bool 0/1).
VALUES = {
    torch.float32: [-1.5, 0.0, 2.25, 7.0],
    torch.float64: [-1.5, 0.0, 2.25, 7.0],
    torch.bool: [True, False, True, True],
    torch.int64: [-3, 0, 2, 7],
    torch.int32: [-3, 0, 2, 7],
    torch.int16: [-3, 0, 2, 7],
    torch.int8: [-3, 0, 2, 127],
    torch.uint8: [0, 2, 7, 255],
    # 0.1 is rounded when the tensor is made (to 0.0999755859375 and 0.10009765625).
    torch.float16: [-1.5, 0.1, 2.25, 7.0],
    torch.bfloat16: [-1.5, 0.1, 2.25, 7.0],
}

# Each op as PyTorch spells it; the Swift test has a closure of the same name.
OPS = {
    "add_self": lambda x: x + x,
    "sub_self": lambda x: x - x,
    "mul_self": lambda x: x * x,
    "div_self": lambda x: x / (x * 0 + 2),
    "add_int": lambda x: x + 2,
    "add_float": lambda x: x + 2.5,
    "mul_int": lambda x: x * 3,
    "mul_float": lambda x: x * 0.5,
    "rsub_int": lambda x: 10 - x,
    "div_int": lambda x: x / 2,
    "neg": lambda x: -x,
    "abs": lambda x: x.abs(),
    "relu": lambda x: x.relu(),
    "sign": lambda x: x.sign(),
    "pow_int": lambda x: x ** 2,
    "pow_float": lambda x: x ** 2.0,
    "exp": lambda x: x.exp(),
    "sqrt_abs": lambda x: x.abs().sqrt(),
    "clamp_int": lambda x: x.clamp(min=1),
    "clamp_float": lambda x: x.clamp(min=0.5),
    "sum": lambda x: x.sum(),
    "sum_dim": lambda x: x.view(2, 2).sum(1),
    "mean": lambda x: x.mean(),
    "max": lambda x: x.max(),
    "amax": lambda x: x.view(2, 2).amax(1),
    "max_dim_indices": lambda x: x.view(2, 2).max(1).indices,
    "argmax": lambda x: x.argmax(),
    "gt_int": lambda x: x > 1,
    "gt_float": lambda x: x > 1.5,
    "eq_self": lambda x: x == x,
    "to_float": lambda x: x.float(),
    "to_double": lambda x: x.double(),
    "to_long": lambda x: x.long(),
    "to_int": lambda x: x.int(),
    "to_short": lambda x: x.short(),
    "to_char": lambda x: x.char(),
    "to_byte": lambda x: x.byte(),
    "to_bool": lambda x: x.bool(),
    "to_half": lambda x: x.half(),
    "to_bfloat16": lambda x: x.bfloat16(),
    "sigmoid": lambda x: x.sigmoid(),
    "softmax": lambda x: x.softmax(0),
    "matmul_self": lambda x: x.view(2, 2) @ x.view(2, 2),
    "fill_int": lambda x: x.clone().fill_(5),
    "fill_float": lambda x: x.clone().fill_(2.5),
    "fill_big": lambda x: x.clone().fill_(1000),
    "fill_negative": lambda x: x.clone().fill_(-1),
    "fill_inf": lambda x: x.clone().fill_(math.inf),
    "add_inplace_int": lambda x: x.clone().add_(1),
    "add_inplace_float": lambda x: x.clone().add_(0.5),
    "index_select": lambda x: x.index_select(0, torch.tensor([3, 0, 3])),
    "int_index": lambda x: x[torch.tensor([[1, -1]])],
    "arange_like": lambda x: torch.arange(4) + x,
    "zero_dim_long": lambda x: x * torch.tensor(2),
    "zero_dim_double": lambda x: x * torch.tensor(2.0, dtype=torch.float64),
    "where_float": lambda x: torch.where(torch.tensor([True, False, True, False]), x, 2.5),
    "where_int": lambda x: torch.where(torch.tensor([True, False, True, False]), 2, x),
    "floor_divide_int": lambda x: x // 2,
    "floor_divide_float": lambda x: x // 1.5,
    "floor_divide_zero": lambda x: x // 0,
    "remainder_int": lambda x: x % 3,
    "remainder_float": lambda x: x % 1.5,
    "and_int": lambda x: x & 6,
    "or_self": lambda x: x | x,
    "xor_int": lambda x: x ^ 5,
    "left_shift": lambda x: x << 1,
    "right_shift": lambda x: x >> 1,
    "invert": lambda x: ~x,
    "maximum_long": lambda x: torch.maximum(x, torch.tensor(2)),
    "minimum_float": lambda x: torch.minimum(x, torch.tensor([1.5, 1.5, 1.5, 1.5])),
}

F = torch.nn.functional

# Factories and functions of integer tensors, each with no input; the Swift test has a closure
# of the same name.
FACTORIES = {
    "eye_3": lambda: torch.eye(3),
    "eye_2_3_long": lambda: torch.eye(2, 3, dtype=torch.int64),
    "eye_negative": lambda: torch.eye(-1),
    "eye_negative_m": lambda: torch.eye(2, -1),
    "linspace_5": lambda: torch.linspace(0, 1, 5),
    "linspace_7_double": lambda: torch.linspace(-1.3, 2.9, 7, dtype=torch.float64),
    "linspace_float_odd": lambda: torch.linspace(0.1, 0.7, 9),
    "linspace_1": lambda: torch.linspace(3, 5, 1),
    "linspace_0": lambda: torch.linspace(3, 5, 0),
    "linspace_long": lambda: torch.linspace(0, 10, 4, dtype=torch.int64),
    "linspace_negative": lambda: torch.linspace(0, 1, -1),
    "randint_empty_range": lambda: torch.randint(5, 5, (2,)),
    "randint_negative_size": lambda: torch.randint(0, 5, (-1,)),
    "randperm_negative": lambda: torch.randperm(-1),
    "randperm_0": lambda: torch.randperm(0),
    "one_hot": lambda: F.one_hot(torch.tensor([0, 2]), 3),
    "one_hot_inferred": lambda: F.one_hot(torch.tensor([[0, 2], [1, 1]])),
    "one_hot_float": lambda: F.one_hot(torch.tensor([0.0, 2.0])),
    "one_hot_int32": lambda: F.one_hot(torch.tensor([0, 2], dtype=torch.int32)),
    "one_hot_negative": lambda: F.one_hot(torch.tensor([-1, 2])),
    "one_hot_too_big": lambda: F.one_hot(torch.tensor([0, 3]), 3),
    "one_hot_empty": lambda: F.one_hot(torch.tensor([], dtype=torch.long)),
    "one_hot_empty_3": lambda: F.one_hot(torch.tensor([], dtype=torch.long), 3),
    "one_hot_scalar": lambda: F.one_hot(torch.tensor(1), 3),
    "tril": lambda: torch.arange(12.0).view(3, 4).tril(),
    "tril_1d": lambda: torch.ones(3).tril(),
    "triu_batched": lambda: torch.arange(24).view(2, 3, 4).triu(1),
    "tril_bool": lambda: torch.ones(2, 3, dtype=torch.bool).tril(-1),
    "triu_far": lambda: torch.ones(2, 3).triu(-5),
    "nonzero": lambda: torch.tensor([[0, 1], [2, 0]]).nonzero(),
    "nonzero_scalar": lambda: torch.tensor(3.0).nonzero(),
    "nonzero_zero": lambda: torch.tensor(0.0).nonzero(),
    "nonzero_nan": lambda: torch.tensor([math.nan, 0.0]).nonzero(),
    "nonzero_empty": lambda: torch.zeros(2, 0).nonzero(),
    "bincount": lambda: torch.bincount(torch.tensor([0, 2, 2, 5])),
    "bincount_minlength": lambda: torch.bincount(torch.tensor([0, 2, 2, 5]), minlength=8),
    "bincount_weights": lambda: torch.bincount(torch.tensor([0, 2, 2]), weights=torch.tensor([0.5, 1.0, 2.0])),
    "bincount_double_weights": lambda: torch.bincount(torch.tensor([0, 2, 2]), weights=torch.tensor([0.5, 1.0, 2.0]).double()),
    "bincount_long_weights": lambda: torch.bincount(torch.tensor([0, 2, 2]), weights=torch.tensor([1, 2, 3])),
    "bincount_negative": lambda: torch.bincount(torch.tensor([-1, 2])),
    "bincount_2d": lambda: torch.bincount(torch.tensor([[1, 2]])),
    "bincount_float": lambda: torch.bincount(torch.tensor([1.0, 2.0])),
    "bincount_empty": lambda: torch.bincount(torch.tensor([], dtype=torch.long)),
    "bincount_bad_minlength": lambda: torch.bincount(torch.tensor([1, 2]), minlength=-1),
    "bincount_bad_weights": lambda: torch.bincount(torch.tensor([1, 2]), weights=torch.tensor([1.0])),
    "bincount_bool": lambda: torch.bincount(torch.tensor([True, False])),
    "bincount_uint8": lambda: torch.bincount(torch.tensor([1, 2], dtype=torch.uint8)),
    "multinomial_certain": lambda: torch.multinomial(torch.tensor([0.0, 1.0]), 1),
    "multinomial_exhausted": lambda: torch.multinomial(torch.tensor([0.0, 1.0]), 2),
    "multinomial_replacement": lambda: torch.multinomial(torch.tensor([0.0, 1.0]), 2, replacement=True),
    "multinomial_rows": lambda: torch.multinomial(torch.tensor([[0.0, 3.0], [2.0, 0.0]]), 1),
    "multinomial_negative": lambda: torch.multinomial(torch.tensor([-1.0, 1.0]), 1),
    "multinomial_zero": lambda: torch.multinomial(torch.tensor([0.0, 0.0]), 1),
    "multinomial_3d": lambda: torch.multinomial(torch.tensor([[[1.0]]]), 1),
    "multinomial_long": lambda: torch.multinomial(torch.tensor([1, 2]), 1),
    "multinomial_no_samples": lambda: torch.multinomial(torch.tensor([1.0, 2.0]), 0),
    "multinomial_too_many": lambda: torch.multinomial(torch.tensor([1.0, 2.0]), 3),
    "multinomial_inf": lambda: torch.multinomial(torch.tensor([math.inf, 2.0]), 1),
"full_half_big": lambda: torch.full([2], 1e6, dtype=torch.float16),
    "full_half_one": lambda: torch.full([1], 1e6, dtype=torch.float16),
    "full_bfloat16_big": lambda: torch.full([2], 1e39, dtype=torch.bfloat16),
    "fill_half_one": lambda: torch.zeros(1, dtype=torch.float16).fill_(70000.0),
    "linspace_half": lambda: torch.linspace(0, 1, 7, dtype=torch.float16),
    "half_underflow": lambda: torch.tensor([1e-8, 1.0], dtype=torch.float16),
    "half_overflow_literal": lambda: torch.tensor([1e6, 1.0], dtype=torch.float16),
    "half_small": lambda: torch.tensor([1.5e-5, 3e-5], dtype=torch.float16),
    "bfloat16_large": lambda: torch.tensor([100000.0, 1.0], dtype=torch.bfloat16),
    "bfloat16_matrix": lambda: torch.tensor([[1.0, -2.5], [1e-3, 3.0]], dtype=torch.bfloat16),
    "half_plus_bfloat16": lambda: torch.ones(2, dtype=torch.float16) + torch.ones(2, dtype=torch.bfloat16),
    "half_plus_long": lambda: torch.ones(2, dtype=torch.float16) + torch.tensor([1, 2]),
    "half_sum_many": lambda: torch.full([4096], 1.0, dtype=torch.float16).sum(),
    "bfloat16_mean_many": lambda: (torch.arange(1000.0).bfloat16() / 1000).mean(),
    "half_grad": lambda: half_gradient(),
    "zeros_like_long": lambda: torch.zeros_like(torch.ones(2, 3), dtype=torch.int64),
    "ones_like_half": lambda: torch.ones_like(torch.ones(2), dtype=torch.float16),
    "unique_counts": lambda: torch.tensor([3, 1, 3, 2]).unique(return_counts=True)[1],
    "unique_inverse": lambda: torch.tensor([[3, 1], [3, 2]]).unique(return_inverse=True)[1],
}

def half_gradient():
    x = torch.tensor([0.1, 0.5, 2.0], dtype=torch.float16, requires_grad=True)
    (x.exp() * x).sum().backward()
    return x.grad


# Float values with the edge cases of float-to-integer casts.
CONVERSION_VALUES = [300.7, -1.5, 1e10, math.nan, -3e9, 70000.2, 2.0 ** 63, -0.0, 255.9, -128.5]
INTEGER_VALUES = [2 ** 40 + 1, -129, 255, 256, -1, 2 ** 62 + 1]


def num(v):
    """A JSON number, or a string for the non-finite ones."""
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def result(fn, x):
    try:
        out = fn(x)
    except Exception as e:  # noqa: BLE001 - every PyTorch error is a recorded answer
        return {"error": {"type": type(e).__name__, "message": str(e)}}
    values = out.flatten().tolist()
    return {"result_dtype": NAMES[out.dtype], "shape": list(out.shape), "result": [num(v) for v in values], "repr": repr(out)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    operands = []
    for d in DTYPES:
        operands.append(("tensor", NAMES[d], torch.zeros(2, dtype=d)))
        operands.append(("zero_dim", NAMES[d], torch.zeros((), dtype=d)))
    numbers = [("int", 2), ("float", 2.5), ("bool", True)]
    result_types = []
    for kind_a, name_a, a in operands:
        for kind_b, name_b, b in operands:
            result_types.append({"a": [kind_a, name_a], "b": [kind_b, name_b], "result": NAMES[torch.result_type(a, b)]})
        for kind_b, value in numbers:
            result_types.append({"a": [kind_a, name_a], "b": ["number", kind_b], "result": NAMES[torch.result_type(a, value)]})

    conversions = []
    source = torch.tensor(CONVERSION_VALUES, dtype=torch.float64)
    integers = torch.tensor(INTEGER_VALUES, dtype=torch.int64)
    for d in DTYPES:
        conversions.append({"from": "float64", "values": [num(v) for v in CONVERSION_VALUES], "to": NAMES[d],
                            "result": [num(v) for v in source.to(d).tolist()]})
        conversions.append({"from": "int64", "values": INTEGER_VALUES, "to": NAMES[d],
                            "result": [num(v) for v in integers.to(d).tolist()]})

    ops = []
    for d in DTYPES:
        x = torch.tensor(VALUES[d], dtype=d)
        for name, fn in OPS.items():
            ops.append({"op": name, "dtype": NAMES[d], "input": [num(v) for v in VALUES[d]], **result(fn, x)})

    factories = [{"op": name, "dtype": "none", "input": [], **result(lambda _: fn(), None)} for name, fn in FACTORIES.items()]

    doc = {"generator": f"scripts/make-dtype-reference.py (PyTorch {torch.__version__.split('+')[0]})",
           "result_types": result_types, "conversions": conversions, "ops": ops, "factories": factories}
    with open(args.out, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
    print(f"{len(result_types)} result types, {len(conversions)} conversions, {len(ops)} op cases, "
          f"{len(factories)} factories -> {args.out}")


if __name__ == "__main__":
    main()
