import Foundation
import Testing
@testable import TapeGrad

// A fuzz test of the throwing spellings: seeded random calls (random shapes with 0-sized and
// negative sizes, ranks 0–9, out-of-range dims, float32/float64/bool mixes, NaN and ±inf) of
// every public throwing spelling, each inside `withStep`. Each call must throw a
// `TapeGradError` with a message, or return tensors of sane shapes (and, where the rule is
// cheap, the shape PyTorch's rules give, or throw where they refuse); after each call no tensor
// slot, pool byte or tape record is left behind.
//
// The calls run in exit-test child processes, one per batch, so that a trap, a fatalError or a
// segfault fails that batch's test instead of taking the suite down. The child prints each call
// before making it (`CALL seed=… <spelling> <arguments>`), so the parent reports the last one
// when the child crashes, and a problem it finds (`PROBLEM …`). One call is replayed in-process
// with `TAPEGRAD_FUZZ_REPLAY=<seed> swift test --filter FuzzTests/replay`;
// `TAPEGRAD_FUZZ_CALLS` changes the number of calls per batch.

@Suite struct FuzzTests {
    static let batches = 6
    static let defaultCallsPerBatch = 1000
    /// Each batch stops early (and says so) past this many seconds, whatever the machine's load.
    static let secondsPerBatch = 20.0

    @Test(arguments: 0..<FuzzTests.batches)
    func randomCallsThrowOrReturnAndLeaveNothingBehind(batch: Int) async throws {
        // The child writes its lines to a file as well as to its standard output: the parent
        // reads it whatever way the child ended.
        let logPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("tapegrad-fuzz-\(getpid())-\(batch).log").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        await #expect(processExitsWith: .success) { [batch, logPath = logPath as String] in
            let ok = Fuzzer.runBatch(batch, log: logPath)
            exit(ok ? 0 : 1)
        }
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n")
        for line in lines where line.hasPrefix("PROBLEM") {
            Issue.record("\(line)")
        }
        if let summary = lines.last(where: { $0.hasPrefix("DONE") }) {
            print("fuzz batch \(batch): \(summary)")
        } else {
            let last = lines.last { $0.hasPrefix("CALL") } ?? "(no call started)"
            Issue.record("batch \(batch) crashed; the last call started: \(last)")
        }
    }

    /// Replays one call in-process: `TAPEGRAD_FUZZ_REPLAY=<seed>` (the seed a CALL line shows).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["TAPEGRAD_FUZZ_REPLAY"] != nil))
    func replay() {
        let seed = UInt64(ProcessInfo.processInfo.environment["TAPEGRAD_FUZZ_REPLAY"] ?? "") ?? 0
        var problems: [String] = []
        Fuzzer.runCall(seed: seed, problems: &problems)
        for problem in problems { Issue.record("\(problem)") }
    }
}

// MARK: - The runner

enum Fuzzer {
    /// The child's log file (-1: none).
    nonisolated(unsafe) static var logDescriptor: Int32 = -1

    /// The seed of call `index` of `batch`.
    static func seed(batch: Int, index: Int) -> UInt64 {
        var rng = FuzzRNG(UInt64(batch) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &+ 0x5EED)
        return rng.next()
    }

    /// Runs one batch, printing each call before making it; true when no call found a problem.
    static func runBatch(_ batch: Int, log: String? = nil) -> Bool {
        if let log { logDescriptor = open(log, O_WRONLY | O_APPEND) }
        let calls = Int(ProcessInfo.processInfo.environment["TAPEGRAD_FUZZ_CALLS"] ?? "") ?? FuzzTests.defaultCallsPerBatch
        let start = ContinuousClock.now
        var problems: [String] = []
        var made = 0, threw = 0
        for index in 0..<calls {
            if ContinuousClock.now - start > .seconds(FuzzTests.secondsPerBatch) {
                emit("NOTE batch \(batch) stopped at its time bound after \(index) calls")
                break
            }
            let before = problems.count
            if Fuzzer.runCall(seed: seed(batch: batch, index: index), problems: &problems) { threw += 1 }
            made += 1
            for problem in problems[before...] { emit("PROBLEM \(problem)") }
            if problems.count > 50 { emit("NOTE too many problems, batch stopped"); break }
        }
        let elapsed = ContinuousClock.now - start
        emit("DONE \(made) calls (\(threw) threw) in \(elapsed); slot table \(engine.pointee.slots.count), tape capacity \(engine.pointee.tape.capacity)")
        return problems.isEmpty
    }

    struct Snapshot: Equatable, CustomStringConvertible {
        var liveSlots: Int
        var bytesInUse: Int
        var tapeCount: Int
        var scopes: Int
        var hooks: Int
        var description: String { "slots \(liveSlots), bytes \(bytesInUse), tape \(tapeCount), scopes \(scopes), hooks \(hooks)" }
    }

    static func snapshot() -> Snapshot {
        let e = engine
        var live = 0
        for i in 0..<e.pointee.slots.count where e.pointee.slots[i].flags.contains(.live) { live += 1 }
        return Snapshot(liveSlots: live, bytesInUse: e.pointee.bufferBytesInUse,
                        tapeCount: e.pointee.tape.count, scopes: e.pointee.scopes.count, hooks: e.pointee.hooks.count)
    }

    /// Makes one seeded call; returns whether it threw. Problems found are appended.
    @discardableResult
    static func runCall(seed: UInt64, problems: inout [String]) -> Bool {
        var g = FuzzGen(seed: seed)
        let spelling = g.pick(spellings)
        let before = snapshot()
        var threw = false
        let gradMode = engine.pointee.gradEnabled
        emit("CALL seed=\(seed) \(spelling.name) (making its arguments)")
        withStep {
            g.name = spelling.name
            do throws(TapeGradError) {
                let results = try spelling.run(&g)
                g.checkReturned(results)
            } catch {
                threw = true
                g.checkThrown(error)
            }
        }
        let after = snapshot()
        if after != before {
            g.problems.append("left behind: before \(before), after \(after)")
        }
        if engine.pointee.gradEnabled != gradMode {
            g.problems.append("grad mode changed")
            engine.pointee.gradEnabled = gradMode
        }
        for problem in g.problems { problems.append("seed=\(seed) \(g.callLine): \(problem)") }
        return threw
    }
}

/// Writes a line to standard output unbuffered, so that a crash right after loses nothing.
func emit(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    for fd in [1, Fuzzer.logDescriptor] where fd >= 0 {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { break }
            done += n
        }
    }
}

// MARK: - Random arguments

/// SplitMix64: small, seedable, the same on every platform.
struct FuzzRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What a spelling's shape rule expects: the result's shape, a throw, or nothing known.
enum FuzzExpectation {
    case unknown
    case shape([Int])
    case shapes([[Int]])
    case throwsError
}

struct FuzzGen {
    var rng: FuzzRNG
    let seed: UInt64
    var name = ""
    var arguments: [String] = []
    var callLine = ""
    var expectation = FuzzExpectation.unknown
    var problems: [String] = []

