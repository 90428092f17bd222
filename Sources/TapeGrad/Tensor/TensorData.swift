/// Values a tensor can be made from: scalars and (nested) arrays of them, as in
/// `Tensor([[1.0, 2.0], [3.0, 4.0]])` (float32) or `Tensor([[4, 4], [9, 9]])` (int64).
public protocol TensorData {
    /// Appends the elements in row-major order and, on first sight of each depth, its size.
    func collect(into values: inout TensorLiterals, shape: inout [Int], depth: Int) throws(TapeGradError)
    /// The dtype a literal of this element type gets when none is asked for.
    static var defaultDType: DType { get }
}

/// The elements of a literal as they were written: integers and bools exactly as `Int64`s,
/// floating-point numbers as `Double`s (a Swift array literal holds one kind).
public struct TensorLiterals {
    var doubles: [Double] = []
    var integers: [Int64] = []
    var count: Int { doubles.count + integers.count }
}

extension Double: TensorData {
    /// Appends the value.
    public func collect(into values: inout TensorLiterals, shape: inout [Int], depth: Int) throws(TapeGradError) {
        values.doubles.append(self)
    }
    /// `float32`, PyTorch's default floating type.
    public static var defaultDType: DType { .float32 }
}

extension Float: TensorData {
    /// Appends the value.
    public func collect(into values: inout TensorLiterals, shape: inout [Int], depth: Int) throws(TapeGradError) {
        values.doubles.append(Double(self))
    }
    /// `float32`.
    public static var defaultDType: DType { .float32 }
}

extension Int: TensorData {
    /// Appends the value.
    public func collect(into values: inout TensorLiterals, shape: inout [Int], depth: Int) throws(TapeGradError) {
        values.integers.append(Int64(self))
    }
    /// `int64`, as PyTorch makes from Python integers.
    public static var defaultDType: DType { .int64 }
}

extension Bool: TensorData {
    /// Appends 1 or 0.
    public func collect(into values: inout TensorLiterals, shape: inout [Int], depth: Int) throws(TapeGradError) {
        values.integers.append(self ? 1 : 0)
    }
    /// `bool`.
    public static var defaultDType: DType { .bool }
}

extension Array: TensorData where Element: TensorData {
    /// Appends every element, checking that nested arrays are not ragged.
    public func collect(into values: inout TensorLiterals, shape: inout [Int], depth: Int) throws(TapeGradError) {
        if shape.count == depth {
            shape.append(count)
        } else if shape[depth] != count {
            throw TapeGradError(.valueError, "expected sequence of length \(shape[depth]) at dim \(depth) (got \(count))")
        }
        for element in self { try element.collect(into: &values, shape: &shape, depth: depth + 1) }
    }
    /// The element type's default.
    public static var defaultDType: DType { Element.defaultDType }
}
