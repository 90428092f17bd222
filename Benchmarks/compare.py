#!/usr/bin/env python3
"""Side-by-side timings of TapeGrad against the hand-written C reference (and PyTorch, when
`import torch` works), as ratios measured in one run. Release builds, one thread.

Usage (from Benchmarks/): python3 compare.py [--rounds 5]
Builds reference/two_layer_step.c and the tapegrad-timings tool, then runs each workload
alternately, `--rounds` times, and reports the best of each (on a shared machine noise only
adds time; every program gets the same treatment, so the ratios stay fair). The ResNet-18 training steps
(seed 002's loop at 1×3×64×64 and 8×3×224×224; `--no-resnet18` skips them) take about a
minute more; the 224 step runs few iterations. The GPT-2 training steps (`--gpt2 small|124M|all|none`,
default small) put llm.c's CPU trainer (../../shared/peers/llm.c, built here) beside PyTorch, with
each process's peak RSS."""
import argparse
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
CHAIN_LENGTHS = [100, 1000, 10000, 100000]
# (batch, size, iterations, target as a fraction of PyTorch's time)
RESNET18_STEPS = [(1, 64, 10, 0.5), (8, 224, 2, 0.8)]
# name: (layers, heads, embd, vocab, ctx, batch, seq, iterations, target as a fraction of PyTorch's time)
GPT2_CONFIGS = {"small": (4, 4, 128, 256, 128, 4, 128, 10, 0.65), "124M": (12, 12, 768, 50257, 1024, 4, 64, 3, 0.65)}
LLMC = os.path.join(HERE, "..", "..", "shared", "peers", "llm.c")


