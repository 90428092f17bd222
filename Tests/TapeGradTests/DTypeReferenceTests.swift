import Foundation
import Testing

@testable import TapeGrad

/// `Resources/dtype-reference.json`, written by scripts/make-dtype-reference.py from PyTorch
/// 2.15: `result_type` of every pair of operands (tensors with dimensions, 0-dim tensors,
/// Python numbers) over every dtype, float and integer casts with their edge cases, and a list
/// of ops on each dtype with the result's dtype, values and repr, or PyTorch's error.
struct DTypeReference: Decodable {
    /// A JSON number kept exactly (an integer as `Int64`), or `"nan"`, `"inf"`, `"-inf"`.
    enum Value: Decodable, Equatable, Sendable {
        case integer(Int64), double(Double)

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let v = try? c.decode(Int64.self) { self = .integer(v); return }
            if let v = try? c.decode(Double.self) { self = .double(v); return }
            switch try c.decode(String.self) {
            case "nan": self = .double(.nan)
            case "inf": self = .double(.infinity)
            case "-inf": self = .double(-.infinity)
            case let other: throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a number: \(other)")
            }
        }

        var double: Double {
            switch self {
            case .integer(let v): Double(v)
            case .double(let v): v
            }
        }

        var integer: Int64 {
            switch self {
            case .integer(let v): v
            case .double(let v): Int64(v)
            }
        }
    }

    struct ResultType: Decodable { var a: [String], b: [String], result: String }
    struct Conversion: Decodable { var from: String, values: [Value], to: String, result: [Value] }
    struct Failure: Decodable, Sendable { var type: String, message: String }

    /// One op on a tensor of `dtype` holding `input`: PyTorch's result, or its error.
    struct OpCase: Decodable, Sendable, CustomTestStringConvertible {
        var op: String, dtype: String, input: [Value]
        var result_dtype: String?, shape: [Int]?, result: [Value]?, repr: String?
        var error: Failure?

        var testDescription: String { "\(op) of \(dtype)" }
    }

    var result_types: [ResultType]
    var conversions: [Conversion]
    var ops: [OpCase]
    var factories: [OpCase]

    static let file: DTypeReference = referenceResource("dtype-reference") { url in
        try JSONDecoder().decode(DTypeReference.self, from: Data(contentsOf: url))
    }
}

extension DType {
    /// The dtype PyTorch names `name` (without `torch.`).
    init?(name: String) {
        guard let type = DType.allCases.first(where: { $0.description == "torch." + name }) else { return nil }
        self = type
    }
}

@Suite struct DTypeReferenceTests {
    /// A tensor of `dtype` holding `values` (integers exactly).
    static func tensor(_ values: [DTypeReference.Value], shape: [Int], _ dtype: DType) throws -> Tensor {
        dtype.isFloatingPoint
            ? try Tensor(values: values.map(\.double), shape: shape, dtype: dtype)
            : try Tensor(integers: values.map(\.integer), shape: shape, dtype: dtype)
    }

    /// `torch.result_type` for every pair, as DType's promotion computes it and as `mul` (which
    /// takes every dtype) gives it.
    @Test func resultTypeOfEveryPair() throws {
        let reference = DTypeReference.file
        #expect(reference.result_types.count == 10 * 2 * (10 * 2 + 3))
        for entry in reference.result_types {
            let a = try #require(DType(name: entry.a[1])), expected = try #require(DType(name: entry.result))
            let aHasDims = entry.a[0] == "tensor"
            if entry.b[0] == "number" {
                let kind: ScalarKind = entry.b[1] == "int" ? .integer : (entry.b[1] == "float" ? .floating : .boolean)
                var state = DType.ResultType()
                state.add(tensor: a, dimensioned: aHasDims)
                state.add(number: kind)
                #expect(state.result == expected, "\(entry.a) with a Python \(entry.b[1])")
                continue
            }
            let b = try #require(DType(name: entry.b[1]))
            let bHasDims = entry.b[0] == "tensor"
            #expect(DType.resultType(a, dimensioned: aHasDims, b, dimensioned: bHasDims) == expected, "\(entry.a) with \(entry.b)")
            let x = Tensor.zeros(aHasDims ? [2] : [], dtype: a), y = Tensor.zeros(bHasDims ? [2] : [], dtype: b)
            #expect(try x.mul(y).dtype == expected, "\(entry.a) * \(entry.b)")
        }
    }