    init(seed: UInt64) {
        self.seed = seed
        rng = FuzzRNG(seed)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(rng.next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) / 1_000_000 < p }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...items.count - 1)] }

    mutating func note(_ text: String) { arguments.append(text) }

    // MARK: Scalars

    /// A number, often an edge value.
    mutating func double() -> Double {
        switch int(0...9) {
        case 0: return .nan
        case 1: return .infinity
        case 2: return -.infinity
        case 3: return 0
        case 4: return 1
        case 5: return -1
        default: return Double(int(-300...300)) / 100
        }
    }

    mutating func scalar(_ label: String) -> Double {
        let v = double()
        note("\(label)=\(v)")
        return v
    }

    /// A dimension for a tensor of `rank`: mostly in range, sometimes just out of it.
    mutating func dim(rank: Int, _ label: String = "dim") -> Int {
        let r = max(rank, 1)
        let d = chance(0.8) ? int(-r...(r - 1)) : pick([-r - 1, r, r + 1, -r - 2, 100, -100])
        note("\(label)=\(d)")
        return d
    }

    mutating func dtype() -> DType {
        switch int(0...9) {
        case 0...4: return .float32
        case 5...7: return .float64
        default: return .bool
        }
    }

    // MARK: Shapes

    /// A shape of a tensor that exists: rank 0–8, sizes 0–3 (mostly 1–3), at most 48 elements.
    mutating func tensorShape(maxRank: Int = 5) -> [Int] {
        let rank = chance(0.04) ? int(6...8) : int(0...min(maxRank, 5))
        var shape: [Int] = []
        var count = 1
        for _ in 0..<rank {
            var size = chance(0.12) ? 0 : int(1...3)
            if count * max(size, 1) > 48 { size = 1 }
            count *= max(size, 1)
            shape.append(size)
        }
        return shape
    }

    /// A shape argument (view, reshape, expand, factories): ranks 0–9, with -1, other negative
    /// sizes and zeros; often a rearrangement of `count` elements.
    mutating func shapeArgument(count: Int? = nil, _ label: String = "shape") -> [Int] {
        let rank = chance(0.05) ? 9 : int(0...5)
        var shape: [Int] = []
        if let count, chance(0.6) {
            // Factor `count` into sizes, then maybe put a -1 somewhere.
            var rest = count
            for i in 0..<rank {
                if i == rank - 1 { shape.append(rest); break }
                let f = [1, 2, 3].filter { rest % $0 == 0 || rest == 0 }
                let size = rest == 0 && chance(0.3) ? 0 : pick(f.isEmpty ? [1] : f)
                shape.append(size)
                if size != 0 { rest /= size }
            }
            if !shape.isEmpty && chance(0.3) { shape[int(0...shape.count - 1)] = -1 }
        } else {
            for _ in 0..<rank { shape.append(chance(0.15) ? pick([-1, -1, -2, -3, 0]) : int(1...3)) }
        }
        note("\(label)=\(shape)")
        return shape
    }

    // MARK: Tensors

    /// A tensor of `shape`: random values with NaN/inf, maybe requiring grad, maybe a
    /// non-leaf (its history on the tape), maybe a non-contiguous view.
    mutating func tensor(_ shape: [Int], dtype: DType? = nil, label: String = "t", finite: Bool = false) -> Tensor {
        let dtype = dtype ?? self.dtype()
        let count = shape.reduce(1, *)
        var values: [Double] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(dtype == .bool ? Double(int(0...1)) : finite ? Double(int(-20...20)) / 10 : double()) }
        var kind = "leaf"
        var t = try! Tensor(values: values, shape: shape, dtype: dtype)
        if dtype != .bool && chance(0.4) {
            t = try! t.requiresGrad_()
            kind = "grad"
            if chance(0.4) { t = t * 1; kind = "nonleaf" }
        }
        if shape.count >= 2 && chance(0.15) {
            // The same shape, through a transposed copy: a non-contiguous tensor.
            let r = shape.count
            var swapped = shape
            swapped.swapAt(r - 1, r - 2)
            let base = try! Tensor(values: values, shape: swapped, dtype: dtype)
            t = try! base.transpose(r - 1, r - 2)
            kind += ",strided"
        }
        note("\(label)=\(dtype)\(shape)\(kind == "leaf" ? "" : "(\(kind))")")
        return t
    }

    mutating func tensor(label: String = "t", maxRank: Int = 5, dtype: DType? = nil, finite: Bool = false) -> Tensor {
        tensor(tensorShape(maxRank: maxRank), dtype: dtype, label: label, finite: finite)
    }

    /// A shape that broadcasts with `shape` most of the time.
    mutating func broadcastPartner(_ shape: [Int]) -> [Int] {
        if chance(0.2) { return tensorShape() }
        var out = Array(shape.suffix(int(0...shape.count)))
        for i in out.indices where chance(0.3) { out[i] = pick([1, 1, 0, 2, 3]) }
        if chance(0.2) && out.count < 6 { out.insert(int(1...2), at: 0) }
        return out
    }

    mutating func bools(_ shape: [Int], label: String) -> Tensor {
        tensor(shape, dtype: chance(0.9) ? .bool : self.dtype(), label: label)
    }

    // MARK: Calling and checking

    /// Prints the call line (seed is added by the runner's CALL line) and makes the call.
    mutating func call<R>(_ expect: FuzzExpectation = .unknown, _ body: () throws(TapeGradError) -> R) throws(TapeGradError) -> R {
        expectation = expect
        callLine = "\(name)(\(arguments.joined(separator: ", ")))"
        emit("CALL seed=\(seed) \(callLine)")
        return try body()
    }

    mutating func checkThrown(_ error: TapeGradError) {
        if callLine.isEmpty {
            problems.append("threw before the call, while making its arguments: \(error)")
        }
        if error.message.isEmpty { problems.append("threw \(error.kind) with an empty message") }
        if case .shape(let s) = expectation { problems.append("threw '\(error.message)' where PyTorch gives shape \(s)") }
        if case .shapes(let s) = expectation { problems.append("threw '\(error.message)' where PyTorch gives shapes \(s)") }
    }

    mutating func checkReturned(_ results: [Tensor]) {
        for (i, r) in results.enumerated() {
            guard r.isAlive else { problems.append("result \(i) is not alive"); continue }
            let shape = r.shape
            if shape.count > 8 { problems.append("result \(i) has rank \(shape.count)") }
            if shape.contains(where: { $0 < 0 }) { problems.append("result \(i) has shape \(shape)") }
            if r.count != shape.reduce(1, *) { problems.append("result \(i) counts \(r.count) for shape \(shape)") }
        }
        switch expectation {
        case .unknown: break
        case .throwsError: problems.append("returned \(results.map(\.shape)) where PyTorch throws")
        case .shape(let s):
            if results.first?.shape != s { problems.append("returned shape \(results.first?.shape ?? []) where PyTorch gives \(s)") }
        case .shapes(let s):
            if results.map(\.shape) != s { problems.append("returned shapes \(results.map(\.shape)) where PyTorch gives \(s)") }
        }
    }
}

// MARK: - PyTorch's shape rules (where cheap)

enum TorchRules {
    static func broadcast(_ shapes: [Int]...) -> [Int]? {
        let rank = shapes.map(\.count).max() ?? 0
        var out = [Int](repeating: 1, count: rank)
        for s in shapes {
            for (i, size) in s.enumerated() {
                let j = rank - s.count + i
                if out[j] == 1 { out[j] = size } else if size != 1 && size != out[j] { return nil }
            }
        }
        return out
    }

    /// Wraps a dim as PyTorch does (rank 0 accepts -1 and 0).
    static func wrap(_ dim: Int, rank: Int) -> Int? {
        let r = max(rank, 1)
        guard dim >= -r && dim < r else { return nil }
        return dim < 0 ? dim + r : dim
    }

