// The Swift twin of ../shared/reference/seed_transcript.py: every snippet of the seed
// documents, printing what PyTorch prints (errors as `error: MESSAGE`, warnings as
// `warning: MESSAGE`).
import ArgumentParser
import TapeGrad

@main
struct AutogradTour: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autograd-tour",
        abstract: "Runs the seed documents' autograd snippets and prints what PyTorch prints.")

    func run() throws {
        Warnings.setHandler { print("warning: \($0)") }
        manualSeed(0)
        try seed000()
        try seed002()
    }

    func section(_ title: String) { print("\n=== \(title)") }

    func seed000() throws {
        section("000_6ba4691576dc6086.txt: requires_grad, grad_fn, leaves, accumulation")
        var x = Tensor.ones(2, 2, requiresGrad: true)
        print(x)
        print(x.gradFn as Any)
        var y = x + 2
        print(y)
        print(y.gradFn!.name)
        print(x.isLeaf, y.isLeaf)
        var z = y * y * 3
        let out = z.mean()
        print(z, out)
        try out.backward()
        print(x.grad!)
        print(y.grad as Any)
        let out2 = x.sum()
        try out2.backward()
        print(x.grad!)
        let out3 = x.sum()
        try x.grad!.zero_()
        try out3.backward()
        print(x.grad!)

        x = Tensor([1.0, 2.0, 3.0, 4.0], requiresGrad: true)
        y = 2 * x
        z = try y.view(2, 2)
        print(z)
        let v = Tensor([[1.0, 0.1], [0.01, 0.001]], dtype: .float32)
        try z.backward(gradient: v)
        print(x.grad!)

        x = Tensor(1.0, requiresGrad: true)
        let y1 = x.pow(2)
        let y2 = noGrad { x.pow(3) }
        let y3 = y1 + y2
        print(x.requiresGrad)
        print(y1, y1.requiresGrad)
        print(y2, y2.requiresGrad)
        print(y3, y3.requiresGrad)
    }

    func seed002() throws {
        section("002_96980f1d8fb0eda2.txt: Q = 3a^3 - b^2")
        let a = Tensor([2.0, 3.0], requiresGrad: true)
        let b = Tensor([6.0, 4.0], requiresGrad: true)
        let q = 3 * a.pow(3) - b.pow(2)
        try q.backward(gradient: Tensor([1.0, 1.0]))
        print(a.grad!)
        print(a)
        print(9 * a.pow(2))
        print(9 * a.pow(2) == a.grad!)
        print(-2 * b == b.grad!)
    }
}
