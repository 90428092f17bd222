// A region of a contiguous base, read through a view's sizes, strides and offset: the backward
// of a view whose base took a new history (AsStridedBackward0) and of a write through a view
// (CopySlices) both put a gradient into, or take one out of, such a region.

extension TensorMemory {
    /// The view of `tensor` (of `root`'s shape, contiguous) at the place `region` takes in its
    /// contiguous `root`.
    func regionView(of tensor: Tensor, _ region: TensorSlot, in root: TensorSlot) -> Tensor {
        check(root.isContiguous, "TapeGrad: views are read in a contiguous base")
        return makeView(of: tensor, shape: region.shape, strides: region.strides,
                        offset: slot(tensor).pointee.offset + region.offset - root.offset, autogradView: false)
    }

    /// A bool tensor of `root`'s shape that is true on `region`: a constant that recorded
    /// ops (masked fill, masked select) select the region with.
    func regionMask(_ region: TensorSlot, in root: TensorSlot) -> Tensor {
        let mask = makeZeros(shape: root.shape, dtype: .bool)
        regionView(of: mask, region, in: root).fillStorage(1)
        return mask
    }

    /// `g` (of `region`'s shape) placed into zeros of `root`'s shape, recorded as a masked
    /// scatter when the sweep is recorded.
    func embed(_ g: Tensor, _ region: TensorSlot, in root: TensorSlot) throws(TapeGradError) -> Tensor {
        let (region, broadcast) = Shapes.withoutBroadcast(region)
        // Each element of an expanded region gathers the gradients of all its reads.
        let g = broadcast == 0 ? g : g.reduction(.sumDims, mask: broadcast, keepDim: true, kind: .sum, mean: false)
        if engine.pointee.backwardIsRecorded {
            let order = try Shapes.memoryOrder(region)
            let mask = regionMask(region, in: root)
            let zeros = makeZeros(shape: root.shape, dtype: slot(g).pointee.dtype)
            let flat = Dims(CollectionOfOne(root.shape.product))
            let values = g.permuted(packed: order.packed).reshaped(Dims(CollectionOfOne(region.shape.product)))
            let scattered = try zeros.reshaped(flat).putRows(mask.reshaped(flat), values, op: .maskedScatter)
            return scattered.reshaped(root.shape)
        }
        let out = makeZeros(shape: root.shape, dtype: slot(g).pointee.dtype)
        copyValues(from: g, into: regionView(of: out, region, in: root))
        return out
    }

    /// The elements of `g` (of `root`'s shape) in `region`, as a tensor of the region's shape,
    /// recorded as a masked select when the sweep is recorded.
    func extract(_ g: Tensor, _ region: TensorSlot, in root: TensorSlot) throws(TapeGradError) -> Tensor {
        if engine.pointee.backwardIsRecorded {
            let (narrowed, broadcast) = Shapes.withoutBroadcast(region)
            let order = try Shapes.memoryOrder(narrowed)
            let values = try g.maskedSelect(regionMask(narrowed, in: root)).reshaped(order.shape).permuted(packed: order.inverse)
            return broadcast == 0 ? values : values.expanded(to: region.shape)
        }
        let g = contiguousOperand(g, as: slot(g).pointee.dtype)
        return regionView(of: g, region, in: root).clone()
    }
}

enum AsStridedBackward {
    /// A view regenerated from its base's new history: the gradient goes into its region of
    /// the base.
    static func asStrided(_ r: Record, _ g: Tensor) throws(TapeGradError) -> Gradients {
        Gradients(a: try memory.embed(g, r.result.info, in: r.a.info))
    }
}

extension Shapes {
    /// The order that reads `region`'s elements as they lie in memory: dimension `i` of the
    /// reordered region is dimension `(packed >> 4i) & 0xf` of `region` (falling strides), and
    /// `inverse` undoes it. Masked selection reads and writes the region's elements in memory
    /// order, so a transposed or permuted region is reordered around it. Throws for a region
    /// whose elements overlap, where a region has no memory order (an expanded region is first
    /// narrowed by `withoutBroadcast`).
    static func memoryOrder(_ region: TensorSlot) throws(TapeGradError) -> (shape: Dims, packed: UInt32, inverse: UInt32) {
        let rank = region.shape.count
        // Size-1 dimensions keep their places; the others take theirs in falling stride order
        // (an insertion sort: stable, at most 8 dimensions).
        var order = Dims()
        for d in 0..<rank { order.append(d) }
        let places = (0..<rank).filter { region.shape[$0] > 1 }
        for (k, place) in places.enumerated() {
            var j = k
            while j > 0 && region.strides[order[places[j - 1]]] < region.strides[place] {
                order[places[j]] = order[places[j - 1]]
                j -= 1
            }
            order[places[j]] = place
        }
        var shape = Dims(), packed: UInt32 = 0, inverse: UInt32 = 0
        var span = 1
        for i in (0..<rank).reversed() {
            let d = order[i]
            shape.insert(region.shape[d], at: 0)
            packed |= UInt32(d) << (4 * UInt32(i))
            inverse |= UInt32(i) << (4 * UInt32(d))
            guard region.shape[d] > 1 else { continue }
            guard region.strides[d] >= span else {
                throw TapeGradError(.notImplementedError, "TapeGrad: differentiating twice through a view whose elements overlap in memory is not implemented")
            }
            span = region.strides[d] * (region.shape[d] - 1) + span
        }
        return (shape, packed, inverse)
    }

    /// `region` with its broadcast dimensions (stride 0, size above 1) narrowed to size 1, and
    /// those dimensions as a mask: an expanded region reads each element of the narrowed one
    /// several times.
    static func withoutBroadcast(_ region: TensorSlot) -> (region: TensorSlot, mask: UInt32) {
        var narrowed = region, mask: UInt32 = 0
        for d in 0..<region.shape.count where region.shape[d] > 1 && region.strides[d] == 0 {
            narrowed.shape[d] = 1
            mask |= 1 << d
        }
        return (narrowed, mask)
    }
}
