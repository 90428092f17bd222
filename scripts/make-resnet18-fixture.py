#!/usr/bin/env python3
"""Writes a ResNet-18 conformance directory like ../shared/reference/resnet18 for any batch and
image size, with PyTorch (torchvision is not needed: the model is torchvision's resnet18 spelled
with torch.nn, from Benchmarks/reference/pytorch_twin.py). Check TapeGrad against it with

    python3 scripts/make-resnet18-fixture.py --batch 4 --size 112 --out /tmp/resnet18-112
    swift run -c release tapegrad-conformance --resnet18 /tmp/resnet18-112

At 112×112 and batch 4, layers 1 to 3 run their 3×3 convolutions through Winograd's
F(4×4, 3×3), so this compares that path with PyTorch end to end (457 passed, 0 failed). At
224×224 and batch 8 the gradient sums are too ill-conditioned in float32 for the 1e-3
tolerance: PyTorch's own float32 run is 1.5e-2 (relative to the norm) from its float64 one
(`--float64` writes the float64 values), so compare there with that spread in mind."""
import argparse, json, os, struct, sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Benchmarks", "reference"))
from pytorch_twin import resnet18_model  # noqa: E402


def save_safetensors(path, tensors):
    """The safetensors format: 8-byte little-endian header length, JSON header, raw data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        dtype = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


# The twin is an nn.Sequential; torchvision's names for its top-level entries.
TORCHVISION_NAMES = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4", "10": "fc"}


def torchvision_name(name):
    head, _, rest = name.partition(".")
    return f"{TORCHVISION_NAMES[head]}.{rest}"


def summary(tensors):
    return {torchvision_name(name): {"sum": t.double().sum().item(), "norm": t.double().norm().item()} for name, t in tensors}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", required=True)
    parser.add_argument("--float64", action="store_true",
                        help="compute the expected values in float64 (from the same float32 weights and input)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(0)
    model = resnet18_model()
    save_safetensors(os.path.join(args.out, "weights.safetensors"),
                     {torchvision_name(n): t for n, t in model.state_dict().items()})
    torch.manual_seed(1)
    data = torch.rand(args.batch, 3, args.size, args.size)
    labels = torch.rand(args.batch, 1000)
    save_safetensors(os.path.join(args.out, "input.safetensors"), {"data": data, "labels": labels})

    if args.float64:
        model, data, labels = model.double(), data.double(), labels.double()
    precision = " --float64" if args.float64 else ""
    expected = {
        "generator": f"PyTorch {torch.__version__}, scripts/make-resnet18-fixture.py --batch {args.batch} --size {args.size}{precision}",
        "parameter_count": sum(p.numel() for p in model.parameters()),
        "input_shape": list(data.shape),
    }
    model.eval()
    with torch.no_grad():
        out = model(data)
    expected["eval_output_first_row_first_10"] = out[0, :10].tolist()
    expected["eval_output_sum"] = out.double().sum().item()

    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    out = model(data)
    expected["train_output_first_row_first_10"] = out[0, :10].tolist()
    expected["train_output_sum"] = out.double().sum().item()
    loss = (out - labels).sum()
    expected["loss"] = loss.item()
    loss.backward()
    expected["grads"] = summary((n, p.grad) for n, p in model.named_parameters())
    expected["sgd"] = {"lr": 0.01, "momentum": 0.9}
    optimizer.step()
    expected["params_after_one_step"] = summary(model.named_parameters())
    optimizer.zero_grad()
    loss = (model(data) - labels).sum()
    expected["loss_second_step"] = loss.item()
    loss.backward()
    optimizer.step()
    expected["params_after_two_steps"] = summary(model.named_parameters())
    expected["buffers_after_two_steps"] = {torchvision_name(n): {"sum": b.double().sum().item()}
                                          for n, b in model.named_buffers()}
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(f"wrote {args.out}: batch {args.batch}, {args.size}×{args.size}, loss {expected['loss']:.6g}")


if __name__ == "__main__":
    main()