    /// Casts of floats (out of range, NaN, fractions) and of int64 (wrapping) to every dtype.
    @Test func conversionsMatchPyTorchsCasts() throws {
        for entry in DTypeReference.file.conversions {
            let from = try #require(DType(name: entry.from)), to = try #require(DType(name: entry.to))
            let converted = try Self.tensor(entry.values, shape: [entry.values.count], from).to(to)
            #expect(converted.dtype == to)
            if to.isFloatingPoint {
                let got = converted.scalars()
                for (g, e) in zip(got, entry.result.map(\.double)) {
                    #expect(g == e || (g.isNaN && e.isNaN), "\(entry.from) -> \(entry.to): \(got) vs \(entry.result)")
                }
            } else {
                #expect(converted.integerScalars() == entry.result.map(\.integer), "\(entry.from) -> \(entry.to)")
            }
        }
    }

    /// The ops of the reference as TapeGrad spells them.
    static let ops: [String: @Sendable (Tensor) throws -> Tensor] = [
        "add_self": { try $0.add($0) },
        "sub_self": { try $0.sub($0) },
        "mul_self": { try $0.mul($0) },
        "div_self": { try $0.div($0.mul(0).add(2)) },
        "add_int": { $0.add(2) },
        "add_float": { $0.add(2.5) },
        "mul_int": { $0.mul(3) },
        "mul_float": { $0.mul(0.5) },
        "rsub_int": { try $0.rsub(10) },
        "div_int": { $0.div(2) },
        "neg": { try $0.neg() },
        "abs": { try $0.abs() },
        "relu": { try $0.relu() },
        "sign": { $0.sign() },
        "pow_int": { try $0.pow(validating: 2) },
        "pow_float": { $0.pow(2.0) },
        "exp": { $0.exp() },
        "sqrt_abs": { try $0.abs().sqrt() },
        "clamp_int": { $0.clamp(min: 1) },
        "clamp_float": { $0.clamp(min: 0.5) },
        "sum": { $0.sum() },
        "sum_dim": { try $0.view(2, 2).sum(dim: 1) },
        "mean": { try $0.mean() },
        "max": { try $0.max() },
        "amax": { try $0.view(2, 2).amax(dim: 1) },
        "max_dim_indices": { try $0.view(2, 2).max(dim: 1).indices },
        "argmax": { try $0.argmax() },
        "gt_int": { $0 > 1 },
        "gt_float": { $0 > 1.5 },
        "eq_self": { try $0.eq($0) },
        "to_float": { $0.float() },
        "to_double": { $0.double() },
        "to_long": { $0.long() },
        "to_int": { $0.int() },
        "to_short": { $0.short() },
        "to_char": { $0.char() },
        "to_byte": { $0.byte() },
        "to_bool": { $0.bool() },
        "to_half": { $0.half() },
        "to_bfloat16": { $0.bfloat16() },
        "sigmoid": { $0.sigmoid() },
        "softmax": { try $0.softmax(dim: 0) },
        "matmul_self": { try $0.view(2, 2).matmul($0.view(2, 2)) },
        "fill_int": { try $0.clone().fill_(5) },
        "fill_float": { try $0.clone().fill_(2.5) },
        "fill_big": { try $0.clone().fill_(1000) },
        "fill_negative": { try $0.clone().fill_(-1) },
        "fill_inf": { try $0.clone().fill_(Double.infinity) },
        "add_inplace_int": { try $0.clone().add_(1) },
        "add_inplace_float": { try $0.clone().add_(0.5) },
        "index_select": { try $0.indexSelect(dim: 0, Tensor([3, 0, 3])) },
        "int_index": { try $0.index(Tensor([[1, -1]])) },
        "arange_like": { try Tensor.arange(0, 4).add($0) },
        "zero_dim_long": { try $0.mul(Tensor(2)) },
        "zero_dim_double": { try $0.mul(Tensor(2.0, dtype: .float64)) },
        "where_float": { try Tensor.where(Tensor([true, false, true, false]), $0, 2.5) },
        "where_int": { try Tensor.where(Tensor([true, false, true, false]), 2, $0) },
        "floor_divide_int": { try $0.floorDivide(2) },
        "floor_divide_float": { try $0.floorDivide(1.5) },
        "floor_divide_zero": { try $0.floorDivide(0) },
        "remainder_int": { try $0.remainder(3) },
        "remainder_float": { try $0.remainder(1.5) },
        "and_int": { try $0.bitwiseAnd(6) },
        "or_self": { try $0.bitwiseOr($0) },
        "xor_int": { try $0.bitwiseXor(5) },
        "left_shift": { try $0.leftShift(1) },
        "right_shift": { try $0.rightShift(1) },
        "invert": { try $0.bitwiseNot() },
        "maximum_long": { try $0.maximum(Tensor(2)) },
        "minimum_float": { try $0.minimum(Tensor([1.5, 1.5, 1.5, 1.5])) },
    ]

