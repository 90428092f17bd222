/// An n-dimensional array that records the operations made on it, PyTorch's `torch.Tensor`.
///
/// A `Tensor` is a small handle (a slot index and a generation) into the tables of the calling
/// thread's engine: copying it copies the handle, not the data, and no reference counting
/// happens. Tensors made inside ``withStep(_:)`` are released when the step ends; using one
/// after that traps with an explanation. Tensors belong to the thread that made them: using one
/// on another thread traps.
public struct Tensor: BitwiseCopyable, Sendable {
    @usableFromInline let slot: Int32
    @usableFromInline let generation: UInt32

    @inlinable init(slot: Int32, generation: UInt32) {
        self.slot = slot
        self.generation = generation
    }

    /// The handle that names no tensor.
    static let null = Tensor(slot: -1, generation: 0)

    var isNull: Bool { slot < 0 }

    /// Whether two handles name the same tensor (`==` is the elementwise comparison).
    func isSame(_ other: Tensor) -> Bool { slot == other.slot && generation == other.generation }

    @inline(__always)
    var info: TensorSlot { engine.pointee.slot(self).pointee }
}

extension Tensor {
    /// The sizes of each dimension (`tensor.shape` / `tensor.size()`).
    public var shape: [Int] { info.shape.array }

    /// The number of dimensions (`tensor.dim()`).
    public var rank: Int { info.shape.count }

    /// The number of elements (`tensor.numel()`).
    public var count: Int { info.shape.product }

    /// The element type.
    public var dtype: DType { info.dtype }

    /// The step between consecutive elements of each dimension, in elements (`tensor.stride()`).
    public var strides: [Int] { info.strides.array }

    /// Whether the elements lie in row-major order with no gaps (`tensor.is_contiguous()`).
    public var isContiguous: Bool { info.isContiguous }

    /// Whether gradients are recorded for operations on this tensor.
    public var requiresGrad: Bool { info.flags.contains(.requiresGrad) }

    /// A tensor is a leaf when no recorded operation made it: it was created by the user, or
    /// does not require grad. Only leaves accumulate `grad` during backward.
    public var isLeaf: Bool { engine.pointee.history(self) < 0 }

    /// The node that made this tensor, or `nil` for a leaf (`tensor.grad_fn`).
    public var gradFn: GradFn? {
        let record = engine.pointee.history(self)
        guard record >= 0 else { return nil }
        return GradFn(name: engine.pointee.tape[Int(record)].nodeName)
    }

    /// The gradient accumulated by backward passes: set for leaves that require grad, and for
    /// non-leaves after `retainGrad()`. Reading it on a non-leaf that does not retain its
    /// gradient reports PyTorch's warning and gives `nil`.
    ///
    /// Setting `nil` drops the gradient (PyTorch's `zero_grad(set_to_none=True)`, the cheapest
    /// way to reset it: the next backward stores its gradient without an add); setting a tensor
    /// of this shape and dtype makes it the gradient.
    public var grad: Tensor? {
        get { gradForReading }
        nonmutating set { trapping { try setGrad(newValue) } }
    }

    /// Replaces the gradient (`tensor.grad = value`); throws when the shape or dtype differ.
    public func setGrad(_ value: Tensor?) throws(TapeGradError) {
        let e = engine
        let s = info
        if let value {
            let v = value.info
            guard v.shape == s.shape else {
                throw .runtime("attempting to assign a gradient of size '\(v.shape.array.bracketed)' to a tensor of size '\(s.shape.array.bracketed)'. Please ensure that the gradient and the tensor are the same size")
            }
            guard v.dtype == s.dtype else {
                throw .runtime("attempting to assign a gradient with dtype '\(v.dtype.torchName)' to a tensor with grad_dtype '\(s.dtype.scalarTypeName)'. The gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break downstream systems that assume they match.")
            }
        }
        e.pointee.releaseOwned(s.grad)
        e.pointee.slot(self).pointee.grad = value ?? .null
    }

    private var gradForReading: Tensor? {
        let slot = info
        if slot.gradFn >= 0 && !slot.flags.contains(.retainsGrad) {
            Warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information.")
        }
        return slot.grad.isNull ? nil : slot.grad
    }

    /// Whether this handle still names a live tensor (false once its step has ended). Traps
    /// when another thread made the tensor.
    public var isAlive: Bool {
        let e = engine
        if e.pointee.isAlive(self) { return true }
        if !isNull && !e.pointee.owns(self) { Engine.crossThreadUse() }
        return false
    }
}

/// The operation that made a tensor, PyTorch's `grad_fn` node.
public struct GradFn: Sendable, Equatable, CustomStringConvertible {
    /// PyTorch's class name for the node, e.g. `AddBackward0`.
    public let name: String

    /// The node's name; PyTorch prints `<AddBackward0 object at 0x…>`.
    public var description: String { name }
}
