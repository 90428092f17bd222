// Seeing the tape: the Wengert list as a table, and the graph behind a tensor in Graphviz's
// DOT language, drawn the way torchviz draws PyTorch's graphs.

/// The calling thread's tape, the Wengert list every recorded op appends one record to.
///
/// ```swift
/// let x = Tensor.ones(2, 2, requiresGrad: true)
/// let out = try ((x + 2) * (x + 2) * 3).mean()
/// print(Tape.listing())         // every record on the tape
/// print(out.tapeListing())      // only the records `out` depends on
/// ```
public enum Tape {
    /// How many records the calling thread's tape holds now.
    public static var count: Int { engine.pointee.tape.count }

    /// Every record on the calling thread's tape, oldest first.
    public static func listing() -> TapeListing {
        TapeListing(records: Array(0..<engine.pointee.tape.count), names: [:])
    }
}

extension Tensor {
    /// The records this tensor depends on, oldest first: its own `gradFn` and every record its
    /// gradient reaches through the graph's edges (empty for a leaf).
    ///
    /// - Parameter names: names to show for leaves (and the records' results), like torchviz's
    ///   `params`: `["x": x]`.
    public func tapeListing(names: [String: Tensor] = [:]) -> TapeListing {
        TapeListing(records: TapeGraph.records(reachableFrom: self), names: names)
    }

