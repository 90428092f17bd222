// A region of a contiguous base, read through a view's sizes, strides and offset: the backward
// of a view whose base took a new history (AsStridedBackward0) and of a write through a view
// (CopySlices) both put a gradient into, or take one out of, such a region.

extension Engine {
    /// The view of `tensor` (of `root`'s shape, contiguous) at the place `region` takes in its
    /// contiguous `root`.
    mutating func regionView(of tensor: Tensor, _ region: TensorSlot, in root: TensorSlot) -> Tensor {
        check(root.isContiguous, "TapeGrad: views are read in a contiguous base")
        return makeView(of: tensor, shape: region.shape, strides: region.strides,
                        offset: slot(tensor).pointee.offset + region.offset - root.offset, autogradView: false)
    }

    /// A bool tensor of `root`'s shape that is true on `region`: a constant that recorded
    /// ops (masked fill, masked select) select the region with.
    mutating func regionMask(_ region: TensorSlot, in root: TensorSlot) -> Tensor {
        let mask = makeZeros(shape: root.shape, dtype: .bool)
        regionView(of: mask, region, in: root).fillStorage(1)
        return mask
    }

    /// Throws unless `region`'s elements lie in memory in the order of its indices (its
    /// strides fall), the order masked selection reads and writes them in.
    static func checkMemoryOrder(_ region: TensorSlot) throws(TapeGradError) {
        var previous = Int.max
        for d in 0..<region.shape.count where region.shape[d] > 1 {
            guard region.strides[d] > 0 && region.strides[d] < previous else {
                throw TapeGradError(.notImplementedError, "TapeGrad: differentiating twice through a transposed, permuted or expanded view of a tensor changed in place is not implemented yet")
            }
            previous = region.strides[d]
        }
    }

    /// `g` (of `region`'s shape) placed into zeros of `root`'s shape, recorded as a masked
    /// scatter when the sweep is recorded.
    mutating func embed(_ g: Tensor, _ region: TensorSlot, in root: TensorSlot) throws(TapeGradError) -> Tensor {
        if backwardIsRecorded {
            try Engine.checkMemoryOrder(region)
            let mask = regionMask(region, in: root)
            let zeros = makeZeros(shape: root.shape, dtype: slot(g).pointee.dtype)
            let flat = Dims(CollectionOfOne(root.shape.product))
            let scattered = try zeros.reshaped(flat).putRows(mask.reshaped(flat), g.reshaped(Dims(CollectionOfOne(region.shape.product))), op: .maskedScatter)
            return scattered.reshaped(root.shape)
        }
        let out = makeZeros(shape: root.shape, dtype: slot(g).pointee.dtype)
        copyValues(from: g, into: regionView(of: out, region, in: root))
        return out
    }

    /// The elements of `g` (of `root`'s shape) in `region`, as a tensor of the region's shape,
    /// recorded as a masked select when the sweep is recorded.
    mutating func extract(_ g: Tensor, _ region: TensorSlot, in root: TensorSlot) throws(TapeGradError) -> Tensor {
        if backwardIsRecorded {
            try Engine.checkMemoryOrder(region)
            return try g.maskedSelect(regionMask(region, in: root)).reshaped(region.shape)
        }
        let g = contiguousOperand(g, as: slot(g).pointee.dtype)
        return regionView(of: g, region, in: root).clone()
    }
}

enum AsStridedBackward {
    /// A view regenerated from its base's new history: the gradient goes into its region of
    /// the base.
    static func asStrided(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        Gradients(a: try engine.pointee.embed(g, r.result.info, in: r.a.info))
    }
}