def run_measured(command):
    """The command's `NAME VALUE` lines and its peak RSS in bytes (from wait4)."""
    process = subprocess.Popen(command, cwd=HERE, env=ENV, stdout=subprocess.PIPE, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{command} failed ({process.returncode}):\n{out}")
    lines = {}
    for line in out.strip().splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                lines[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return lines, usage.ru_maxrss * 1024


def build_llmc():
    """llm.c's timing harness, or None when the peer is not there."""
    if not os.path.isdir(LLMC):
        return None
    target = os.path.join(HERE, ".build", "llmc_time")
    subprocess.run(["gcc", "-Ofast", "-march=native", "-fopenmp", "-I.", "llmc_time.c", "-lm", "-o", target], cwd=LLMC, check=True)
    return target


def run_lines(command):
    out = subprocess.run(command, cwd=HERE, env=ENV, check=True, capture_output=True, text=True).stdout
    return dict((name, float(value)) for name, value in (line.split() for line in out.strip().splitlines()))


def run(command):
    """The value on the command's last `NAME VALUE` line."""
    return list(run_lines(command).values())[-1]


def build():
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas"], check=True,
                           capture_output=True, text=True).stdout.split()
    os.makedirs(os.path.join(HERE, ".build"), exist_ok=True)
    subprocess.run(["cc", "-O2", "-o", ".build/two_layer_step_c", "reference/two_layer_step.c", *flags],
                   cwd=HERE, check=True)
    built = subprocess.run(["swift", "build", "-c", "release", "--product", "tapegrad-timings"],
                           cwd=HERE, capture_output=True, text=True)
    if built.returncode != 0:
        sys.exit(built.stdout + built.stderr)
    return os.path.join(HERE, ".build", "release", "tapegrad-timings")


def has_torch():
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-resnet18", action="store_true", help="skip the ResNet-18 training steps")
    parser.add_argument("--gpt2", choices=["small", "124M", "all", "none"], default="small", help="GPT-2 training steps to time")
    args = parser.parse_args()
    gpt2_names = {"small": ["small"], "124M": ["124M"], "all": ["small", "124M"], "none": []}[args.gpt2]
    tool = build()
    torch = has_torch()
    py = [sys.executable, os.path.join(HERE, "reference", "pytorch_twin.py")]
    samples = {}
    second_step_bytes = {}
    peak_rss = {}
    llmc = build_llmc() if gpt2_names else None
    for name in gpt2_names:
        layers, heads, embd, vocab, ctx = GPT2_CONFIGS[name][:5]
        if llmc and not os.path.exists(os.path.join(HERE, ".build", f"gpt2-{name}", "model.bin")):
            subprocess.run([tool, "gpt2-files", os.path.join(HERE, ".build", f"gpt2-{name}"), "--layers", str(layers), "--heads", str(heads),
                            "--embd", str(embd), "--vocab", str(vocab), "--ctx", str(ctx)], cwd=HERE, env=ENV, check=True)

    def measured(key, command, value):
        lines, rss = run_measured(command)
        samples.setdefault(key, []).append(lines[value])
        peak_rss[key] = min(peak_rss.get(key, rss), rss)
        return lines

    def sample(key, command):
        samples.setdefault(key, []).append(run(command))

    for _ in range(args.rounds):
        sample("c two-layer", [".build/two_layer_step_c", "300"])
        sample("tg two-layer", [tool, "two-layer", "--iterations", "300"])
        sample("tg two-layer opt", [tool, "two-layer", "--iterations", "300", "--update", "optimizer"])
        sample("tg seed000", [tool, "seed000"])
        for length in CHAIN_LENGTHS:
            sample(f"tg chain {length}", [tool, "chain", "--length", str(length)])
        sample("tg add", [tool, "add"])
        for batch, size, iterations, _ in ([] if args.no_resnet18 else RESNET18_STEPS):
            # Fails (check=True) when a timed step allocates.
            lines = run_lines([tool, "resnet18", "--batch", str(batch), "--size", str(size), "--iterations", str(iterations)])
            samples.setdefault(f"tg resnet18 {batch} {size}", []).append(lines[f"resnet18-{batch}x3x{size}x{size}"])
            second_step_bytes[(batch, size)] = int(lines["resnet18-second-step-bytes"])
            if torch:
                sample(f"pt resnet18 {batch} {size}", py + ["resnet18", str(batch), str(size), str(iterations)])
        for name in gpt2_names:
            layers, heads, embd, vocab, ctx, batch, seq, iterations, _ = GPT2_CONFIGS[name]
            sizes = ["--layers", str(layers), "--heads", str(heads), "--embd", str(embd), "--vocab", str(vocab), "--ctx", str(ctx)]
            lines = measured(f"tg gpt2 {name}", [tool, "gpt2", *sizes, "--batch", str(batch), "--seq", str(seq), "--iterations", str(iterations)],
                             f"gpt2-{layers}x{embd}-{batch}x{seq}")
            second_step_bytes[f"gpt2 {name}"] = int(lines["gpt2-second-step-bytes"])
            if torch:
                measured(f"pt gpt2 {name}", py + ["gpt2", *map(str, (layers, heads, embd, vocab, ctx, batch, seq, iterations))],
                         f"gpt2-{layers}x{embd}-{batch}x{seq}")
            if llmc:
                # llm.c prints milliseconds (its best step after the first).
                measured(f"llmc gpt2 {name}", [llmc, os.path.join(HERE, ".build", f"gpt2-{name}"), str(batch), str(seq), str(iterations)],
                         "llmc_ms_per_step")
                samples[f"llmc gpt2 {name}"][-1] *= 1000
        if torch:
            sample("pt two-layer", py + ["two-layer", "100"])
            sample("pt two-layer opt", py + ["two-layer", "100", "optimizer"])
            sample("pt seed000", py + ["seed000", "5000"])
            sample("pt chain 1000", py + ["chain", "1000"])
            sample("pt add", py + ["add", "500"])

    m = {k: min(v) for k, v in samples.items()}
    c = m["c two-layer"]
    pt = lambda key: f"{m[key]:.2f} µs" if key in m else "n/a"
    ratio = lambda key: f"{m[key] / c:.2f}×" if key in m else "n/a"
    chain_ns = [m[f"tg chain {n}"] * 1000 for n in CHAIN_LENGTHS]
    spread = max(chain_ns) / min(chain_ns) - 1
    bandwidth = 3 * 4 * (1 << 20) / (m["tg add"] * 1e-6) / 1e9

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
          f"best of {args.rounds} alternating rounds; OPENBLAS_NUM_THREADS=1")
    print()
    print("| workload | C reference | TapeGrad | PyTorch | TapeGrad / C | PyTorch / C | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| two-layer step (64×1000×100×10), SGD update as the C reference does it (`w.sub_(w.grad, alpha: lr)`, `w.grad = nil`) | {c:.1f} µs | {m['tg two-layer opt']:.1f} µs "
          f"| {pt('pt two-layer opt')} | {ratio('tg two-layer opt')} | {ratio('pt two-layer opt')} | ≤ 1.10× C |")
    print(f"| the same step with seed 004's spelling (`w -= lr * w.grad`, `w.grad.zero_()`: one more pass, `lr * w.grad` is a tensor) | {c:.1f} µs | {m['tg two-layer']:.1f} µs "
          f"| {pt('pt two-layer')} | {ratio('tg two-layer')} | {ratio('pt two-layer')} | (PyTorch 2.15 ≈ 2.26×) |")
    print(f"| seed 000 graph, forward + backward | | {m['tg seed000']:.3f} µs | {pt('pt seed000')} | | | ≤ 1.5 µs |")
    for n, ns in zip(CHAIN_LENGTHS, chain_ns):
        torch_cell = f"{m['pt chain 1000'] * 1000:.0f} ns" if n == 1000 and "pt chain 1000" in m else ""
        print(f"| op chain, {n} ops: per op | | {ns:.1f} ns | {torch_cell} | | | ≤ 150 ns |")
    print(f"| op chain per-op spread, 100 to 100,000 ops | | {spread * 100:.1f}% | | | | ≤ 20% |")
    print(f"| 1M-element add (12 MiB moved) | | {m['tg add']:.1f} µs ({bandwidth:.1f} GB/s) | {pt('pt add')} | | | vectorised |")
    for batch, size, _, target in ([] if args.no_resnet18 else RESNET18_STEPS):
        tg, ptk = m[f"tg resnet18 {batch} {size}"] / 1000, f"pt resnet18 {batch} {size}"
        torch_cell = f"{m[ptk] / 1000:.1f} ms" if ptk in m else "n/a"
        ratio_cell = f" ({tg / (m[ptk] / 1000):.2f}× PyTorch)" if ptk in m else ""
        print(f"| ResNet-18 training step, {batch}×3×{size}×{size} (seed 002, SGD momentum) | | {tg:.1f} ms{ratio_cell} "
              f"| {torch_cell} | | | ≤ {target:.2f}× PyTorch, 0 B allocated per timed step |")
    if gpt2_names:
        print()
        print("| GPT-2 training step (AdamW, one thread) | TapeGrad | PyTorch | llm.c | TapeGrad / PyTorch | TapeGrad / llm.c | peak RSS TapeGrad / PyTorch / llm.c | target |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    gib = lambda key: f"{peak_rss[key] / 2**30:.2f} GiB" if key in peak_rss else "n/a"
    for name in gpt2_names:
        layers, heads, embd, vocab, ctx, batch, seq, _, target = GPT2_CONFIGS[name]
        tg, ptk, lk = m[f"tg gpt2 {name}"] / 1000, f"pt gpt2 {name}", f"llmc gpt2 {name}"
        cell = lambda key: f"{m[key] / 1000:.1f} ms" if key in m else "n/a"
        over = lambda key: f"{tg / (m[key] / 1000):.2f}×" if key in m else "n/a"
        print(f"| {name}: {layers} layers, {heads} heads, {embd} wide, vocabulary {vocab}, B={batch}, T={seq} | {tg:.1f} ms | {cell(ptk)} | {cell(lk)} "
              f"| {over(ptk)} | {over(lk)} | {gib(f'tg gpt2 {name}')} / {gib(ptk)} / {gib(lk)} | ≤ {target:.2f}× PyTorch, 0 B per timed step, RSS ≤ llm.c's |")
    failed = []
    for name in gpt2_names:
        target = GPT2_CONFIGS[name][-1]
        if f"pt gpt2 {name}" in m and m[f"tg gpt2 {name}"] / m[f"pt gpt2 {name}"] > target:
            failed.append(f"GPT-2 {name} step time")
        if f"llmc gpt2 {name}" in peak_rss and peak_rss[f"tg gpt2 {name}"] > peak_rss[f"llmc gpt2 {name}"]:
            failed.append(f"GPT-2 {name} peak RSS")
    for batch, size, _, target in ([] if args.no_resnet18 else RESNET18_STEPS):
        ptk = f"pt resnet18 {batch} {size}"
        if ptk in m and m[f"tg resnet18 {batch} {size}"] / m[ptk] > target:
            failed.append(f"ResNet-18 step {batch}×3×{size}×{size}")
    if m["tg two-layer opt"] / c > 1.10: failed.append("two-layer step (optimizer update)")
    if m["tg seed000"] > 1.5: failed.append("seed 000 graph")
    if max(chain_ns) > 150: failed.append("op chain per op")
    if spread > 0.20: failed.append("op chain spread")
    if second_step_bytes:
        print()
        print("bytes allocated by the second step (the first after the warm-up step): "
              + ", ".join(f"{b} B ({key if isinstance(key, str) else f'ResNet-18 {key[0]}×3×{key[1]}×{key[1]}'})" for key, b in second_step_bytes.items())
              + "; every later step: 0 B")
    print()
    print("targets: " + ("all met" if not failed else "missed: " + ", ".join(failed)))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