    @Test func everyRecordedOpHasASpelling() {
        #expect(Set(DTypeReference.file.ops.map(\.op)) == Set(Self.ops.keys))
        #expect(Set(DTypeReference.file.factories.map(\.op)) == Set(Self.factories.keys))
    }

    /// The factories and integer functions of the reference as TapeGrad spells them.
    static let factories: [String: @Sendable () throws -> Tensor] = [
        "eye_3": { try Tensor.eye(3) },
        "eye_2_3_long": { try Tensor.eye(2, 3, dtype: .int64) },
        "eye_negative": { try Tensor.eye(-1) },
        "eye_negative_m": { try Tensor.eye(2, -1) },
        "linspace_5": { try Tensor.linspace(0, 1, steps: 5) },
        "linspace_7_double": { try Tensor.linspace(-1.3, 2.9, steps: 7, dtype: .float64) },
        "linspace_float_odd": { try Tensor.linspace(0.1, 0.7, steps: 9) },
        "linspace_1": { try Tensor.linspace(3, 5, steps: 1) },
        "linspace_0": { try Tensor.linspace(3, 5, steps: 0) },
        "linspace_long": { try Tensor.linspace(0, 10, steps: 4, dtype: .int64) },
        "linspace_negative": { try Tensor.linspace(0, 1, steps: -1) },
        "randint_empty_range": { try Tensor.randint(5, 5, [2]) },
        "randint_negative_size": { try Tensor.randint(0, 5, [-1]) },
        "randperm_negative": { try Tensor.randperm(-1) },
        "randperm_0": { try Tensor.randperm(0) },
        "one_hot": { try Tensor([0, 2]).oneHot(numClasses: 3) },
        "one_hot_inferred": { try Tensor([[0, 2], [1, 1]]).oneHot() },
        "one_hot_float": { try Tensor([0.0, 2.0]).oneHot() },
        "one_hot_int32": { try Tensor([0, 2], dtype: .int32).oneHot() },
        "one_hot_negative": { try Tensor([-1, 2]).oneHot() },
        "one_hot_too_big": { try Tensor([0, 3]).oneHot(numClasses: 3) },
        "one_hot_empty": { try Tensor(integers: [], shape: [0]).oneHot() },
        "one_hot_empty_3": { try Tensor(integers: [], shape: [0]).oneHot(numClasses: 3) },
        "one_hot_scalar": { try Tensor(1).oneHot(numClasses: 3) },
        "tril": { try Tensor.arange(0.0, 12).view(3, 4).tril() },
        "tril_1d": { try Tensor.ones(3).tril() },
        "triu_batched": { try Tensor.arange(0, 24).view(2, 3, 4).triu(1) },
        "tril_bool": { try Tensor.ones(2, 3, dtype: .bool).tril(-1) },
        "triu_far": { try Tensor.ones(2, 3).triu(-5) },
        "nonzero": { Tensor([[0, 1], [2, 0]]).nonzero() },
        "nonzero_scalar": { Tensor(3.0).nonzero() },
        "nonzero_zero": { Tensor(0.0).nonzero() },
        "nonzero_nan": { Tensor([Double.nan, 0.0]).nonzero() },
        "nonzero_empty": { Tensor.zeros(2, 0).nonzero() },
        "bincount": { try Tensor([0, 2, 2, 5]).bincount() },
        "bincount_minlength": { try Tensor([0, 2, 2, 5]).bincount(minLength: 8) },
        "bincount_weights": { try Tensor([0, 2, 2]).bincount(weights: Tensor([0.5, 1.0, 2.0])) },
        "bincount_double_weights": { try Tensor([0, 2, 2]).bincount(weights: Tensor([0.5, 1.0, 2.0], dtype: .float64)) },
        "bincount_long_weights": { try Tensor([0, 2, 2]).bincount(weights: Tensor([1, 2, 3])) },
        "bincount_negative": { try Tensor([-1, 2]).bincount() },
        "bincount_2d": { try Tensor([[1, 2]]).bincount() },
        "bincount_float": { try Tensor([1.0, 2.0]).bincount() },
        "bincount_empty": { try Tensor(integers: [], shape: [0]).bincount() },
        "bincount_bad_minlength": { try Tensor([1, 2]).bincount(minLength: -1) },
        "bincount_bad_weights": { try Tensor([1, 2]).bincount(weights: Tensor([1.0])) },
        "bincount_bool": { try Tensor([true, false]).bincount() },
        "bincount_uint8": { try Tensor([1, 2], dtype: .uint8).bincount() },
        "multinomial_certain": { try Tensor([0.0, 1.0]).multinomial(1) },
        "multinomial_exhausted": { try Tensor([0.0, 1.0]).multinomial(2) },
        "multinomial_replacement": { try Tensor([0.0, 1.0]).multinomial(2, replacement: true) },
        "multinomial_rows": { try Tensor([[0.0, 3.0], [2.0, 0.0]]).multinomial(1) },
        "multinomial_negative": { try Tensor([-1.0, 1.0]).multinomial(1) },
        "multinomial_zero": { try Tensor([0.0, 0.0]).multinomial(1) },
        "multinomial_3d": { try Tensor([[[1.0]]]).multinomial(1) },
        "multinomial_long": { try Tensor([1, 2]).multinomial(1) },
        "multinomial_no_samples": { try Tensor([1.0, 2.0]).multinomial(0) },
        "multinomial_too_many": { try Tensor([1.0, 2.0]).multinomial(3) },
        "multinomial_inf": { try Tensor([Double.infinity, 2.0]).multinomial(1) },
        "full_half_big": { try Tensor.full(validating: [2], 1e6, dtype: .float16) },
        "full_half_one": { try Tensor.full(validating: [1], 1e6, dtype: .float16) },
        "full_bfloat16_big": { try Tensor.full(validating: [2], 1e39, dtype: .bfloat16) },
        "fill_half_one": { try Tensor.zeros(1, dtype: .float16).fill_(70000.0) },
        "linspace_half": { try Tensor.linspace(0, 1, steps: 7, dtype: .float16) },
        "half_underflow": { try Tensor([1e-8, 1.0], dtype: .float16) },
        "half_overflow_literal": { try Tensor([1e6, 1.0], dtype: .float16) },
        "half_small": { try Tensor([1.5e-5, 3e-5], dtype: .float16) },
        "bfloat16_large": { try Tensor([100000.0, 1.0], dtype: .bfloat16) },
        "bfloat16_matrix": { try Tensor([[1.0, -2.5], [1e-3, 3.0]], dtype: .bfloat16) },
        "half_plus_bfloat16": { try Tensor.ones(2, dtype: .float16).add(Tensor.ones(2, dtype: .bfloat16)) },
        "half_plus_long": { try Tensor.ones(2, dtype: .float16).add(Tensor([1, 2])) },
        "half_sum_many": { try Tensor.full([4096], 1.0, dtype: .float16).sum() },
        "bfloat16_mean_many": { try Tensor.arange(0.0, 1000).bfloat16().div(1000).mean() },
        "half_grad": {
            let x = try Tensor([0.1, 0.5, 2.0], dtype: .float16, requiresGrad: true)
            try x.exp().mul(x).sum().backward()
            return try #require(x.grad)
        },
        "zeros_like_long": { Tensor.ones(2, 3).zerosLike(dtype: .int64) },
        "ones_like_half": { Tensor.ones(2).onesLike(dtype: .float16) },
        "unique_counts": { Tensor([3, 1, 3, 2]).unique(sorted: true, returnInverse: false, returnCounts: true).counts! },
        "unique_inverse": { Tensor([[3, 1], [3, 2]]).unique(sorted: true, returnInverse: true, returnCounts: false).inverse! },
    ]