    /// `view`/`reshape` target: one -1 inferred, all else non-negative, same element count.
    static func reshape(_ shape: [Int], count: Int) -> [Int]? {
        guard shape.count <= 8 else { return nil }
        let inferred = shape.indices.filter { shape[$0] == -1 }
        guard inferred.count <= 1, !shape.contains(where: { $0 < -1 }) else { return nil }
        let known = shape.filter { $0 != -1 }.reduce(1, *)
        var out = shape
        if let i = inferred.first {
            guard known != 0, count % known == 0 else { return nil }
            out[i] = count / known
        } else if known != count {
            return nil
        }
        return out
    }

    static func expand(_ shape: [Int], to sizes: [Int]) -> [Int]? {
        guard sizes.count >= shape.count, sizes.count <= 8 else { return nil }
        var out = sizes
        let lead = sizes.count - shape.count
        for i in 0..<sizes.count {
            if i < lead {
                guard sizes[i] >= 0 else { return nil }
                continue
            }
            let old = shape[i - lead], new = sizes[i]
            if new == -1 { out[i] = old } else if new < 0 { return nil } else if old != new && old != 1 { return nil }
        }
        return out
    }

    static func reduce(_ shape: [Int], dims: [Int], keepDim: Bool) -> [Int]? {
        var wrapped = Set<Int>()
        for d in dims {
            guard let w = wrap(d, rank: shape.count), !wrapped.contains(w) else { return nil }
            wrapped.insert(w)
        }
        if dims.isEmpty { wrapped = Set(shape.indices) }
        var out: [Int] = []
        for (i, s) in shape.enumerated() {
            if wrapped.contains(i) { if keepDim { out.append(1) } } else { out.append(s) }
        }
        return out
    }

    static func matmul(_ a: [Int], _ b: [Int]) -> [Int]? {
        guard !a.isEmpty, !b.isEmpty else { return nil }
        if a.count == 1 && b.count == 1 { return a[0] == b[0] ? [] : nil }
        if a.count == 2 && b.count == 1 { return a[1] == b[0] ? [a[0]] : nil }
        if a.count == 1 && b.count == 2 { return a[0] == b[0] ? [b[1]] : nil }
        if a.count == 2 && b.count == 2 { return a[1] == b[0] ? [a[0], b[1]] : nil }
        let n = a.count > 1 ? a[a.count - 2] : nil
        let k1 = a[a.count - 1]
        let k2 = b.count > 1 ? b[b.count - 2] : b[0]
        let m = b.count > 1 ? b[b.count - 1] : nil
        guard k1 == k2 else { return nil }
        guard let batch = broadcast(Array(a.dropLast(a.count > 1 ? 2 : 1)), Array(b.dropLast(b.count > 1 ? 2 : 1))) else { return nil }
        return batch + (n.map { [$0] } ?? []) + (m.map { [$0] } ?? [])
    }
}

// MARK: - The table of spellings

struct FuzzSpelling: Sendable {
    var name: String
    var run: @Sendable (inout FuzzGen) throws(TapeGradError) -> [Tensor]
    init(_ name: String, _ run: @escaping @Sendable (inout FuzzGen) throws(TapeGradError) -> [Tensor]) {
        self.name = name
        self.run = run
    }
}

private func binary(_ name: String, _ op: @escaping @Sendable (Tensor, Tensor) throws(TapeGradError) -> Tensor) -> FuzzSpelling {
    FuzzSpelling(name) { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let b = g.tensor(g.broadcastPartner(a.shape), label: "other")
        let rule: FuzzExpectation = TorchRules.broadcast(a.shape, b.shape) == nil ? .throwsError : .unknown
        return [try g.call(rule) { () throws(TapeGradError) in try op(a, b) }]
    }
}

private func inPlaceBinary(_ name: String, _ op: @escaping @Sendable (Tensor, Tensor) throws(TapeGradError) -> Tensor) -> FuzzSpelling {
    FuzzSpelling(name) { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let b = g.tensor(g.chance(0.7) ? g.broadcastPartner(a.shape) : g.tensorShape(), label: "other")
        let fits = TorchRules.broadcast(a.shape, b.shape) == a.shape
        return [try g.call(fits ? .unknown : .throwsError) { () throws(TapeGradError) in try op(a, b) }]
    }
}

private func maskTensor(_ g: inout FuzzGen, for shape: [Int]) -> Tensor {
    g.bools(g.chance(0.7) ? g.broadcastPartner(shape) : shape, label: "mask")
}

private func reduction(_ name: String, _ op: @escaping @Sendable (Tensor, [Int], Bool) throws(TapeGradError) -> Tensor) -> FuzzSpelling {
    FuzzSpelling(name) { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let dims = (0..<g.int(0...3)).map { _ in g.dim(rank: a.rank) }
        let keep = g.chance(0.5)
        g.note("keepDim=\(keep)")
        let rule: FuzzExpectation = TorchRules.reduce(a.shape, dims: dims, keepDim: keep) == nil ? .throwsError : .unknown
        return [try g.call(rule) { () throws(TapeGradError) in try op(a, dims, keep) }]
    }
}

private func indexItems(_ g: inout FuzzGen, rank: Int) -> [any TensorIndexConvertible] {
    var items: [any TensorIndexConvertible] = []
    var text: [String] = []
    for _ in 0..<g.int(0...(rank + 1)) {
        if g.chance(0.4) {
            let i = g.int(-4...4)
            items.append(i)
            text.append("\(i)")
        } else {
            let start: Int? = g.chance(0.5) ? g.int(-4...4) : nil
            let end: Int? = g.chance(0.5) ? g.int(-4...4) : nil
            let step = g.chance(0.8) ? 1 : g.int(-1...3)
            items.append(TensorIndex.range(start: start, end: end, step: step))
            text.append("\(start.map(String.init) ?? ""):\(end.map(String.init) ?? ""):\(step)")
        }
    }
    g.note("items=[\(text.joined(separator: ", "))]")
    return items
}

private func pool2dInput(_ g: inout FuzzGen) -> Tensor {
    // 3-d or 4-d mostly, other ranks sometimes; sizes 0–5.
    let rank = g.chance(0.85) ? g.int(3...4) : g.int(0...5)
    let shape = (0..<rank).map { i in i >= rank - 2 ? g.int(1...5) : (g.chance(0.1) ? 0 : g.int(1...2)) }
    return g.tensor(shape, dtype: g.chance(0.9) ? (g.chance(0.5) ? .float32 : .float64) : .bool, label: "input")
}

/// `maskedFill` or `maskedFill_`, with a number or a tensor value (0-dim mostly).
private func maskedFillSpelling(inPlace: Bool, tensorValue: Bool) -> FuzzSpelling {
    FuzzSpelling("maskedFill" + (inPlace ? "_" : "") + (tensorValue ? "(tensor)" : "")) { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let m = maskTensor(&g, for: a.shape)
        if tensorValue {
            let v = g.tensor(g.chance(0.7) ? [] : g.tensorShape(maxRank: 2), label: "value")
            return [try g.call { () throws(TapeGradError) in inPlace ? try a.maskedFill_(m, v) : try a.maskedFill(m, v) }]
        }
        let v = g.scalar("value")
        return [try g.call { () throws(TapeGradError) in inPlace ? try a.maskedFill_(m, v) : try a.maskedFill(m, v) }]
    }
}

