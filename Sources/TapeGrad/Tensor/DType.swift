/// The element type of a tensor, PyTorch's `torch.dtype`.
public enum DType: UInt8, Sendable, BitwiseCopyable, CustomStringConvertible {
    /// 32-bit floating point, the default (`torch.float32`).
    case float32
    /// 64-bit floating point (`torch.float64`).
    case float64
    /// Booleans, stored one byte each (`torch.bool`).
    case bool

    /// Bytes per element.
    @inlinable public var itemSize: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        case .bool: 1
        }
    }

    /// Whether tensors of this type can require gradients.
    @inlinable public var isFloatingPoint: Bool { self != .bool }

    /// PyTorch's spelling, e.g. `torch.float32`.
    public var description: String {
        switch self {
        case .float32: "torch.float32"
        case .float64: "torch.float64"
        case .bool: "torch.bool"
        }
    }

    /// PyTorch's short name in dtype messages: `float`, `double`, `bool`.
    var torchName: String { self == .float64 ? "double" : (self == .float32 ? "float" : "bool") }

    /// PyTorch's tensor type name in messages: `torch.FloatTensor`, `torch.DoubleTensor`, `torch.BoolTensor`.
    var torchTypeName: String {
        self == .float64 ? "torch.DoubleTensor" : (self == .float32 ? "torch.FloatTensor" : "torch.BoolTensor")
    }

    /// PyTorch's ScalarType name in messages: `Float`, `Double`, `Bool`.
    var scalarTypeName: String {
        switch self {
        case .float32: "Float"
        case .float64: "Double"
        case .bool: "Bool"
        }
    }

    /// The type of an operation's result on two operands of the same rank class: the wider
    /// float wins, bool yields to floats.
    static func promote(_ a: DType, _ b: DType) -> DType {
        if a == b { return a }
        if a == .float64 || b == .float64 { return .float64 }
        return .float32
    }

    /// PyTorch's `result_type` of two tensor operands. Categories rank bool below floating
    /// point; a tensor with dimensions outranks a 0-dim tensor of the same category
    /// (`float32 [3] * float64 0-dim` is float32), a 0-dim tensor of a higher category wins
    /// (`bool [3] * float64 0-dim` is float64).
    static func resultType(_ a: DType, dimensioned aHasDims: Bool, _ b: DType, dimensioned bHasDims: Bool) -> DType {
        if aHasDims == bHasDims { return promote(a, b) }
        let (withDims, zeroDim) = aHasDims ? (a, b) : (b, a)
        return withDims.isFloatingPoint ? withDims : promote(withDims, zeroDim)
    }

    /// Whether a result of this type may be written into a tensor of `target` type (PyTorch's
    /// `canCast`: no floating point into bool).
    func canCast(to target: DType) -> Bool {
        !(isFloatingPoint && !target.isFloatingPoint)
    }
}
