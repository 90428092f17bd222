"""PyTorch twins of TapeGrad's benchmark workloads (CPU, one thread). Prints `NAME MICROSECONDS`
lines like tapegrad-timings. Usage: pytorch_twin.py two-layer|seed000|chain LENGTH|add [ITERATIONS]
       pytorch_twin.py resnet18 BATCH SIZE [ITERATIONS]
       pytorch_twin.py gpt2 LAYERS HEADS EMBD VOCAB CTX BATCH SEQ [ITERATIONS]"""
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


class BasicBlock(torch.nn.Module):
    """torchvision's BasicBlock, spelled with torch.nn (torchvision is not installed)."""

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def resnet18_model(num_classes=1000):
    """torchvision.models.resnet18(weights=None): the same modules and initialisation."""
    nn = torch.nn
    planes = [64, 128, 256, 512]
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    in_planes = 64
    for i, p in enumerate(planes):
        stride = 1 if i == 0 else 2
        layers.append(nn.Sequential(BasicBlock(in_planes, p, stride), BasicBlock(p, p)))
        in_planes = p
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(512, num_classes)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def resnet18(batch, size, iterations):
    """Seed 002's training step: random images and labels, (prediction - labels).sum(),
    backward, SGD(lr=0.01, momentum=0.9)."""
    torch.manual_seed(0)
    model = resnet18_model()
    data, labels = torch.rand(batch, 3, size, size), torch.rand(batch, 1000)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)

    def step():
        loss = (model(data) - labels).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        loss.item()

    return timed(step, iterations, warmup=1)


def gpt2(layers, heads, embd, vocab, ctx, batch, seq, iterations):
    """llm.c's step: forward with the loss, zero_grad, backward, AdamW(lr=1e-4, no weight
    decay), on random tokens; the model is scripts/make-gpt2-fixture.py's nanoGPT GPT-2."""
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "make-gpt2-fixture.py")
    spec = importlib.util.spec_from_file_location("gpt2_fixture", path)
    fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixture)
    torch.manual_seed(0)
    model = fixture.GPT(vocab, ctx, layers, heads, embd)
    tokens = torch.randint(0, vocab, (batch * seq + 1,))
    inputs, targets = tokens[:-1].view(batch, seq), tokens[1:].view(batch, seq)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0)

    def step():
        _, loss = model(inputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()

    return timed(step, iterations, warmup=2)


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
    elif kind == "resnet18":
        batch, size = int(sys.argv[2]), int(sys.argv[3])
        iterations = int(sys.argv[4]) if len(sys.argv) > 4 else 10
        print(f"resnet18-{batch}x3x{size}x{size}", resnet18(batch, size, iterations) * 1e6)
    elif kind == "gpt2":
        layers, heads, embd, vocab, ctx, batch, seq = (int(a) for a in sys.argv[2:9])
        iterations = int(sys.argv[9]) if len(sys.argv) > 9 else 3
        print(f"gpt2-{layers}x{embd}-{batch}x{seq}", gpt2(layers, heads, embd, vocab, ctx, batch, seq, iterations) * 1e6)
