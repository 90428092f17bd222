// Elementwise comparisons. Their results are bool tensors that never require grad.

enum EqualKernel: CompareKernel { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a == b } }
enum NotEqualKernel: CompareKernel { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a != b } }
enum LessKernel: CompareKernel { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b } }
enum LessEqualKernel: CompareKernel { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b } }
enum GreaterKernel: CompareKernel { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b } }
enum GreaterEqualKernel: CompareKernel { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b } }

extension Tensor {
    @inline(__always)
    private func compared<K: CompareKernel>(_ kernel: K.Type, _ other: Tensor) throws(TapeGradError) -> Tensor {
        try memory.compare(kernel, self, other)
    }

    @inline(__always)
    private func compared<K: CompareKernel>(_ kernel: K.Type, _ value: Number) -> Tensor {
        // `int64 > 2.5` compares in float32, `int64 > 2` in int64.
        let other = numberOperand(value)
        return trapping { try memory.compare(kernel, self, other) }
    }

    /// Elementwise `==` (`torch.eq`), with broadcasting.
    public func eq(_ other: Tensor) throws(TapeGradError) -> Tensor { try compared(EqualKernel.self, other) }
    /// Elementwise `!=` (`torch.ne`), with broadcasting.
    public func ne(_ other: Tensor) throws(TapeGradError) -> Tensor { try compared(NotEqualKernel.self, other) }
    /// Elementwise `<` (`torch.lt`), with broadcasting.
    public func lt(_ other: Tensor) throws(TapeGradError) -> Tensor { try compared(LessKernel.self, other) }
    /// Elementwise `<=` (`torch.le`), with broadcasting.
    public func le(_ other: Tensor) throws(TapeGradError) -> Tensor { try compared(LessEqualKernel.self, other) }
    /// Elementwise `>` (`torch.gt`), with broadcasting.
    public func gt(_ other: Tensor) throws(TapeGradError) -> Tensor { try compared(GreaterKernel.self, other) }
    /// Elementwise `>=` (`torch.ge`), with broadcasting.
    public func ge(_ other: Tensor) throws(TapeGradError) -> Tensor { try compared(GreaterEqualKernel.self, other) }

    /// Elementwise `==`, a bool tensor; traps when the shapes do not broadcast (`eq(_:)` throws).
    public static func == (a: Tensor, b: Tensor) -> Tensor { trapping { try a.eq(b) } }
    /// Elementwise `!=`, a bool tensor; traps when the shapes do not broadcast (`ne(_:)` throws).
    public static func != (a: Tensor, b: Tensor) -> Tensor { trapping { try a.ne(b) } }
    /// Elementwise `<`, a bool tensor; traps when the shapes do not broadcast (`lt(_:)` throws).
    public static func < (a: Tensor, b: Tensor) -> Tensor { trapping { try a.lt(b) } }
    /// Elementwise `<=`, a bool tensor; traps when the shapes do not broadcast (`le(_:)` throws).
    public static func <= (a: Tensor, b: Tensor) -> Tensor { trapping { try a.le(b) } }
    /// Elementwise `>`, a bool tensor; traps when the shapes do not broadcast (`gt(_:)` throws).
    public static func > (a: Tensor, b: Tensor) -> Tensor { trapping { try a.gt(b) } }
    /// Elementwise `>=`, a bool tensor; traps when the shapes do not broadcast (`ge(_:)` throws).
    public static func >= (a: Tensor, b: Tensor) -> Tensor { trapping { try a.ge(b) } }

    /// Elementwise `== value`.
    public static func == (a: Tensor, value: Double) -> Tensor { a.compared(EqualKernel.self, Number(value)) }
    /// Elementwise `== value` for an integer (exact for integer tensors).
    public static func == (a: Tensor, value: Int) -> Tensor { a.compared(EqualKernel.self, Number(value)) }
    /// Elementwise `!= value`.
    public static func != (a: Tensor, value: Double) -> Tensor { a.compared(NotEqualKernel.self, Number(value)) }
    /// Elementwise `!= value` for an integer (exact for integer tensors).
    public static func != (a: Tensor, value: Int) -> Tensor { a.compared(NotEqualKernel.self, Number(value)) }
    /// Elementwise `< value`.
    public static func < (a: Tensor, value: Double) -> Tensor { a.compared(LessKernel.self, Number(value)) }
    /// Elementwise `< value` for an integer (exact for integer tensors).
    public static func < (a: Tensor, value: Int) -> Tensor { a.compared(LessKernel.self, Number(value)) }
    /// Elementwise `<= value`.
    public static func <= (a: Tensor, value: Double) -> Tensor { a.compared(LessEqualKernel.self, Number(value)) }
    /// Elementwise `<= value` for an integer (exact for integer tensors).
    public static func <= (a: Tensor, value: Int) -> Tensor { a.compared(LessEqualKernel.self, Number(value)) }
    /// Elementwise `> value`.
    public static func > (a: Tensor, value: Double) -> Tensor { a.compared(GreaterKernel.self, Number(value)) }
    /// Elementwise `> value` for an integer (exact for integer tensors).
    public static func > (a: Tensor, value: Int) -> Tensor { a.compared(GreaterKernel.self, Number(value)) }
    /// Elementwise `>= value`.
    public static func >= (a: Tensor, value: Double) -> Tensor { a.compared(GreaterEqualKernel.self, Number(value)) }
    /// Elementwise `>= value` for an integer (exact for integer tensors).
    public static func >= (a: Tensor, value: Int) -> Tensor { a.compared(GreaterEqualKernel.self, Number(value)) }

    /// `value == a` elementwise.
    public static func == (value: Double, a: Tensor) -> Tensor { a == value }
    /// `value == a` elementwise.
    public static func == (value: Int, a: Tensor) -> Tensor { a == value }
    /// `value != a` elementwise.
    public static func != (value: Double, a: Tensor) -> Tensor { a != value }
    /// `value != a` elementwise.
    public static func != (value: Int, a: Tensor) -> Tensor { a != value }
    /// `value < a` elementwise.
    public static func < (value: Double, a: Tensor) -> Tensor { a > value }
    /// `value < a` elementwise.
    public static func < (value: Int, a: Tensor) -> Tensor { a > value }
    /// `value <= a` elementwise.
    public static func <= (value: Double, a: Tensor) -> Tensor { a >= value }
    /// `value <= a` elementwise.
    public static func <= (value: Int, a: Tensor) -> Tensor { a >= value }
    /// `value > a` elementwise.
    public static func > (value: Double, a: Tensor) -> Tensor { a < value }
    /// `value > a` elementwise.
    public static func > (value: Int, a: Tensor) -> Tensor { a < value }
    /// `value >= a` elementwise.
    public static func >= (value: Double, a: Tensor) -> Tensor { a <= value }
    /// `value >= a` elementwise.
    public static func >= (value: Int, a: Tensor) -> Tensor { a <= value }
}

// MARK: Logical ops (bool results, never recorded)

extension Tensor {
    /// `true` where an element is zero (`torch.logical_not`); any dtype.
    public func logicalNot() -> Tensor { self == 0 }

    /// `true` where exactly one of the two is nonzero (`torch.logical_xor`), with broadcasting.
    public func logicalXor(_ other: Tensor) throws(TapeGradError) -> Tensor { try (self != 0).ne(other != 0) }


}
