"""PyTorch twins of TapeGrad's benchmark workloads (CPU, one thread). Prints `NAME MICROSECONDS`
lines like tapegrad-timings. Usage: pytorch_twin.py two-layer|seed000|chain LENGTH|add [ITERATIONS]"""
import sys
import time

import torch

torch.set_num_threads(1)


def timed(body, iterations, warmup=3):
    for _ in range(warmup):
        body()
    start = time.perf_counter()
    for _ in range(iterations):
        body()
    return (time.perf_counter() - start) / iterations


def two_layer(iterations, update="seed"):
    n, d_in, h, d_out = 64, 1000, 100, 10
    x, y = torch.randn(n, d_in), torch.randn(n, d_out)
    w1 = torch.randn(d_in, h, requires_grad=True)
    w2 = torch.randn(h, d_out, requires_grad=True)

    def step():
        loss = (x.mm(w1).relu().mm(w2) - y).pow(2).sum()
        loss.item()
        loss.backward()
        with torch.no_grad():
            if update == "seed":
                # `w1 -= 1e-6 * w1.grad`, spelled as the method it calls (a closure cannot rebind w1).
                w1.sub_(1e-6 * w1.grad)
                w2.sub_(1e-6 * w2.grad)
                w1.grad.zero_()
                w2.grad.zero_()
            else:
                w1.sub_(w1.grad, alpha=1e-6)
                w2.sub_(w2.grad, alpha=1e-6)
                w1.grad = None
                w2.grad = None

    return timed(step, iterations)


def seed000(iterations):
    x = torch.ones(2, 2, requires_grad=True)

    def run():
        y = x + 2
        z = y * y * 3
        z.mean().backward()

    return timed(run, iterations)


def chain(length, iterations):
    x = torch.randn(16, requires_grad=True)

    def run():
        h = x
        for i in range(length):
            k = i % 3
            h = h * 1.0001 if k == 0 else (h + 0.001 if k == 1 else h.tanh())
        h.sum().backward()

    return timed(run, iterations) / length


def add(iterations):
    a, b = torch.ones(1 << 20), torch.ones(1 << 20)
    return timed(lambda: a + b, iterations)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "two-layer":
        update = sys.argv[3] if len(sys.argv) > 3 else "seed"
        print(f"two-layer-{update}", two_layer(int(sys.argv[2]), update) * 1e6)
    elif kind == "seed000":
        print("seed000", seed000(int(sys.argv[2]) if len(sys.argv) > 2 else 5000) * 1e6)
    elif kind == "chain":
        length = int(sys.argv[2])
        print(f"chain-{length}-per-op", chain(length, max(3, 100_000 // length)) * 1e6)
    elif kind == "add":
        print("add-1M", add(int(sys.argv[2]) if len(sys.argv) > 2 else 500) * 1e6)
