// `print(model)`: PyTorch's module repr. A module prints its type's name, then in parentheses
// its `extraRepr` (the layer's settings, PyTorch's `extra_repr`) and each child as
// `(name): child`, indented by two; a `ModuleList` folds runs of equal children into
// `(0-11): 12 x Block(…)`, as PyTorch's does.

extension Module {
    /// PyTorch's `repr(module)`.
    public var description: String {
        let extra = extraRepr.isEmpty ? [] : extraRepr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var lines = extra
        for (name, child) in ModuleRepr.childLines(self) { lines.append("(\(name)): " + ModuleRepr.indented(child.description)) }
        var text = "\(type(of: self))("
        if extra.count == 1 && lines.count == 1 {
            text += extra[0]
        } else if !lines.isEmpty {
            text += "\n  " + lines.joined(separator: "\n  ") + "\n"
        }
        return text + ")"
    }

    /// No settings to show.
    public var extraRepr: String { "" }
}

enum ModuleRepr {
    /// The children as PyTorch lists them: a `ModuleList`'s runs of equal reprs folded.
    static func childLines(_ module: any Module) -> [(String, CustomStringConvertible)] {
        let children = module.children
        guard module is ModuleList, !children.isEmpty else { return children.map { ($0.name, $0.module) } }
        var result: [(String, CustomStringConvertible)] = []
        var start = 0
        let reprs = children.map { $0.module.description }
        while start < children.count {
            var end = start
            while end + 1 < children.count && reprs[end + 1] == reprs[start] { end += 1 }
            if end == start {
                result.append((children[start].name, children[start].module))
            } else {
                result.append(("\(children[start].name)-\(children[end].name)", Folded(count: end - start + 1, repr: reprs[start])))
            }
            start = end + 1
        }
        return result
    }

    /// `N x repr` for a folded run.
    struct Folded: CustomStringConvertible {
        let count: Int, repr: String
        var description: String { "\(count) x \(repr)" }
    }

    /// PyTorch's `_addindent(s, 2)`: every line after the first indented by two spaces.
    static func indented(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > 1 else { return text }
        return lines[0] + "\n" + lines.dropFirst().map { "  " + $0 }.joined(separator: "\n")
    }

    /// Python's `True`/`False`.
    static func bool(_ x: Bool) -> String { x ? "True" : "False" }

    /// A Python tuple of sizes: `(3,)`, `(3, 4)`.
    static func tuple(_ sizes: [Int]) -> String {
        sizes.count == 1 ? "(\(sizes[0]),)" : "(" + sizes.map(String.init).joined(separator: ", ") + ")"
    }

    /// A size as it was given: `3`, or `(3, 3)` for a pair.
    static func size(_ s: Size2D) -> String { s.isPair ? s.description : "\(s.height)" }
}

extension Linear {
    /// `in_features=4, out_features=3, bias=True`.
    public var extraRepr: String {
        "in_features=\(weight.shape[1]), out_features=\(weight.shape[0]), bias=\(ModuleRepr.bool(bias != nil))"
    }
}

extension Conv2d {
    /// `3, 8, kernel_size=(3, 3), stride=(1, 1)` and the settings that differ from the defaults.
    public var extraRepr: String {
        let s = weight.shape
        var text = "\(s[1] * groups), \(s[0]), kernel_size=(\(s[2]), \(s[3])), stride=\(stride)"
        if padding != 0 { text += ", padding=\(padding)" }
        if dilation != 1 { text += ", dilation=\(dilation)" }
        if groups != 1 { text += ", groups=\(groups)" }
        if bias == nil { text += ", bias=False" }
        return text
    }
}

extension BatchNorm2d {
    /// `64, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True`.
    public var extraRepr: String {
        "\(numFeatures), eps=\(eps), momentum=\(momentum), affine=\(ModuleRepr.bool(weight != nil)), bias=\(ModuleRepr.bool(bias != nil)), track_running_stats=\(ModuleRepr.bool(runningMean != nil))"
    }
}

extension MaxPool2d {
    /// `kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False`.
    public var extraRepr: String {
        "kernel_size=\(ModuleRepr.size(kernelSize)), stride=\(ModuleRepr.size(stride ?? kernelSize)), padding=\(ModuleRepr.size(padding)), dilation=1, ceil_mode=False"
    }
}

extension AvgPool2d {
    /// `kernel_size=2, stride=2, padding=0`.
    public var extraRepr: String {
        "kernel_size=\(ModuleRepr.size(kernelSize)), stride=\(ModuleRepr.size(stride ?? kernelSize)), padding=\(ModuleRepr.size(padding))"
    }
}

extension AdaptiveAvgPool2d {
    /// `output_size=1`, or `output_size=(2, 3)`.
    public var extraRepr: String { "output_size=\(ModuleRepr.size(outputSize))" }
}

extension Flatten {
    /// `start_dim=1, end_dim=-1`.
    public var extraRepr: String { "start_dim=\(startDim), end_dim=\(endDim)" }
}

extension Dropout {
    /// `p=0.5, inplace=False`.
    public var extraRepr: String { "p=\(p), inplace=False" }
}

extension Embedding {
    /// `10, 3`, and `padding_idx=0` when there is one.
    public var extraRepr: String {
        "\(weight.shape[0]), \(weight.shape[1])" + (paddingIdx.map { ", padding_idx=\($0)" } ?? "")
    }
}

extension LayerNorm {
    /// `(8,), eps=1e-05, elementwise_affine=True, bias=True`.
    public var extraRepr: String {
        "\(ModuleRepr.tuple(normalizedShape)), eps=\(eps), elementwise_affine=\(ModuleRepr.bool(weight != nil)), bias=\(ModuleRepr.bool(bias != nil))"
    }
}

extension RMSNorm {
    /// `(8,), eps=None, elementwise_affine=True`.
    public var extraRepr: String {
        "\(ModuleRepr.tuple(normalizedShape)), eps=\(eps.map { "\($0)" } ?? "None"), elementwise_affine=\(ModuleRepr.bool(weight != nil))"
    }
}

extension GELU {
    /// `approximate='none'`.
    public var extraRepr: String { "approximate='\(approximate)'" }
}

extension Softplus {
    /// `beta=1.0, threshold=20.0`.
    public var extraRepr: String { "beta=\(beta), threshold=\(threshold)" }
}