let spellings: [FuzzSpelling] = [
    binary("add") { a, b throws(TapeGradError) in try a.add(b) },
    binary("sub") { a, b throws(TapeGradError) in try a.sub(b) },
    binary("mul") { a, b throws(TapeGradError) in try a.mul(b) },
    binary("div") { a, b throws(TapeGradError) in try a.div(b) },
    binary("pow") { a, b throws(TapeGradError) in try a.pow(b) },
    binary("eq") { a, b throws(TapeGradError) in try a.eq(b) },
    binary("ne") { a, b throws(TapeGradError) in try a.ne(b) },
    binary("lt") { a, b throws(TapeGradError) in try a.lt(b) },
    binary("le") { a, b throws(TapeGradError) in try a.le(b) },
    binary("gt") { a, b throws(TapeGradError) in try a.gt(b) },
    binary("ge") { a, b throws(TapeGradError) in try a.ge(b) },
    binary("mseLoss") { a, b throws(TapeGradError) in try mseLoss(a, b, reduction: .none) },
    binary("mseLoss(mean)") { a, b throws(TapeGradError) in try mseLoss(a, b) },
    binary("mseLoss(sum)") { a, b throws(TapeGradError) in try mseLoss(a, b, reduction: .sum) },
    FuzzSpelling("matmul") { g throws(TapeGradError) in
        let a = g.tensor(label: "self", maxRank: 4)
        var bShape = g.tensorShape(maxRank: 4)
        if g.chance(0.6), let k = a.shape.last, !bShape.isEmpty {
            if bShape.count == 1 { bShape[0] = k } else { bShape[bShape.count - 2] = k }
        }
        let b = g.tensor(bShape, label: "other")
        let rule: FuzzExpectation = TorchRules.matmul(a.shape, b.shape) == nil ? .throwsError : .unknown
        return [try g.call(rule) { () throws(TapeGradError) in try a.matmul(b) }]
    },
    FuzzSpelling("mm") { g throws(TapeGradError) in
        let a = g.tensor(g.chance(0.8) ? [g.int(0...3), g.int(0...3)] : g.tensorShape(), label: "self")
        let b = g.tensor(g.chance(0.8) ? [g.chance(0.6) ? (a.shape.last ?? 1) : g.int(0...3), g.int(0...3)] : g.tensorShape(), label: "other")
        let ok = a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0]
        return [try g.call(ok ? .unknown : .throwsError) { () throws(TapeGradError) in try a.mm(b) }]
    },
    FuzzSpelling("bmm") { g throws(TapeGradError) in
        let a = g.tensor(g.chance(0.8) ? [g.int(0...2), g.int(0...3), g.int(0...3)] : g.tensorShape(), label: "self")
        let b = g.tensor(g.chance(0.8) ? [a.shape.first ?? 1, a.shape.last ?? 1, g.int(0...3)] : g.tensorShape(), label: "other")
        let ok = a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0] && a.shape[2] == b.shape[1]
        return [try g.call(ok ? .unknown : .throwsError) { () throws(TapeGradError) in try a.bmm(b) }]
    },
    FuzzSpelling("view") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let shape = g.shapeArgument(count: a.count)
        let rule: FuzzExpectation = TorchRules.reshape(shape, count: a.count) == nil ? .throwsError : .unknown
        let r = try g.call(rule) { () throws(TapeGradError) in try a.view(shape) }
        if let s = TorchRules.reshape(shape, count: a.count), r.shape != s { g.problems.append("view gave \(r.shape), not \(s)") }
        return [r]
    },
    FuzzSpelling("reshape") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let shape = g.shapeArgument(count: a.count)
        let rule: FuzzExpectation = TorchRules.reshape(shape, count: a.count).map { .shape($0) } ?? .throwsError
        return [try g.call(rule) { () throws(TapeGradError) in try a.reshape(shape) }]
    },
    FuzzSpelling("expand") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        var shape = g.chance(0.5) ? g.broadcastPartner(a.shape) : g.shapeArgument()
        if g.chance(0.5) { shape = (0..<g.int(0...2)).map { _ in g.int(-1...3) } + a.shape.map { g.chance(0.3) ? -1 : $0 } }
        g.note("sizes=\(shape)")
        let rule: FuzzExpectation = TorchRules.expand(a.shape, to: shape).map { .shape($0) } ?? .throwsError
        return [try g.call(rule) { () throws(TapeGradError) in try a.expand(shape) }]
    },
    FuzzSpelling("permute") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        var dims = Array(0..<a.rank).shuffledDeterministically(&g)
        if g.chance(0.3) { dims = dims.map { g.chance(0.5) ? $0 - a.rank : $0 } }
        if g.chance(0.2) { dims.append(g.int(-2...a.rank)) }
        if g.chance(0.1) && !dims.isEmpty { dims.removeLast() }
        if g.chance(0.1) && dims.count > 1 { dims[0] = dims[1] }
        g.note("dims=\(dims)")
        var rule = FuzzExpectation.throwsError
        let wrapped = dims.compactMap { TorchRules.wrap($0, rank: a.rank) }
        if dims.count == a.rank, wrapped.count == dims.count, Set(wrapped).count == dims.count {
            rule = .shape(wrapped.map { a.shape[$0] })
        }
        return [try g.call(rule) { () throws(TapeGradError) in try a.permute(dims) }]
    },
    FuzzSpelling("transpose") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let d0 = g.dim(rank: a.rank, "dim0"), d1 = g.dim(rank: a.rank, "dim1")
        var rule = FuzzExpectation.throwsError
        if let w0 = TorchRules.wrap(d0, rank: a.rank), let w1 = TorchRules.wrap(d1, rank: a.rank) {
            var s = a.shape
            if !s.isEmpty { s.swapAt(w0, w1) }
            rule = .shape(s)
        }
        return [try g.call(rule) { () throws(TapeGradError) in try a.transpose(d0, d1) }]
    },
    FuzzSpelling("t") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let rule: FuzzExpectation = a.rank <= 2 ? .shape(a.shape.reversed()) : .throwsError
        return [try g.call(rule) { () throws(TapeGradError) in try a.t() }]
    },
    FuzzSpelling("squeeze") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let d = g.dim(rank: a.rank)
        var rule = FuzzExpectation.throwsError
        if let w = TorchRules.wrap(d, rank: a.rank) {
            var s = a.shape
            if !s.isEmpty && s[w] == 1 { s.remove(at: w) }
            rule = .shape(s)
        }
        return [try g.call(rule) { () throws(TapeGradError) in try a.squeeze(d) }]
    },
    FuzzSpelling("unsqueeze") { g throws(TapeGradError) in
        let a = g.tensor(label: "self", maxRank: 8)
        let d = g.dim(rank: a.rank + 1)
        var rule = FuzzExpectation.throwsError
        if let w = TorchRules.wrap(d, rank: a.rank + 1), a.rank < 8 {
            var s = a.shape
            s.insert(1, at: w)
            rule = .shape(s)
        }
        return [try g.call(rule) { () throws(TapeGradError) in try a.unsqueeze(d) }]
    },
    FuzzSpelling("flatten") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let s = g.dim(rank: a.rank, "startDim"), e = g.dim(rank: a.rank, "endDim")
        var rule = FuzzExpectation.throwsError
        if let ws = TorchRules.wrap(s, rank: a.rank), let we = TorchRules.wrap(e, rank: a.rank), ws <= we {
            if a.rank == 0 {
                rule = .shape([1])
            } else {
                let sh = a.shape
                rule = .shape(Array(sh[..<ws]) + [sh[ws...we].reduce(1, *)] + Array(sh[(we + 1)...]))
            }
        } else if let ws = TorchRules.wrap(s, rank: a.rank), let we = TorchRules.wrap(e, rank: a.rank), ws > we {
            rule = .throwsError
        }
        return [try g.call(rule) { () throws(TapeGradError) in try a.flatten(startDim: s, endDim: e) }]
    },
    FuzzSpelling("select") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let d = g.dim(rank: a.rank)
        let i = g.int(-4...4)
        g.note("index=\(i)")
        var rule = FuzzExpectation.throwsError
        if a.rank > 0, let w = TorchRules.wrap(d, rank: a.rank), i >= -a.shape[w], i < a.shape[w] {
            var s = a.shape
            s.remove(at: w)
            rule = .shape(s)
        }
        return [try g.call(rule) { () throws(TapeGradError) in try a.select(dim: d, index: i) }]
    },
    FuzzSpelling("slice") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let d = g.dim(rank: a.rank)
        let start: Int? = g.chance(0.7) ? g.int(-5...5) : nil
        let end: Int? = g.chance(0.7) ? g.int(-5...5) : nil
        let step = g.chance(0.8) ? g.int(1...3) : g.int(-1...0)
        g.note("start=\(start.map(String.init) ?? "nil"), end=\(end.map(String.init) ?? "nil"), step=\(step)")
        var rule = FuzzExpectation.unknown
        if a.rank == 0 || step <= 0 || TorchRules.wrap(d, rank: a.rank) == nil {
            rule = .throwsError
        } else if let w = TorchRules.wrap(d, rank: a.rank) {
            let n = a.shape[w]
            func clampBound(_ v: Int?, _ dflt: Int) -> Int {
                guard var v else { return dflt }
                if v < 0 { v += n }
                return Swift.min(Swift.max(v, 0), n)
            }
            let lo = clampBound(start, 0), hi = clampBound(end, n)
            var s = a.shape
            s[w] = hi > lo ? (hi - lo + step - 1) / step : 0
            rule = .shape(s)
        }
        return [try g.call(rule) { () throws(TapeGradError) in try a.slice(dim: d, start: start, end: end, step: step) }]
    },
    FuzzSpelling("index") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let items = indexItems(&g, rank: a.rank)
        return [try g.call { () throws(TapeGradError) in try a.index(items) }]
    },
    FuzzSpelling("setItem") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let items = indexItems(&g, rank: a.rank)
        let v = g.tensor(g.chance(0.5) ? [] : g.tensorShape(maxRank: 2), label: "value")
        try g.call { () throws(TapeGradError) in try a.setItem(items, to: v) }
        return [a]
    },
    FuzzSpelling("cat") { g throws(TapeGradError) in
        let first = g.tensorShape()
        var parts: [Tensor] = []
        for i in 0..<g.int(0...3) {
            var shape = first
            if g.chance(0.5), !shape.isEmpty { shape[g.int(0...shape.count - 1)] = g.int(0...3) }
            if g.chance(0.1) { shape = g.pick([[0], [], g.tensorShape()]) }
            parts.append(g.tensor(shape, label: "t\(i)"))
        }
        let d = g.dim(rank: first.count)
        return [try g.call { () throws(TapeGradError) in try Tensor.cat(parts, dim: d) }]
    },
    FuzzSpelling("stack") { g throws(TapeGradError) in
        let first = g.tensorShape(maxRank: 8)
        var parts: [Tensor] = []
        for i in 0..<g.int(0...3) {
            var shape = first
            if g.chance(0.2), !shape.isEmpty { shape[g.int(0...shape.count - 1)] = g.int(0...3) }
            parts.append(g.tensor(shape, label: "t\(i)"))
        }
        let d = g.dim(rank: first.count + 1)
        var rule = FuzzExpectation.throwsError
        let same = !parts.isEmpty && parts.allSatisfy { $0.shape == parts[0].shape }
        if same, let w = TorchRules.wrap(d, rank: parts[0].rank + 1), parts[0].rank < 8 {
            var s = parts[0].shape
            s.insert(parts.count, at: w)
            rule = .shape(s)
        } else if same, parts[0].rank >= 8 {
            rule = .unknown  // rank 9: PyTorch allows it, TapeGrad throws its rank limit
        }
        return [try g.call(rule) { () throws(TapeGradError) in try Tensor.stack(parts, dim: d) }]
    },
    reduction("sum(dims:)") { a, d, k throws(TapeGradError) in try a.sum(dims: d, keepDim: k) },
    reduction("mean(dims:)") { a, d, k throws(TapeGradError) in try a.mean(dims: d, keepDim: k) },
    reduction("amax(dims:)") { a, d, k throws(TapeGradError) in try a.amax(dims: d, keepDim: k) },
    FuzzSpelling("sum(dim:)") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let d = g.dim(rank: a.rank)
        let rule: FuzzExpectation = TorchRules.reduce(a.shape, dims: [d], keepDim: false).map { .shape($0) } ?? .throwsError
        return [try g.call(rule) { () throws(TapeGradError) in try a.sum(dim: d) }]
    },
    FuzzSpelling("mean(dim:)") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let d = g.dim(rank: a.rank)
        return [try g.call { () throws(TapeGradError) in try a.mean(dim: d, keepDim: true) }]
    },
    FuzzSpelling("amax(dim:)") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let d = g.dim(rank: a.rank)
        return [try g.call { () throws(TapeGradError) in try a.amax(dim: d) }]
    },
    FuzzSpelling("max()") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        return [try g.call(a.count == 0 ? .throwsError : .shape([])) { () throws(TapeGradError) in try a.max() }]
    },
    FuzzSpelling("max(dim:)") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let d = g.dim(rank: a.rank)
        let keep = g.chance(0.5)
        g.note("keepDim=\(keep)")
        var rule = FuzzExpectation.throwsError
        if let s = TorchRules.reduce(a.shape, dims: [d], keepDim: keep),
           let w = TorchRules.wrap(d, rank: a.rank), a.rank == 0 || a.shape[w] != 0 {
            rule = .shapes([s, s])
        }
        let r = try g.call(rule) { () throws(TapeGradError) in try a.max(dim: d, keepDim: keep) }
        return [r.values, r.indices]
    },
    FuzzSpelling("softmax") { g throws(TapeGradError) in
        let a = g.tensor(label: "self", dtype: g.pick([DType.float32, .float64, .bool]))
        let d = g.dim(rank: a.rank)
        // Bool input: PyTorch's "not implemented for 'Bool'" unless there is nothing to compute.
        let rule: FuzzExpectation = TorchRules.wrap(d, rank: a.rank) == nil || (a.dtype == .bool && a.count > 0)
            ? .throwsError : .shape(a.shape)
        return [try g.call(rule) { () throws(TapeGradError) in try a.softmax(dim: d) }]
    },
    FuzzSpelling("logSoftmax") { g throws(TapeGradError) in
        let a = g.tensor(label: "self", dtype: g.pick([DType.float32, .float64, .bool]))
        let d = g.dim(rank: a.rank)
        // Bool input: PyTorch's "not implemented for 'Bool'" unless there is nothing to compute.
        let rule: FuzzExpectation = TorchRules.wrap(d, rank: a.rank) == nil || (a.dtype == .bool && a.count > 0)
            ? .throwsError : .shape(a.shape)
        return [try g.call(rule) { () throws(TapeGradError) in try logSoftmax(a, dim: d) }]
    },
    FuzzSpelling("where") { g throws(TapeGradError) in
        let a = g.tensor(label: "input")
        let c = maskTensor(&g, for: a.shape)
        let b = g.tensor(g.broadcastPartner(a.shape), label: "other")
        let rule: FuzzExpectation = TorchRules.broadcast(c.shape, a.shape, b.shape) == nil ? .throwsError : .unknown
        return [try g.call(rule) { () throws(TapeGradError) in try Tensor.where(c, a, b) }]
    },
    FuzzSpelling("where(scalar other)") { g throws(TapeGradError) in
        let a = g.tensor(label: "input")
        let c = maskTensor(&g, for: a.shape)
        let v = g.scalar("other")
        return [try g.call { () throws(TapeGradError) in try Tensor.where(c, a, v) }]
    },
    FuzzSpelling("where(scalar input)") { g throws(TapeGradError) in
        let a = g.tensor(label: "other")
        let c = maskTensor(&g, for: a.shape)
        let v = g.scalar("input")
        return [try g.call { () throws(TapeGradError) in try Tensor.where(c, v, a) }]
    },
    FuzzSpelling("self.where") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let c = maskTensor(&g, for: a.shape)
        let b = g.tensor(g.broadcastPartner(a.shape), label: "other")
        return [try g.call { () throws(TapeGradError) in try a.where(c, b) }]
    },
    maskedFillSpelling(inPlace: false, tensorValue: false),
    maskedFillSpelling(inPlace: false, tensorValue: true),
    maskedFillSpelling(inPlace: true, tensorValue: false),
    maskedFillSpelling(inPlace: true, tensorValue: true),
    FuzzSpelling("maskedSelect") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let m = maskTensor(&g, for: a.shape)
        return [try g.call { () throws(TapeGradError) in try a.maskedSelect(m) }]
    },
    FuzzSpelling("index(mask:)") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let m = g.bools(g.chance(0.7) ? Array(a.shape.prefix(g.int(0...a.rank))) : g.tensorShape(), label: "mask")
        return [try g.call { () throws(TapeGradError) in try a.index(mask: m) }]
    },
    FuzzSpelling("indexPut_(mask:)") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let m = g.bools(g.chance(0.7) ? Array(a.shape.prefix(g.int(0...a.rank))) : g.tensorShape(), label: "mask")
        let v = g.tensor(g.chance(0.5) ? [] : g.tensorShape(maxRank: 2), label: "value")
        try g.call { () throws(TapeGradError) in try a.indexPut_(mask: m, v) }
        return [a]
    },
    FuzzSpelling("maskedAssign_(mask:)") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let m = g.bools(g.chance(0.7) ? Array(a.shape.prefix(g.int(0...a.rank))) : g.tensorShape(), label: "mask")
        let v = g.scalar("value")
        try g.call { () throws(TapeGradError) in try a.maskedAssign_(mask: m, v) }
        return [a]
    },
    inPlaceBinary("add_") { a, b throws(TapeGradError) in try a.add_(b) },
    inPlaceBinary("sub_") { a, b throws(TapeGradError) in try a.sub_(b) },
    inPlaceBinary("mul_") { a, b throws(TapeGradError) in try a.mul_(b) },
    inPlaceBinary("div_") { a, b throws(TapeGradError) in try a.div_(b) },
    inPlaceBinary("copy_") { a, b throws(TapeGradError) in try a.copy_(b) },
    inPlaceBinary("add_(alpha:)") { a, b throws(TapeGradError) in try a.add_(b, alpha: 2.5) },
    inPlaceBinary("sub_(alpha:)") { a, b throws(TapeGradError) in try a.sub_(b, alpha: .nan) },
    FuzzSpelling("scalar in-place") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        let v = g.scalar("value")
        switch g.int(0...7) {
        case 0: return [try g.call { () throws(TapeGradError) in try a.add_(v) }]
        case 1: return [try g.call { () throws(TapeGradError) in try a.sub_(v) }]
        case 2: return [try g.call { () throws(TapeGradError) in try a.mul_(v) }]
        case 3: return [try g.call { () throws(TapeGradError) in try a.div_(v) }]
        case 4: return [try g.call { () throws(TapeGradError) in try a.fill_(v) }]
        case 5: return [try g.call { () throws(TapeGradError) in try a.zero_() }]
        case 6:
            let hi = g.scalar("max")
            return [try g.call { () throws(TapeGradError) in try a.clamp_(min: v, max: hi) }]
        default:
            let lo: Double? = g.chance(0.5) ? nil : v
            g.note("min=\(lo.map(String.init(describing:)) ?? "nil")")
            return [try g.call { () throws(TapeGradError) in try a.clamp_(min: lo, max: nil) }]
        }
    },
    FuzzSpelling("nllLoss") { g throws(TapeGradError) in
        let c = g.int(1...4)
        let rank = g.pick([1, 2, 2, 3, 4])
        var shape = rank == 1 ? [c] : [g.int(0...3), c] + (0..<(rank - 2)).map { _ in g.int(1...2) }
        if g.chance(0.1) { shape = g.tensorShape() }
        let input = g.tensor(shape, dtype: g.chance(0.5) ? .float32 : .float64, label: "input")
        let classes = shape.count >= 2 ? shape[1] : (shape.first ?? 1)
        var targetShape = shape
        if !targetShape.isEmpty { targetShape.remove(at: targetShape.count >= 2 ? 1 : 0) }
        if g.chance(0.1) { targetShape = g.tensorShape(maxRank: 2) }
        let n = targetShape.reduce(1, *)
        // Mostly valid class indices or ignoreIndex; now and then one out of range, or a
        // target of a dtype that is refused.
        let target = (0..<n).map { _ -> Int64 in
            g.chance(0.1) ? -100 : g.chance(0.05) ? g.pick([Int64(classes), -1, .max, .min]) : Int64(g.int(0...max(classes - 1, 0)))
        }
        g.note("target=\(targetShape)\(target.prefix(8))")
        let t = try! Tensor(integers: target, shape: targetShape, dtype: g.chance(0.05) ? .float32 : .int64)
        let reduction = g.pick([Reduction.mean, .sum, .none])
        g.note("reduction=\(reduction)")
        if g.chance(0.5) {
            return [try g.call { () throws(TapeGradError) in try crossEntropy(input, t, reduction: reduction) }]
        }
        return [try g.call { () throws(TapeGradError) in try nllLoss(input, t, reduction: reduction) }]
    },
    FuzzSpelling("linear") { g throws(TapeGradError) in
        let input = g.tensor(label: "input", maxRank: 4)
        let inF = g.chance(0.7) ? (input.shape.last ?? 1) : g.int(0...3)
        let w = g.tensor(g.chance(0.85) ? [g.int(0...3), inF] : g.tensorShape(), label: "weight")
        let b: Tensor? = g.chance(0.5) ? g.tensor(g.chance(0.8) ? [w.shape.first ?? 1] : g.tensorShape(maxRank: 2), label: "bias") : nil
        return [try g.call { () throws(TapeGradError) in try linear(input, weight: w, bias: b) }]
    },
    FuzzSpelling("conv2d") { g throws(TapeGradError) in
        let n = g.int(0...2), cin = g.int(0...3), h = g.int(1...6), wd = g.int(1...6)
        let groups = g.chance(0.8) ? 1 : g.int(0...3)
        let cout = g.int(1...3) * max(groups, 1)
        let k = g.int(1...4)
        var inShape = g.chance(0.8) ? [n, cin, h, wd] : [cin, h, wd]
        if g.chance(0.05) { inShape = g.tensorShape() }
        let input = g.tensor(inShape, dtype: g.chance(0.5) ? .float32 : (g.chance(0.8) ? .float64 : .bool), label: "input")
        let wShape = g.chance(0.9) ? [cout, g.chance(0.8) ? cin / max(groups, 1) : g.int(1...3), k, k] : g.tensorShape()
        let weight = g.tensor(wShape, dtype: input.dtype, label: "weight")
        let bias: Tensor? = g.chance(0.5) ? g.tensor([g.chance(0.9) ? cout : g.int(1...4)], dtype: input.dtype, label: "bias") : nil
        let stride = Size2D(g.int(0...2), g.int(1...2)), padding = Size2D(g.int(-1...2), g.int(0...1)), dilation = Size2D(g.int(1...2))
        g.note("stride=\(stride), padding=\(padding), dilation=\(dilation), groups=\(groups)")
        return [try g.call { () throws(TapeGradError) in
            try conv2d(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
        }]
    },
    FuzzSpelling("pool2d") { g throws(TapeGradError) in
        let input = pool2dInput(&g)
        let k = Size2D(g.int(0...3), g.int(1...3))
        let stride: Size2D? = g.chance(0.5) ? nil : Size2D(g.int(0...2), g.int(1...2))
        let padding = Size2D(g.int(-1...2), g.int(0...1))
        g.note("kernelSize=\(k), stride=\(stride.map(\.description) ?? "nil"), padding=\(padding)")
        if g.chance(0.5) {
            return [try g.call { () throws(TapeGradError) in try maxPool2d(input, kernelSize: k, stride: stride, padding: padding) }]
        }
        let countIncludePad = g.chance(0.5)
        g.note("countIncludePad=\(countIncludePad)")
        return [try g.call { () throws(TapeGradError) in try avgPool2d(input, kernelSize: k, stride: stride, padding: padding, countIncludePad: countIncludePad) }]
    },
    FuzzSpelling("adaptiveAvgPool2d") { g throws(TapeGradError) in
        let input = pool2dInput(&g)
        let size = Size2D(g.int(-1...4), g.int(0...4))
        g.note("outputSize=\(size)")
        return [try g.call { () throws(TapeGradError) in try adaptiveAvgPool2d(input, outputSize: size) }]
    },
    FuzzSpelling("batchNorm") { g throws(TapeGradError) in
        let c = g.int(0...3)
        var shape = [g.int(0...3), c] + (0..<g.int(0...2)).map { _ in g.int(1...3) }
        if g.chance(0.1) { shape = g.tensorShape() }
        let input = g.tensor(shape, label: "input")
        let features = g.chance(0.8) ? c : g.int(0...4)
        let stats = g.chance(0.7)
        let rm: Tensor? = stats ? g.tensor([features], dtype: input.dtype == .bool ? .float32 : input.dtype, label: "runningMean") : nil
        let rv: Tensor? = stats ? g.tensor([features], dtype: input.dtype == .bool ? .float32 : input.dtype, label: "runningVar") : nil
        let w: Tensor? = g.chance(0.5) ? g.tensor([features], label: "weight") : nil
        let b: Tensor? = g.chance(0.5) ? g.tensor([features], label: "bias") : nil
        let training = !stats || g.chance(0.5)
        g.note("training=\(training)")
        return [try g.call { () throws(TapeGradError) in
            try batchNorm(input, runningMean: rm, runningVar: rv, weight: w, bias: b, training: training, momentum: 0.1, eps: 1e-5)
        }]
    },
    FuzzSpelling("dropout") { g throws(TapeGradError) in
        let a = g.tensor(label: "input")
        let p = g.chance(0.5) ? g.scalar("p") : Double(g.int(0...10)) / 10
        let training = g.chance(0.8)
        g.note("p=\(p), training=\(training)")
        return [try g.call { () throws(TapeGradError) in try dropout(a, p: p, training: training) }]
    },
    FuzzSpelling("item") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        _ = try g.call { () throws(TapeGradError) in try a.item() }
        return []
    },
    FuzzSpelling("backward") { g throws(TapeGradError) in
        let x = g.tensor(label: "x")
        let y = g.chance(0.5) ? x * x : (g.chance(0.5) ? (x * 2).sum() : x)
        let gradient: Tensor? = g.chance(0.5) ? g.tensor(g.chance(0.6) ? y.shape : g.tensorShape(), label: "gradient") : nil
        let createGraph = g.chance(0.3)
        g.note("createGraph=\(createGraph)")
        try g.call { () throws(TapeGradError) in try y.backward(gradient: gradient, createGraph: createGraph) }
        if g.chance(0.3) {
            // A second backward without retainGraph: PyTorch's "backward through the graph a second time".
            try y.backward(gradient: gradient)
        }
        return []
    },
    FuzzSpelling("grad(of:)") { g throws(TapeGradError) in
        let x = g.tensor(label: "x")
        let z = g.tensor(label: "z")
        let y = g.chance(0.5) ? x * x : (g.chance(0.5) ? (x * 2).sum() : x)
        let gradient: Tensor? = g.chance(0.5) ? g.tensor(g.chance(0.6) ? y.shape : g.tensorShape(), label: "gradOutputs") : nil
        let inputs = g.chance(0.7) ? [x] : [x, z]
        let allowUnused = g.chance(0.5), createGraph = g.chance(0.3)
        g.note("inputs=\(inputs.count), allowUnused=\(allowUnused), createGraph=\(createGraph)")
        let r = try g.call { () throws(TapeGradError) in
            try grad(of: y, withRespectTo: inputs, gradOutputs: gradient, createGraph: createGraph, allowUnused: allowUnused)
        }
        return r.compactMap { $0 }
    },
    FuzzSpelling("Tensor(values:shape:)") { g throws(TapeGradError) in
        let n = g.int(0...12)
        let values = (0..<n).map { _ in g.double() }
        g.note("values=\(n)")
        let shape = g.shapeArgument(count: n)
        let dtype = g.dtype(), rg = g.chance(0.3)
        g.note("dtype=\(dtype), requiresGrad=\(rg)")
        var rule: FuzzExpectation = TorchRules.reshape(shape, count: n).map { .shape($0) } ?? .throwsError
        if rg && dtype == .bool { rule = .throwsError }
        return [try g.call(rule) { () throws(TapeGradError) in try Tensor(values: values, shape: shape, dtype: dtype, requiresGrad: rg) }]
    },
    FuzzSpelling("zeros/ones/full(validating:)") { g throws(TapeGradError) in
        let shape = g.shapeArgument()
        let dtype = g.dtype(), rg = g.chance(0.3)
        let v = g.scalar("value")
        g.note("dtype=\(dtype), requiresGrad=\(rg)")
        let rule: FuzzExpectation = shape.contains(where: { $0 < 0 }) || shape.count > 8 || (rg && dtype == .bool) ? .throwsError : .shape(shape)
        switch g.int(0...2) {
        case 0: return [try g.call(rule) { () throws(TapeGradError) in try Tensor.zeros(validating: shape, dtype: dtype, requiresGrad: rg) }]
        case 1: return [try g.call(rule) { () throws(TapeGradError) in try Tensor.ones(validating: shape, dtype: dtype, requiresGrad: rg) }]
        default: return [try g.call(rule) { () throws(TapeGradError) in try Tensor.full(validating: shape, v, dtype: dtype, requiresGrad: rg) }]
        }
    },
    FuzzSpelling("Tensor(validating:)") { g throws(TapeGradError) in
        let rows = g.int(0...3)
        let data: [[Double]] = (0..<rows).map { _ in (0..<g.int(0...3)).map { _ in g.double() } }
        g.note("data=\(data)")
        let ragged = Set(data.map(\.count)).count > 1
        let dtype = g.dtype()
        g.note("dtype=\(dtype)")
        return [try g.call(ragged ? .throwsError : .unknown) { () throws(TapeGradError) in try Tensor(validating: data, dtype: dtype) }]
    },
    FuzzSpelling("arange") { g throws(TapeGradError) in
        let start = g.chance(0.7) ? Double(g.int(-5...5)) : g.double()
        let end = g.chance(0.7) ? Double(g.int(-5...5)) : g.double()
        let step = g.chance(0.7) ? Double(g.pick([1, 2, -1, 0.5, -0.5, 0])) : g.double()
        g.note("start=\(start), end=\(end), step=\(step)")
        return [try g.call { () throws(TapeGradError) in try Tensor.arange(start, end, step: step) }]
    },
    FuzzSpelling("SafeTensors.load(data:)") { g throws(TapeGradError) in
        // A header of random entries (dtypes, shapes with negative and huge sizes, offsets out
        // of order or past the end), random data, sometimes a cut or a wrong header length.
        var fields: [String] = []
        for i in 0..<g.int(0...3) {
            let dtype = g.pick(["F32", "F64", "I64", "BOOL", "F16", "x"])
            let shape = (0..<g.int(0...3)).map { _ in g.chance(0.9) ? g.int(0...3) : g.pick([-1, 1 << 40, Int.max]) }
            let begin = g.chance(0.9) ? g.int(0...16) : g.pick([-8, 1 << 62])
            let end = g.chance(0.8) ? begin &+ shape.reduce(1, &*) &* (dtype == "F32" ? 4 : 8) : g.int(-4...40)
            let shapeText = g.chance(0.95) ? "[\(shape.map(String.init).joined(separator: ","))]" : g.pick(["\"a\"", "[1.5]", "null"])
            fields.append("\"t\(i)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shapeText),\"data_offsets\":[\(begin),\(end)]}")
        }
        if g.chance(0.2) { fields.append("\"__metadata__\":{\"k\":\"v\"}") }
        var header = Array("{\(fields.joined(separator: ","))}".utf8)
        if g.chance(0.05) { header = Array("[1,2]".utf8) }
        var length = UInt64(header.count)
        if g.chance(0.1) { length = g.pick([0, 7, UInt64(header.count) + 100, UInt64.max, 1 << 40]) }
        var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + header
        bytes += (0..<g.int(0...40)).map { _ in UInt8(truncatingIfNeeded: g.rng.next()) }
        if g.chance(0.1) { bytes = Array(bytes.prefix(g.int(0...bytes.count))) }
        g.note("header=\(String(decoding: header, as: UTF8.self)), length=\(length), bytes=\(bytes.count)")
        let data = Data(bytes)
        let dict = try g.call { () throws(TapeGradError) in try SafeTensors.load(data: data) }
        return dict.entries.map(\.tensor)
    },
    FuzzSpelling("leaf tools") { g throws(TapeGradError) in
        let a = g.tensor(label: "self")
        switch g.int(0...4) {
        case 0:
            let flag = g.chance(0.7)
            g.note("requiresGrad=\(flag)")
            return [try g.call { () throws(TapeGradError) in try a.requiresGrad_(flag) }]
        case 1: return [try g.call { () throws(TapeGradError) in try a.detach_() }]
        case 2:
            try g.call { () throws(TapeGradError) in try a.retainGrad() }
            return [a]
        case 3:
            let v: Tensor? = g.chance(0.8) ? g.tensor(g.chance(0.6) ? a.shape : g.tensorShape(), label: "grad") : nil
            try g.call { () throws(TapeGradError) in try a.setGrad(v) }
            return [a]
        default:
            _ = try g.call { () throws(TapeGradError) in try a.registerHook { _ in nil } }
            return [a]
        }
    },
]

