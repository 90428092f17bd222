// The Swift twin of ../shared/reference/seed_transcript.py: every snippet of the seed
// documents, printing what PyTorch prints (errors as `error: MESSAGE`, warnings as
// `warning: MESSAGE`).
import ArgumentParser
import Foundation
import TapeGrad

@main
struct AutogradTour: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autograd-tour",
        abstract: "Runs the seed documents' autograd snippets and prints what PyTorch prints.")

    @Option(help: ArgumentHelp("Write the graph of seed 000's `out` in Graphviz's DOT language to this file.", valueName: "file"))
    var dot: String?

    func run() throws {
        Warnings.setHandler { print("warning: \($0)") }
        manualSeed(0)
        try seed000()
        try seed002()
        seed003()
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
        let out = try z.mean()
        if let dot { try out.graphvizDOT(names: ["x": x, "out": out]).write(toFile: dot, atomically: true, encoding: .utf8) }
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

    func seed003() {
        section("003_b59c07f00b55367a.txt: leaves and errors")
        let data = [[4.0, 4, 4, 4], [9, 9, 9, 9]]
        let examples: [(String, () throws -> Void)] = [
            ("ex1", {
                let input = Tensor(data, dtype: .float32)
                let output = sqrt(input)
                let target = Tensor([1.0, 2, 3, 4], dtype: .float32)
                let loss = try MSELoss()(output, target)
                print(input.isLeaf, output.requiresGrad, output.isLeaf, target.isLeaf, loss.requiresGrad, loss.isLeaf)
            }),
            ("ex2", {
                let input = Tensor(data, dtype: .float32)
                let output = sqrt(input)
                try output.requiresGrad_(true)
                let target = Tensor([1.0, 2, 3, 4], dtype: .float32)
                let loss = try MSELoss()(output, target)
                print(input.isLeaf, output.requiresGrad, output.isLeaf, target.isLeaf, loss.requiresGrad, loss.isLeaf, loss)
                try loss.backward()
                print(output.grad!)
            }),
            ("ex3", {
                let input = Tensor.rand([1], requiresGrad: true)
                let output = input.unique(sorted: true, returnInverse: false, returnCounts: false).values
                print(input.isLeaf, output.requiresGrad, output.isLeaf)
                try output.backward()
            }),
            ("ex4", {
                let a = Tensor(data, dtype: .float32, requiresGrad: true)
                let b = Tensor(data, dtype: .float32, requiresGrad: true)
                let output = try a.ne(b)
                print(a.isLeaf, b.isLeaf, output.dtype, output.requiresGrad, output.isLeaf)
                try output.backward()
            }),
            ("ex5", {
                let a = Tensor(data, dtype: .float32, requiresGrad: true)
                let b = Tensor(data, dtype: .float32)
                let output = try a.add(b)
                print(a.requiresGrad, b.requiresGrad, output.requiresGrad, output.isLeaf)
                let grad = output.onesLike()
                try b[0].setItem(0, to: Tensor(10.0))
                try a[0].setItem(0, to: Tensor(10.0))
                try output.backward(gradient: grad)
            }),
            ("ex6a", {
                let x = Tensor([1.0], requiresGrad: true)
                let y = x + 2
                let z = 2 * y
                y[0] = -2.0
                print(x.isLeaf, y.isLeaf, z.isLeaf, x.requiresGrad, y.requiresGrad, z.requiresGrad)
                try z.backward()
                print(x.grad!)
            }),
            ("ex6b", {
                let x = Tensor([1.0], requiresGrad: true)
                let y = x + 2
                let z = y * y
                y[0] = -2.0
                print(x.isLeaf, y.isLeaf, z.isLeaf, x.requiresGrad, y.requiresGrad, z.requiresGrad)
                try z.backward()
            }),
            ("twice", {
                let x = Tensor.ones(2, requiresGrad: true)
                let y = (x * x).sum()
                try y.backward()
                try y.backward()
            }),
            ("nonscalar", {
                let x = Tensor.ones(2, requiresGrad: true)
                let y = x * 2
                try y.backward()
            }),
            ("retain", {
                let x = Tensor.ones(2, requiresGrad: true)
                let y = (x * x).sum()
                try y.backward(retainGraph: true)
                try y.backward()
                print(x.grad!)
            }),
            ("create", {
                let x = Tensor(3.0, requiresGrad: true)
                let y = x.pow(3)
                let g = try grad(of: y, withRespectTo: [x], createGraph: true)[0]!
                print(g)
                try g.backward()
                print(x.grad!)
            }),
            ("detach", {
                let x = Tensor.ones(2, requiresGrad: true)
                let y = x * 2
                let d = y.detach()
                print(d, d.requiresGrad, d.isLeaf)
                try y.detach_()
                print(y, y.gradFn as Any, y.isLeaf)
            }),
            ("retain_grad", {
                let x = Tensor.ones(2, requiresGrad: true)
                let y = x * 2
                try y.retainGrad()
                let z = (y * y).sum()
                try z.backward()
                print(y.grad!, x.grad!)
            }),
            ("sumbackward", {
                var a = Tensor.randn(2, 2)
                a = (a * 3) / (a - 1)
                print(a.requiresGrad)
                try a.requiresGrad_(true)
                print(a.requiresGrad)
                let b = (a * a).sum()
                print(b.gradFn!.name)
            }),
        ]
        for (name, example) in examples {
            print("--- \(name)")
            do {
                try example()
            } catch {
                print("error: \(error)")
            }
        }
    }
}
