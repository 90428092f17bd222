// The cases of a PyTorch reference file (`ops-reference.json`, see
// ../shared/reference/README.md): single-op cases `OP#k` and composed-graph cases `graph_k`.
import Foundation

/// A JSON value, for the free-form `kwargs` of a case.
public enum ConformanceValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConformanceValue])
    case object([String: ConformanceValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ConformanceValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ConformanceValue].self))
        }
    }

    /// The value as an integer, when it is a whole number.
    public var intValue: Int? {
        if case .number(let x) = self, x.isFinite, x.rounded() == x, Swift.abs(x) < 9e15 { return Int(x) }
        return nil
    }

    /// The value as a list of integers, when it is an array of whole numbers.
    public var intArray: [Int]? {
        guard case .array(let items) = self else { return nil }
        var result: [Int] = []
        for item in items {
            guard let i = item.intValue else { return nil }
            result.append(i)
        }
        return result
    }
}

/// The keyword arguments of a case.
public typealias ConformanceKwargs = [String: ConformanceValue]

/// A tensor of a case: shape (`[]` is 0-dimensional), row-major values, whether it requires
/// grad (inputs only; absent means false), and, in the differential reference, a `dtype`:
/// `"bool"` for a mask (values 0 and 1), or another type where a result's differs from the
/// case's (`"float32"` for `exp` of a bool); absent: the case's float type.
public struct ConformanceTensor: Decodable, Sendable, Equatable {
    public var shape: [Int]
    public var values: [Double]
    public var requiresGrad: Bool
    /// The `dtype` field: PyTorch's name without `torch.` (`bool`, `float32`, `int64`, ...).
    public var dtype: String?
    /// Whether `dtype` is `bool`.
    public var isBool: Bool { dtype == "bool" }

    enum CodingKeys: String, CodingKey {
        case shape, values, dtype
        case requiresGrad = "requires_grad"
    }

    public init(shape: [Int], values: [Double], requiresGrad: Bool = false, isBool: Bool = false) {
        self.shape = shape
        self.values = values
        self.requiresGrad = requiresGrad
        self.dtype = isBool ? "bool" : nil
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        shape = try c.decode([Int].self, forKey: .shape)
        values = try c.decode([Double].self, forKey: .values)
        requiresGrad = try c.decodeIfPresent(Bool.self, forKey: .requiresGrad) ?? false
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype)
    }
}

/// One step of a graph program: `[OP, i]`, `[OP, i, j]` or `["mul_sum_last_two"]`.
public struct ConformanceStep: Decodable, Sendable, Equatable {
    public var op: String
    public var operands: [Int]

    public init(op: String, operands: [Int]) {
        self.op = op
        self.operands = operands
    }

    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        op = try c.decode(String.self)
        operands = []
        while !c.isAtEnd { operands.append(try c.decode(Int.self)) }
    }
}

/// One case of a reference file.
public struct ConformanceCase: Decodable, Sendable {
    /// `OP#k` for a single-op case, `graph_k` for a composed graph.
    public var name: String
    public var inputs: [ConformanceTensor]
    public var kwargs: ConformanceKwargs
    /// The gradient fed to `backward(gradient:)` (single-op cases only).
    public var upstream: ConformanceTensor?
    public var output: ConformanceTensor
    /// For each input that requires grad, in order, its expected gradient (`nil`: not reached).
    public var grads: [ConformanceTensor?]
    /// The steps of a composed graph (graph cases only).
    public var program: [ConformanceStep]?

    enum CodingKeys: String, CodingKey {
        case name, inputs, kwargs, upstream, output, grads, program
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        inputs = try c.decode([ConformanceTensor].self, forKey: .inputs)
        kwargs = try c.decodeIfPresent(ConformanceKwargs.self, forKey: .kwargs) ?? [:]
        upstream = try c.decodeIfPresent(ConformanceTensor.self, forKey: .upstream)
        output = try c.decode(ConformanceTensor.self, forKey: .output)
        grads = try c.decode([ConformanceTensor?].self, forKey: .grads)
        program = try c.decodeIfPresent([ConformanceStep].self, forKey: .program)
    }

    /// Whether this is a composed-graph case.
    public var isProgram: Bool { program != nil }

    /// The op of a single-op case (`name` up to `#`); `"graph"` for a composed graph.
    public var op: String {
        if isProgram { return "graph" }
        if let hash = name.firstIndex(of: "#") { return String(name[..<hash]) }
        return name
    }
}

/// A JSON decoder that reads the strings "Infinity", "-Infinity" and "NaN" as numbers.
func conformanceDecoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return decoder
}

/// The cases of a reference file.
public struct ConformanceSuite: Sendable {
    public var generator: String?
    public var cases: [ConformanceCase]

    private struct File: Decodable {
        var generator: String?
        var cases: [ConformanceCase]
    }

    public init(cases: [ConformanceCase], generator: String? = nil) {
        self.cases = cases
        self.generator = generator
    }

    /// Reads a file in the format of `ops-reference.json`.
    public init(contentsOf url: URL) throws {
        try self.init(data: Data(contentsOf: url))
    }

    /// Decodes the contents of a file in the format of `ops-reference.json`.
    public init(data: Data) throws {
        let file = try conformanceDecoder().decode(File.self, from: data)
        self.init(cases: file.cases, generator: file.generator)
    }

    /// The case with the given name.
    public subscript(name: String) -> ConformanceCase? { cases.first { $0.name == name } }

    /// Runs every case, in order.
    public func runAll() -> [(name: String, result: ConformanceResult)] {
        cases.map { ($0.name, run($0)) }
    }
}