extension Array {
    func shuffledDeterministically(_ g: inout FuzzGen) -> [Element] {
        var out = self
        if out.count > 1 {
            for i in stride(from: out.count - 1, to: 0, by: -1) { out.swapAt(i, g.int(0...i)) }
        }
        return out
    }
}

/// What the fuzz test found, each with PyTorch 2.15's text (crashes before the fix, or a
/// result where PyTorch throws).
@Suite struct FuzzFindsTests {
    @Test func arangeRefusesNonFiniteBoundsAndSteps() {
        #expect(throws: TapeGradError(.runtimeError, "unsupported range: inf -> inf")) { try Tensor.arange(.infinity, .infinity, step: -0.94) }
        #expect(throws: TapeGradError(.runtimeError, "unsupported range: -1.25 -> nan")) { try Tensor.arange(-1.25, .nan) }
        #expect(throws: TapeGradError(.runtimeError, "step must be finite but got nan")) { try Tensor.arange(0, .infinity, step: .nan) }
        #expect(throws: TapeGradError(.runtimeError, "step must be nonzero")) { try Tensor.arange(.infinity, 0, step: 0) }
        #expect(throws: TapeGradError(.runtimeError, "upper bound and lower bound inconsistent with step sign")) { try Tensor.arange(0, 5, step: -1) }
        #expect(throws: TapeGradError(.runtimeError, "invalid size, possible overflow?")) { try Tensor.arange(-1, 1e30) }
    }

