/// The element type of a tensor, PyTorch's `torch.dtype`.
public enum DType: UInt8, Sendable, BitwiseCopyable, CaseIterable, CustomStringConvertible {
    /// 32-bit floating point, the default (`torch.float32`).
    case float32
    /// 64-bit floating point (`torch.float64`).
    case float64
    /// Booleans, stored one byte each (`torch.bool`).
    case bool
    /// 64-bit signed integers (`torch.int64`, `torch.long`): what integer literals make.
    case int64
    /// 32-bit signed integers (`torch.int32`, `torch.int`).
    case int32
    /// 16-bit signed integers (`torch.int16`, `torch.short`).
    case int16
    /// 8-bit signed integers (`torch.int8`).
    case int8
    /// 8-bit unsigned integers (`torch.uint8`).
    case uint8
    /// IEEE 754 half precision (`torch.float16`, `torch.half`): stored in 2 bytes, computed
    /// in float32 and rounded to nearest-even when stored, as PyTorch does on the CPU.
    case float16
    /// Brain floating point (`torch.bfloat16`): float32's exponent with 7 fraction bits,
    /// stored in 2 bytes, computed in float32 and rounded to nearest-even when stored.
    case bfloat16

    /// Bytes per element.
    @inlinable public var itemSize: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        case .bool: 1
        case .int64: 8
        case .int32: 4
        case .int16: 2
        case .int8: 1
        case .uint8: 1
        case .float16, .bfloat16: 2
        }
    }

    /// Whether the dtype is a floating type (`torch.is_floating_point`): only these can
    /// require gradients.
    @inlinable public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float64, .float16, .bfloat16: true
        case .bool, .int64, .int32, .int16, .int8, .uint8: false
        }
    }

    /// Whether the dtype is a 2-byte float type, which kernels compute in float32.
    @inlinable public var isReducedPrecision: Bool {
        switch self {
        case .float16, .bfloat16: true
        case .float32, .float64, .bool, .int64, .int32, .int16, .int8, .uint8: false
        }
    }

    /// The dtype kernels compute this one in: float32 for float16 and bfloat16 (whose results
    /// are rounded back when stored), the dtype itself otherwise.
    var kernelType: DType { isReducedPrecision ? .float32 : self }

    /// Whether the dtype is an integer type (bool is not).
    @inlinable public var isIntegral: Bool {
        switch self {
        case .int64, .int32, .int16, .int8, .uint8: true
        case .float32, .float64, .bool, .float16, .bfloat16: false
        }
    }

    /// PyTorch's spelling, e.g. `torch.float32`.
    public var description: String { "torch." + names.dtype }

    /// The names PyTorch gives the dtype in its messages.
    private var names: (dtype: String, short: String, tensorType: String, scalarType: String) {
        switch self {
        case .float32: ("float32", "float", "torch.FloatTensor", "Float")
        case .float64: ("float64", "double", "torch.DoubleTensor", "Double")
        case .bool: ("bool", "bool", "torch.BoolTensor", "Bool")
        case .int64: ("int64", "long int", "torch.LongTensor", "Long")
        case .int32: ("int32", "int", "torch.IntTensor", "Int")
        case .int16: ("int16", "short int", "torch.ShortTensor", "Short")
        case .int8: ("int8", "signed char", "torch.CharTensor", "Char")
        case .uint8: ("uint8", "unsigned char", "torch.ByteTensor", "Byte")
        case .float16: ("float16", "c10::Half", "torch.HalfTensor", "Half")
        case .bfloat16: ("bfloat16", "c10::BFloat16", "torch.BFloat16Tensor", "BFloat16")
        }
    }

    /// PyTorch's C type name in dtype messages: `float`, `double`, `bool`, `long int`.
    var torchName: String { names.short }

    /// PyTorch's tensor type name in messages: `torch.FloatTensor`, `torch.LongTensor`.
    var torchTypeName: String { names.tensorType }

    /// The type name PyTorch's argument checks (`checkScalarTypes`) print: the tensor type
    /// name, but `CPUBoolType` and `CPUBFloat16Type` for the types without a legacy one.
    var argumentTypeName: String {
        switch self {
        case .bool: "CPUBoolType"
        case .bfloat16: "CPUBFloat16Type"
        case .float32, .float64, .int64, .int32, .int16, .int8, .uint8, .float16: torchTypeName
        }
    }

    /// PyTorch's ScalarType name in messages: `Float`, `Double`, `Bool`, `Long`.
    var scalarTypeName: String { names.scalarType }

    /// The C++ type PyTorch's overflow messages name: `int64_t`, `int`, `uint8_t`, `float`.
    var cTypeName: String {
        switch self {
        case .float32: "float"
        case .float64: "double"
        case .bool: "bool"
        case .int64: "int64_t"
        case .int32: "int"
        case .int16: "int16_t"
        case .int8: "int8_t"
        case .uint8: "uint8_t"
        case .float16: "c10::Half"
        case .bfloat16: "c10::BFloat16"
        }
    }

    /// The smallest and largest value of an integer dtype (0 and 1 for bool, the `Int64`
    /// range for the float types).
    var integerBounds: (min: Int64, max: Int64) {
        switch self {
        case .int64, .float32, .float64, .float16, .bfloat16: (.min, .max)
        case .int32: (Int64(Int32.min), Int64(Int32.max))
        case .int16: (Int64(Int16.min), Int64(Int16.max))
        case .int8: (Int64(Int8.min), Int64(Int8.max))
        case .uint8: (0, Int64(UInt8.max))
        case .bool: (0, 1)
        }
    }

    /// The largest finite value of a floating dtype (`torch.finfo(dtype).max`; 0 for others).
    var greatestFiniteMagnitude: Double {
        switch self {
        case .float32: Double(Float.greatestFiniteMagnitude)
        case .float64: .greatestFiniteMagnitude
        case .float16: Double(Float16.greatestFiniteMagnitude)
        case .bfloat16: Double(BFloat16(bits: 0x7F7F).floatValue)
        case .bool, .int64, .int32, .int16, .int8, .uint8: 0
        }
    }

    /// The gap between 1 and the next value of a floating dtype (`torch.finfo(dtype).eps`; 0
    /// for others).
    var machineEpsilon: Double {
        switch self {
        case .float32: Double(Float.ulpOfOne)
        case .float64: Double.ulpOfOne
        case .float16: 0x1p-10
        case .bfloat16: 0x1p-7
        case .bool, .int64, .int32, .int16, .int8, .uint8: 0
        }
    }

    /// Where the dtype stands in PyTorch's promotion: bool below the integers below the floats.
    enum Category: Int, Comparable {
        case boolean, integral, floating
        static func < (a: Category, b: Category) -> Bool { a.rawValue < b.rawValue }
    }

    var category: Category {
        isFloatingPoint ? .floating : (isIntegral ? .integral : .boolean)
    }

    /// PyTorch's `promoteTypes`: the smallest type both values fit in. Bool yields to every
    /// type, integers to floats; uint8 with a signed type needs a signed type one size up
    /// (uint8 with int8 is int16).
    static func promote(_ a: DType, _ b: DType) -> DType {
        if a == b { return a }
        if a == .bool { return b }
        if b == .bool { return a }
        if a.isFloatingPoint || b.isFloatingPoint {
            // float16 with bfloat16 is float32: neither holds the other's values.
            if a.isReducedPrecision && b.isReducedPrecision { return .float32 }
            if a.isFloatingPoint && b.isFloatingPoint { return a.itemSize >= b.itemSize ? a : b }
            return a.isFloatingPoint ? a : b
        }
        // Two different integer types.
        if a == .uint8 || b == .uint8 {
            let signed = a == .uint8 ? b : a
            return signed == .int8 ? .int16 : signed
        }
        return a.itemSize >= b.itemSize ? a : b
    }

    /// PyTorch's `result_type` of two tensor operands: a tensor with dimensions outranks a
    /// 0-dim tensor unless the 0-dim tensor is of a higher category (`float32 [3] * float64
    /// 0-dim` is float32, `int32 [3] + int64 0-dim` is int32, `bool [3] * float64 0-dim` is
    /// float64).
    static func resultType(_ a: DType, dimensioned aHasDims: Bool, _ b: DType, dimensioned bHasDims: Bool) -> DType {
        var state = ResultType()
        state.add(tensor: a, dimensioned: aHasDims)
        state.add(tensor: b, dimensioned: bHasDims)
        return state.result
    }

    /// The result type of a tensor of this dtype with a Swift number of `kind` (PyTorch's
    /// wrapped numbers: lowest priority; a float number makes an integer tensor's result the
    /// default float type, `int64 + 2.5` is float32).
    func resultType(withNumber kind: ScalarKind) -> DType {
        var state = ResultType()
        state.add(tensor: self, dimensioned: true)
        state.add(number: kind)
        return state.result
    }

    /// PyTorch's `ResultTypeState`: the promoted types of the dimensioned tensors, the 0-dim
    /// tensors and the wrapped numbers, combined by category.
    struct ResultType {
        var dimensioned: DType?, zeroDim: DType?, wrapped: DType?

        mutating func add(tensor dtype: DType, dimensioned hasDims: Bool) {
            if hasDims { dimensioned = Self.promote(dimensioned, dtype) } else { zeroDim = Self.promote(zeroDim, dtype) }
        }

        /// A Swift number: an `Int` counts as int64, a `Double` as the default float type.
        mutating func add(number kind: ScalarKind) {
            wrapped = Self.promote(wrapped, kind.dtype)
        }

        var result: DType {
            Self.combine(dimensioned, Self.combine(zeroDim, wrapped)) ?? .float32
        }

        private static func promote(_ a: DType?, _ b: DType) -> DType {
            a.map { DType.promote($0, b) } ?? b
        }

        /// `combine_categories`: the higher-priority type wins unless the lower one is of a
        /// higher category.
        private static func combine(_ higher: DType?, _ lower: DType?) -> DType? {
            guard let higher else { return lower }
            guard let lower else { return higher }
            if higher.isFloatingPoint { return higher }
            if higher == .bool || lower.isFloatingPoint { return DType.promote(higher, lower) }
            return higher
        }
    }

    /// Whether a result of this type may be written into a tensor of `target` type (PyTorch's
    /// `canCast`: no floating point into an integer or bool, no integer into bool).
    func canCast(to target: DType) -> Bool {
        category <= target.category
    }
}

/// The kind of a Swift number given to a tensor op, which decides the result type as
/// PyTorch's wrapped numbers do.
enum ScalarKind: Int, Sendable, Comparable {
    case boolean, integer, floating

    static func < (a: ScalarKind, b: ScalarKind) -> Bool { a.rawValue < b.rawValue }

    /// The type the number counts as: bool, int64, or the default float type.
    var dtype: DType {
        switch self {
        case .boolean: .bool
        case .integer: .int64
        case .floating: .float32
        }
    }
}