    @Test(arguments: DTypeReference.file.factories)
    func factoryMatchesPyTorch(_ c: DTypeReference.OpCase) throws {
        let make = try #require(Self.factories[c.op])
        try Self.check({ _ in try make() }, on: Tensor(0.0), c)
    }

    /// Each op on each dtype: PyTorch's dtype, values and repr, or its error.
    @Test(arguments: DTypeReference.file.ops)
    func opMatchesPyTorch(_ c: DTypeReference.OpCase) throws {
        let op = try #require(Self.ops[c.op])
        let dtype = try #require(DType(name: c.dtype))
        try Self.check(op, on: try Self.tensor(c.input, shape: [c.input.count], dtype), c)
    }

    /// `op(x)` against the case: PyTorch's error, or its dtype, shape, values and repr.
    static func check(_ op: (Tensor) throws -> Tensor, on x: Tensor, _ c: DTypeReference.OpCase) throws {
        if let error = c.error {
            #expect(throws: TapeGradError(try #require(TapeGradError.Kind(rawValue: error.type)), error.message)) { _ = try op(x) }
            return
        }
        let out = try op(x)
        #expect(out.dtype == DType(name: c.result_dtype ?? ""))
        #expect(out.shape == c.shape)
        let expected = try #require(c.result)
        if out.dtype.isFloatingPoint {
            let got = out.scalars()
            let close = zip(got, expected.map(\.double)).allSatisfy { g, e in g == e || (g.isNaN && e.isNaN) || abs(g - e) <= 1e-6 * abs(e) }
            #expect(close, "\(got) vs \(expected)")
        } else {
            #expect(out.integerScalars() == expected.map(\.integer))
        }
        #expect(out.description == c.repr)
    }
}