    @Test func clampInPlaceNeedsABound() {
        #expect(throws: TapeGradError(.runtimeError, "torch.clamp: At least one of 'min' or 'max' must not be None")) {
            try Tensor.ones(2).clamp_()
        }
    }

    @Test func zeroDimTensorsTakeOnlyDimsMinusOneAndZero() {
        let x = Tensor(1.0)
        #expect(throws: TapeGradError(.indexError, "Dimension out of range (expected to be in range of [-1, 0], but got 100)")) { try x.flatten(startDim: 100, endDim: 0) }
        #expect(throws: TapeGradError(.indexError, "Dimension out of range (expected to be in range of [-1, 0], but got 2)")) { try x.max(dim: 2) }
        #expect(throws: TapeGradError(.runtimeError, "dim 0 appears multiple times in the list of dims")) { try x.sum(dims: [0, -1]) }
        #expect(throws: TapeGradError(.runtimeError, "dim 0 appears multiple times in the list of dims")) { try x.amax(dims: [-1, -1]) }
        #expect(throws: TapeGradError(.indexError, "slice() cannot be applied to a 0-dim tensor.")) { try x.slice(dim: -1, start: 4, step: 2) }
        #expect((try? x.flatten(startDim: -1, endDim: 0).shape) == [1])
    }

    @Test func conv2dRefusesAZeroSizedKernel() {
        #expect(throws: TapeGradError(.runtimeError, "kernel size should be greater than zero, but got kernel_height: 1 kernel_width: 0")) {
            try conv2d(Tensor.ones(1, 2, 3, 5), weight: Tensor.ones(1, 2, 1, 0))
        }
        #expect(throws: TapeGradError(.runtimeError, "kernel size should be greater than zero, but got [1, 0]")) {
            try conv2d(Tensor.ones(1, 2, 3, 5), weight: Tensor.ones(1, 2, 1, 0), stride: 2, padding: Size2D(0, 1), dilation: 2)
        }
    }
}