    /// The graph behind this tensor in Graphviz's DOT language, drawn as torchviz's
    /// `make_dot` draws PyTorch's: this tensor as a green box, one box per backward node
    /// labelled with PyTorch's node name, each leaf that requires grad as a blue box feeding an
    /// `AccumulateGrad` node, and the edges in the direction the forward pass ran.
    ///
    /// Render it with Graphviz: `dot -Tsvg graph.dot -o graph.svg`.
    ///
    /// - Parameter names: names to show on leaves, like torchviz's `params`: `["x": x]`.
    public func graphvizDOT(names: [String: Tensor] = [:]) -> String {
        let listing = tapeListing(names: names)
        var lines = [
            "digraph TapeGrad {",
            "\tgraph [size=\"12,12\"]",
            "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]",
        ]
        let ownName = names.first { $0.value.isSame(self) }?.key
        lines.append("\toutput [label=\(TapeGraph.quoted(TapeGraph.tensorLabel(ownName, shape))) fillcolor=darkolivegreen1]")
        let gradFn = info.gradFn
        if gradFn >= 0 {
            lines.append("\tr\(gradFn) -> output")
        }
        for entry in listing.entries.reversed() {
            lines.append("\tr\(entry.index) [label=\(TapeGraph.quoted(entry.node))]")
            for operand in entry.operands {
                switch operand.gradientGoesTo {
                case .record(let r): lines.append("\tr\(r) -> r\(entry.index)")
                case .leaf(let k): lines.append("\tacc\(k) -> r\(entry.index)")
                case .none: break
                }
            }
        }
        for leaf in listing.leaves {
            lines.append("\tacc\(leaf.number) [label=AccumulateGrad]")
            lines.append("\tleaf\(leaf.number) [label=\(TapeGraph.quoted(TapeGraph.tensorLabel(leaf.name, leaf.shape))) fillcolor=lightblue]")
            lines.append("\tleaf\(leaf.number) -> acc\(leaf.number)")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A readable copy of some records of the tape: for each, the backward node, the operands with
/// their shapes and where each one's gradient goes, the result's shape and the bytes the
/// record keeps for its backward. `description` prints it as a table:
///
/// ```
/// #  node           operands → where their gradient goes  result  saved
/// 0  AddBackward0   [2, 2] → leaf 0, other=2              [2, 2]  0 B
/// 1  MulBackward0   [2, 2] → #0, [2, 2] → #0              [2, 2]  16 B
/// 2  MulBackward0   [2, 2] → #1, other=3                  [2, 2]  0 B
/// 3  MeanBackward0  [2, 2] → #2                           []      0 B
/// leaf 0: [2, 2] float32, gradient accumulates into its .grad (AccumulateGrad)
/// 4 records, 16 B saved
/// ```
///
/// It is a snapshot: taking it copies what it shows, and it stays valid after the step that
/// made the records ends.
public struct TapeListing: Sendable, CustomStringConvertible {
    /// Where the gradient for an operand goes during backward: PyTorch's graph edge.
    public enum Destination: Sendable, Equatable {
        /// Into the pending gradient of the tensor this record (by tape index) made.
        case record(Int)
        /// Into the `.grad` of a leaf, by its number in ``TapeListing/leaves``
        /// (PyTorch's `AccumulateGrad` node).
        case leaf(Int)
        /// Nowhere: the operand does not require grad.
        case none
    }

    /// A tensor an op read.
    public struct Operand: Sendable, Equatable {
        /// The operand's shape (empty when its handle is no longer alive).
        public var shape: [Int]
        /// Where its gradient goes.
        public var gradientGoesTo: Destination

        /// An operand of this shape whose gradient goes to `destination`.
        public init(shape: [Int], gradientGoesTo destination: Destination) {
            self.shape = shape
            self.gradientGoesTo = destination
        }
    }

    /// A scalar argument the op was called with, like the `2` of `x + 2`.
    public struct Argument: Sendable, Equatable {
        /// PyTorch's name for the argument (`other`, `exponent`, `min`, `max`).
        public var name: String
        /// Its value.
        public var value: Double

        /// The argument `name` with value `value`.
        public init(name: String, value: Double) {
            self.name = name
            self.value = value
        }
    }

    /// One record of the tape.
    public struct Entry: Sendable {
        /// The record's index on the tape: what the records of later ops name in their edges.
        public var index: Int
        /// PyTorch's name for the backward node, e.g. `MulBackward0`.
        public var node: String
        /// The tensors the op read, in order.
        public var operands: [Operand]
        /// Scalar arguments of the op.
        public var arguments: [Argument]
        /// The result's shape.
        public var resultShape: [Int]
        /// Bytes of the tensors the record's backward reads (each tensor counted once); 0 when
        /// the op needs none or the record was released.
        public var savedBytes: Int
        /// Whether a backward without `retainGraph` has swept the record and freed what it saved.
        public var isReleased: Bool
    }

    /// A leaf that requires grad, reached through some record's edge.
    public struct Leaf: Sendable {
        /// The number operands use to name it (`leaf 0`), in order of first use.
        public var number: Int
        /// The name given for it, if any.
        public var name: String?
        /// Its shape.
        public var shape: [Int]
        /// Its element type.
        public var dtype: DType
    }

    /// The records, oldest first.
    public var entries: [Entry]
    /// The leaves the records' gradients reach.
    public var leaves: [Leaf]

    /// Bytes the listed records keep for their backward, together.
    public var savedBytes: Int { entries.reduce(0) { $0 + $1.savedBytes } }

    init(records: [Int], names: [String: Tensor]) {
        let e = engine
        var leafHandles: [Tensor] = []
        var leaves: [Leaf] = []
        func leafNumber(_ t: Tensor) -> Int {
            if let k = leafHandles.firstIndex(where: { $0.isSame(t) }) { return k }
            leafHandles.append(t)
            let info = e.pointee.slots[Int(t.slot)]
            leaves.append(Leaf(
                number: leaves.count, name: names.first { $0.value.isSame(t) }?.key,
                shape: info.shape.array, dtype: info.dtype))
            return leaves.count - 1
        }
        var entries: [Entry] = []
        for index in records {
            let r = e.pointee.tape[index]
            var operands: [Operand] = []
            // The third handle of a masked fill, a `where` or a CopySlices is a value its
            // backward keeps (the mask, the view written through), not an operand.
            let keepsC = r.op.savedValues.keepsC
            for (position, (t, edge)) in [(r.a, r.edgeA), (r.b, r.edgeB), (r.c, r.edgeC)].enumerated()
            where !t.isNull && !(position == 2 && keepsC) {
                let alive = e.pointee.isAlive(t)
                let destination: Destination
                if edge >= 0 {
                    destination = .record(Int(edge))
                } else if edge == Record.leafEdge && alive {
                    destination = .leaf(leafNumber(t))
                } else {
                    destination = .none
                }
                operands.append(Operand(shape: alive ? e.pointee.slots[Int(t.slot)].shape.array : [], gradientGoesTo: destination))
            }
            let released = r.flags.contains(.released)
            entries.append(Entry(
                index: index, node: r.nodeName, operands: operands, arguments: TapeGraph.arguments(r),
                resultShape: !r.result.isNull && e.pointee.isAlive(r.result) ? e.pointee.slots[Int(r.result.slot)].shape.array : [],
                savedBytes: released ? 0 : TapeGraph.savedBytes(r), isReleased: released))
        }
        self.entries = entries
        self.leaves = leaves
    }

    /// The listing as a table, one line per record, then one line per leaf and a total.
    public var description: String {
        var rows = [["#", "node", "operands → where their gradient goes", "result", "saved"]]
        for entry in entries {
            var parts = entry.operands.map { operand -> String in
                let shape = operand.shape.bracketed
                switch operand.gradientGoesTo {
                case .record(let r): return "\(shape) → #\(r)"
                case .leaf(let k): return "\(shape) → leaf \(k)"
                case .none: return "\(shape) (no grad)"
                }
            }
            parts += entry.arguments.map { "\($0.name)=\(TapeGraph.number($0.value))" }
            rows.append([
                "\(entry.index)", entry.node, parts.joined(separator: ", "),
                entry.resultShape.bracketed,
                entry.isReleased ? "freed" : TapeGraph.bytesText(entry.savedBytes),
            ])
        }
        var widths = [Int](repeating: 0, count: 5)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var lines: [String] = rows.map { row in
            var line = ""
            for (i, cell) in row.enumerated() {
                if i == row.count - 1 {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[i] - cell.count + 2)
                }
            }
            return line
        }
        for leaf in leaves {
            let name = leaf.name.map { " (\($0))" } ?? ""
            let type = leaf.dtype.description.replacing("torch.", with: "")
            lines.append("leaf \(leaf.number)\(name): \(leaf.shape.bracketed) \(type), gradient accumulates into its .grad (AccumulateGrad)")
        }
        lines.append("\(entries.count) record\(entries.count == 1 ? "" : "s"), \(TapeGraph.bytesText(savedBytes)) saved")
        return lines.joined(separator: "\n")
    }
}

/// Walking and spelling the graph for listings and DOT.
enum TapeGraph {
    /// The tape indices of the records `tensor`'s gradient reaches, ascending.
    static func records(reachableFrom tensor: Tensor) -> [Int] {
        let e = engine
        let start = Int(e.pointee.slot(tensor).pointee.gradFn)
        guard start >= 0 else { return [] }
        var seen = Set<Int>([start])
        var stack = [start]
        while let r = stack.popLast() {
            let record = e.pointee.tape[r]
            for edge in [record.edgeA, record.edgeB, record.edgeC] where edge >= 0 {
                if seen.insert(Int(edge)).inserted { stack.append(Int(edge)) }
            }
        }
        return seen.sorted()
    }

    /// The scalar arguments a record keeps, under PyTorch's names, as the user gave them.
    static func arguments(_ r: Record) -> [TapeListing.Argument] {
        switch r.op.row.listing {
        case .none: []
        case .other: [.init(name: "other", value: r.s0)]
        case .otherNegated: [.init(name: "other", value: -r.s0)]
        case .otherReciprocal: [.init(name: "other", value: 1 / r.s0)]
        case .exponent: [.init(name: "exponent", value: r.s0)]
        case .min: [.init(name: "min", value: r.s0)]
        case .max: [.init(name: "max", value: r.s1)]
        case .minMax: [.init(name: "min", value: r.s0), .init(name: "max", value: r.s1)]
        case .value: [.init(name: "value", value: r.s0)]
        }
    }

    /// Bytes of the distinct tensors a record's backward reads.
    static func savedBytes(_ r: Record) -> Int {
        let e = engine
        var tensors: [Tensor] = []
        let saved = r.op.savedValues
        if saved.contains(.a) { tensors.append(r.a) }
        if saved.contains(.b) { tensors.append(r.b) }
        if saved.contains(.result) { tensors.append(r.result) }
        if saved.contains(.c) { tensors.append(r.c) }
        if saved.contains(.other) {
            if r.op == .custom {
                tensors += Array(e.pointee.customNodes[Int(r.dims)].saved)
            } else {
                tensors.append(r.c.isNull ? r.b : r.c)
            }
        }
        var distinct: [Tensor] = []
        for t in tensors where !t.isNull && e.pointee.isAlive(t) && !distinct.contains(where: { $0.isSame(t) }) {
            distinct.append(t)
        }
        return distinct.reduce(0) { total, t in
            let s = e.pointee.slots[Int(t.slot)]
            return total + s.shape.product * s.dtype.itemSize
        }
    }

    /// `[2, 2]`, `[]` for a 0-dimensional tensor.
    /// A tensor's box in DOT, as torchviz labels it: the name if any, then the size as a tuple.
    static func tensorLabel(_ name: String?, _ shape: [Int]) -> String {
        let size = TensorFormatting.tupleDescription(shape)
        return name.map { "\($0)\n\(size)" } ?? size
    }

    /// A DOT string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for c in text {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    /// `2` for whole numbers, Swift's shortest spelling otherwise.
    static func number(_ value: Double) -> String {
        if value.isFinite && value == value.rounded() && Swift.abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }

    /// `16 B`, `1.5 KiB`, `3.0 MiB`.
    static func bytesText(_ bytes: Int) -> String {
        func oneDecimal(_ v: Double) -> String {
            let tenths = Int((v * 10).rounded())
            return "\(tenths / 10).\(tenths % 10)"
        }
        if bytes < 1024 { return "\(bytes) B" }
        if bytes < 1 << 20 { return "\(oneDecimal(Double(bytes) / 1024)) KiB" }
        return "\(oneDecimal(Double(bytes) / Double(1 << 20))) MiB"
    }
}
