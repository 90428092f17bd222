// Winograd's minimal filtering F(4×4, 3×3) (Lavin and Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016) for the float32 3×3 convolutions with stride 1, padding 1 and one
// group that make up most of a ResNet. A 4×4 block of output comes from the 6×6 block of input
// around it as
//
//     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// so the sum over input channels becomes 36 independent matrix products (one per point ξ of the
// 6×6 transform) with a quarter of im2col's multiply-adds (a third on 7×7 and 14×14 maps, whose
// tiles overhang), and the transformed input takes as little of im2col's memory. The three
// passes of a training step all use it:
//
//     forward        M[ξ] = U[ξ]·V[ξ]         U = G g Gᵀ, V = Bᵀ d B      Y = Aᵀ M A
//     input grad     the same with g turned 180° and its channels swapped (a 3×3 convolution too)
//     weight grad    dU[ξ] = Ŷ[ξ]·V[ξ]ᵀ       Ŷ = A dY Aᵀ                 dg = Gᵀ dU G
//
// Tiles are numbered across the whole batch, so a small feature map still makes wide products;
// the transforms run on eight tiles (or eight channels) at a time. float64 keeps im2col: it is
// the precision gradients are checked in, and Winograd's rounding is not im2col's.

/// Eight lanes of float: eight tiles, or eight channels, transformed at once.
typealias WinogradLanes = SIMD8<Float>

/// The tiling of one F(4×4, 3×3) convolution: the output (the input's size) cut into 4×4
/// tiles, numbered image by image and row by row.
struct WinogradPlan {
    let batch: Int, height: Int, width: Int
    let tilesH: Int, tilesW: Int

    init(_ geo: ConvGeometry) {
        batch = geo.batch; height = geo.height; width = geo.width
        tilesH = (height + 3) / 4; tilesW = (width + 3) / 4
    }

    /// Tiles in the batch: the columns of each of the 36 products.
    var tiles: Int { batch * tilesH * tilesW }
    /// `tiles` rounded up to whole groups of eight lanes: the row length of the transformed data.
    var paddedTiles: Int { (tiles + 7) & ~7 }
    /// The output covered by whole tiles.
    var gridH: Int { 4 * tilesH }
    var gridW: Int { 4 * tilesW }
    /// The input with its padding: one row or column of zeros before, enough after for whole tiles.
    var paddedH: Int { gridH + 2 }
    var paddedW: Int { gridW + 2 }
    /// Whether whole tiles cover the output exactly (no staging needed).
    var isExact: Bool { gridH == height && gridW == width }

    /// Floats between two channels of transformed data (`[channels][36][paddedTiles]`: each
    /// channel's 36 rows lie together, so a transform writes one small region at a time).
    var channelStride: Int { 36 * paddedTiles }

    /// Fills `table[0..<paddedTiles]` with the offset of each tile's top-left element (past the
    /// last tile the last one repeats) in channel 0 of a `[batch, channels, rows, rowLength]`
    /// layout with `planeSize` elements per channel.
    func tileOffsets(_ table: UnsafeMutablePointer<Int>, channels: Int, planeSize: Int, rowLength: Int) {
        var p = 0
        for n in 0..<batch {
            for th in 0..<tilesH {
                for tw in 0..<tilesW {
                    table[p] = n * channels * planeSize + 4 * th * rowLength + 4 * tw
                    p += 1
                }
            }
        }
        for q in p..<paddedTiles { table[q] = table[p - 1] }
    }
}

/// A transform of tiles into the 6×6 domain: the input's Bᵀ·B (6×6 tiles) or the gradient's A·Aᵀ
/// (4×4 tiles), one dimension at a time.
protocol WinogradTileTransform {
    /// The side of a tile.
    static var size: Int { get }
    /// The one-dimensional transform of `size` lanes `s` bytes apart into six lanes `t` apart.
    static func rows(_ p: UnsafeRawPointer, _ s: Int, _ q: UnsafeMutableRawPointer, _ t: Int)
}

/// d ↦ Bᵀ d B, the input's transform.
enum WinogradInputTransform: WinogradTileTransform {
    static var size: Int { 6 }
    @inline(__always)
    static func rows(_ p: UnsafeRawPointer, _ s: Int, _ q: UnsafeMutableRawPointer, _ t: Int) { Winograd.inputRows(p, s, q, t) }
}

/// dY ↦ A dY Aᵀ, the upstream gradient's transform (the adjoint of the output's).
enum WinogradGradientTransform: WinogradTileTransform {
    static var size: Int { 4 }
    @inline(__always)
    static func rows(_ p: UnsafeRawPointer, _ s: Int, _ q: UnsafeMutableRawPointer, _ t: Int) { Winograd.outputAdjointRows(p, s, q, t) }
}

enum Winograd {
    /// Convolutions with fewer output tiles than this (over the whole batch) stay with im2col:
    /// with very few tiles the transforms cost more than the multiplications they save.
    static let minimumTiles = 16

    /// Whether `geo` is a float32 convolution this path computes: 3×3, stride 1, padding 1,
    /// dilation 1, one group, at least eight channels in and out and `minimumTiles` tiles.
    static func applies(_ geo: ConvGeometry) -> Bool {
        geo.kernelH == 3 && geo.kernelW == 3 && geo.strideH == 1 && geo.strideW == 1
            && geo.padH == 1 && geo.padW == 1 && geo.dilationH == 1 && geo.dilationW == 1 && geo.groups == 1
            && geo.channels >= 8 && geo.outChannels >= 8 && WinogradPlan(geo).tiles >= minimumTiles
    }

    /// Whether each of the `count` floats at `p` is finite: one pass, x − x being 0 for a finite
    /// x and NaN for the others. Winograd's transforms add and subtract the values of a whole
    /// tile, so one NaN or infinity would spread over the tile (∞ − ∞ is NaN) where im2col keeps
    /// it to the outputs whose window holds it: convolutions whose operands hold one go to
    /// im2col instead.
    static func allFinite(_ p: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        let raw = UnsafeRawPointer(p)
        var a = WinogradLanes(), b = WinogradLanes()
        var i = 0
        while i + 16 <= count {
            let u = load(raw, 4 * i), v = load(raw, 4 * i + 32)
            a += u - u
            b += v - v
            i += 16
        }
        var rest: Float = 0
        while i < count { rest += p[i] - p[i]; i += 1 }
        return (a + b).sum() + rest == 0
    }

    /// Bytes between two lanes in the kernels' workspace.
    static let lane = MemoryLayout<WinogradLanes>.stride
    /// Floats of workspace the kernels need: two 6×6 blocks of lanes and eight offsets.
    static let workspaceFloats = 2 * 36 * 8 + 16

    // MARK: The one-dimensional transforms, on six (or three, four) lanes `s` bytes apart,
    // written `t` bytes apart. Each reads everything before it writes, so it can work in place.

    @inline(__always)
    static func load(_ p: UnsafeRawPointer, _ offset: Int) -> WinogradLanes {
        p.loadUnaligned(fromByteOffset: offset, as: WinogradLanes.self)
    }

    @inline(__always)
    static func store(_ v: WinogradLanes, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: v, toByteOffset: offset, as: WinogradLanes.self)
    }

    // The points of the transforms are 0, 1, -1, 2, -1/2 and ∞ (Lavin and Gray use ±2 where
    // this uses 2 and -1/2: in float32 that makes a result's rounding error about half as large,
    // as Barabasz et al. found, "Error analysis and improving the accuracy of Winograd
    // convolution for deep neural networks", 2020). Bᵀ, G and Aᵀ are its Toom-Cook matrices:
    //
    //   Bᵀ = [1  3/2   -2  -3/2   1  0]    G = [    1     0     0]    Aᵀ = [1  1  1  1     1  0]
    //        [0   -1 -5/2  -1/2   1  0]        [ -1/3  -1/3  -1/3]         [0  1 -1  2  -1/2  0]
    //        [0    1  1/2  -5/2   1  0]        [  1/3  -1/3   1/3]         [0  1  1  4   1/4  0]
    //        [0 -1/2   -1   1/2   1  0]        [ 1/15  2/15  4/15]         [0  1 -1  8  -1/8  1]
    //        [0    2   -1    -2   1  0]        [-16/15 8/15 -4/15]
    //        [0    1  3/2    -2 -3/2 1]        [    0     0     1]

    static let half: Float = 1 / 2, third: Float = 1 / 3, fifteenth: Float = 1 / 15

    /// d ↦ Bᵀd (6 → 6), the input transform.
    @inline(__always)
    static func inputRows(_ p: UnsafeRawPointer, _ s: Int, _ q: UnsafeMutableRawPointer, _ t: Int) {
        let d0 = load(p, 0), d1 = load(p, s), d2 = load(p, 2 * s), d3 = load(p, 3 * s), d4 = load(p, 4 * s), d5 = load(p, 5 * s)
        let h1 = d1 * half, h2 = d2 * half, h3 = d3 * half, h4 = d4 * half
        store(d0 + 3 * (h1 - h3) - 2 * d2 + d4, q, 0)
        store(d4 - d1 - 5 * h2 - h3, q, t)
        store(d4 + d1 + h2 - 5 * h3, q, 2 * t)
        store(d4 - h1 - d2 + h3, q, 3 * t)
        store(d4 + 2 * (d1 - d3) - d2, q, 4 * t)
        store(d1 + 3 * (h2 - h4) - 2 * d3 + d5, q, 5 * t)
    }

    /// m ↦ Aᵀm (6 → 4), the output transform.
    @inline(__always)
    static func outputRows(_ p: UnsafeRawPointer, _ s: Int, _ q: UnsafeMutableRawPointer, _ t: Int) {
        let m0 = load(p, 0), m1 = load(p, s), m2 = load(p, 2 * s), m3 = load(p, 3 * s), m4 = load(p, 4 * s), m5 = load(p, 5 * s)
        let sum12 = m1 + m2, diff12 = m1 - m2
        store(m0 + sum12 + m3 + m4, q, 0)
        store(diff12 + 2 * m3 - m4 * half, q, t)
        store(sum12 + 4 * m3 + m4 * (half * half), q, 2 * t)
        store(diff12 + 8 * m3 - m4 * (half * half * half) + m5, q, 3 * t)
    }

    /// g ↦ Gg (3 → 6), the filter transform.
    @inline(__always)
    static func filterRows(_ p: UnsafeRawPointer, _ s: Int, _ q: UnsafeMutableRawPointer, _ t: Int) {
        let g0 = load(p, 0), g1 = load(p, s), g2 = load(p, 2 * s)
        let outer = g0 + g2
        store(g0, q, 0)
        store((outer + g1) * (-third), q, t)
        store((outer - g1) * third, q, 2 * t)
        store((g0 + 2 * g1 + 4 * g2) * fifteenth, q, 3 * t)
        store((8 * g1 - 16 * g0 - 4 * g2) * fifteenth, q, 4 * t)
        store(g2, q, 5 * t)
    }

    /// y ↦ Ay (4 → 6), the adjoint of the output transform (for the weight's gradient).
    @inline(__always)
    static func outputAdjointRows(_ p: UnsafeRawPointer, _ s: Int, _ q: UnsafeMutableRawPointer, _ t: Int) {
        let y0 = load(p, 0), y1 = load(p, s), y2 = load(p, 2 * s), y3 = load(p, 3 * s)
        let even = y0 + y2, odd = y1 + y3
        store(y0, q, 0)
        store(even + odd, q, t)
        store(even - odd, q, 2 * t)
        store(y0 + 2 * y1 + 4 * y2 + 8 * y3, q, 3 * t)
        store(y0 - y1 * half + y2 * (half * half) - y3 * (half * half * half), q, 4 * t)
        store(y3, q, 5 * t)
    }

    /// u ↦ Gᵀu (6 → 3), the adjoint of the filter transform (for the weight's gradient).
    @inline(__always)
    static func filterAdjointRows(_ p: UnsafeRawPointer, _ s: Int, _ q: UnsafeMutableRawPointer, _ t: Int) {
        let u0 = load(p, 0), u1 = load(p, s), u2 = load(p, 2 * s), u3 = load(p, 3 * s), u4 = load(p, 4 * s), u5 = load(p, 5 * s)
        let sum12 = u1 + u2, diff21 = u2 - u1
        store(u0 + diff21 * third + (u3 - 16 * u4) * fifteenth, q, 0)
        store((2 * u3 + 8 * u4) * fifteenth - sum12 * third, q, t)
        store(diff21 * third + (4 * u3 - 4 * u4) * fifteenth + u5, q, 2 * t)
    }

    /// The first `count` lanes at `p` (the rest zero).
    @inline(__always)
    static func loadLanes(_ p: UnsafePointer<Float>, _ count: Int) -> WinogradLanes {
        if count == 8 { return load(UnsafeRawPointer(p), 0) }
        var v = WinogradLanes()
        for l in 0..<count { v[l] = p[l] }
        return v
    }

    /// Writes the first `count` lanes of `v` to `p`.
    @inline(__always)
    static func storeLanes(_ v: WinogradLanes, _ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count == 8 { store(v, UnsafeMutableRawPointer(p), 0); return }
        for l in 0..<count { p[l] = v[l] }
    }

    // MARK: Layout

    /// Copies `[batch, channels, height, width]` into `[batch, channels, paddedH, paddedW]`
    /// with a border of zeros: one row and column before, the rest after.
    static func pad(_ x: UnsafePointer<Float>, _ plan: WinogradPlan, channels: Int, into padded: UnsafeMutablePointer<Float>) {
        let h = plan.height, w = plan.width, ph = plan.paddedH, pw = plan.paddedW
        for plane in 0..<(plan.batch * channels) {
            let source = x + plane * h * w, target = padded + plane * ph * pw
            target.update(repeating: 0, count: pw)
            for i in 0..<h {
                let row = target + (i + 1) * pw
                row[0] = 0
                (row + 1).update(from: source + i * w, count: w)
                (row + 1 + w).update(repeating: 0, count: pw - 1 - w)
            }
            (target + (h + 1) * pw).update(repeating: 0, count: (ph - h - 1) * pw)
        }
    }

    /// Copies `[batch, channels, height, width]` into the top-left of `[batch, channels, gridH,
    /// gridW]`, zeros elsewhere (`toGrid: true`), or back (`toGrid: false`).
    static func regrid(_ source: UnsafePointer<Float>, _ plan: WinogradPlan, channels: Int, toGrid: Bool, _ target: UnsafeMutablePointer<Float>) {
        let h = plan.height, w = plan.width, gh = plan.gridH, gw = plan.gridW
        for plane in 0..<(plan.batch * channels) {
            if toGrid {
                let from = source + plane * h * w, to = target + plane * gh * gw
                for i in 0..<h {
                    (to + i * gw).update(from: from + i * w, count: w)
                    (to + i * gw + w).update(repeating: 0, count: gw - w)
                }
                (to + h * gw).update(repeating: 0, count: (gh - h) * gw)
            } else {
                let from = source + plane * gh * gw, to = target + plane * h * w
                for i in 0..<h { (to + i * w).update(from: from + i * gw, count: w) }
            }
        }
    }

    // MARK: The two-dimensional transforms, eight tiles or eight channels at a time

    /// The `size`×`size` blocks at `base + offsets[l]` for the eight lanes l (eight `Int`s at
    /// `offsets`; rows `rowLength` apart) as `size²` lanes in `work`, row by row.
    @inline(__always)
    static func gather(_ base: UnsafePointer<Float>, _ offsets: UnsafeRawPointer, size: Int, rowLength: Int, _ work: UnsafeMutableRawPointer) {
        @inline(__always) func corner(_ l: Int) -> UnsafePointer<Float> { base + offsets.load(fromByteOffset: l * 8, as: Int.self) }
        let l0 = corner(0), l1 = corner(1), l2 = corner(2), l3 = corner(3), l4 = corner(4), l5 = corner(5), l6 = corner(6), l7 = corner(7)
        for i in 0..<size {
            for j in 0..<size {
                let k = i * rowLength + j
                store(WinogradLanes(l0[k], l1[k], l2[k], l3[k], l4[k], l5[k], l6[k], l7[k]), work, (i * size + j) * lane)
            }
        }
    }

    /// T[c][ξ][p] = (Bᵀ d B)[ξ] (or (A dY Aᵀ)[ξ]) for every tile p and channel c of `source`, a
    /// `[batch, channels, ·, rowLength]` layout with `planeSize` elements per channel whose tiles
    /// start at `offsets`: into `[channels][36][paddedTiles]`.
    static func transformTiles<T: WinogradTileTransform>(
        _: T.Type, _ source: UnsafePointer<Float>, _ plan: WinogradPlan, channels: Int, rowLength: Int, planeSize: Int,
        offsets: UnsafePointer<Int>, _ target: UnsafeMutablePointer<Float>, work: UnsafeMutableRawPointer
    ) {
        let stride = plan.paddedTiles * MemoryLayout<Float>.stride
        let n = T.size, columns = work + 36 * lane
        for c in 0..<channels {
            let plane = source + c * planeSize
            let rows = UnsafeMutableRawPointer(target + c * plan.channelStride)
            for block in Swift.stride(from: 0, to: plan.tiles, by: 8) {
                gather(plane, UnsafeRawPointer(offsets + block), size: n, rowLength: rowLength, work)
                for j in 0..<n { T.rows(work + j * lane, n * lane, columns + j * lane, n * lane) }
                let blockRows = rows + block * MemoryLayout<Float>.stride
                for a in 0..<6 { T.rows(columns + n * a * lane, lane, blockRows + 6 * a * stride, stride) }
            }
        }
    }

    /// Y = Aᵀ M A for every tile and channel of `m` (`[channels][36][paddedTiles]`), into
    /// `grid` (`[batch, channels, gridH, gridW]`, tiles at `offsets`).
    static func transformOutput(_ m: UnsafePointer<Float>, _ plan: WinogradPlan, channels: Int, offsets: UnsafePointer<Int>,
                                _ grid: UnsafeMutablePointer<Float>, work: UnsafeMutableRawPointer) {
        let rowLength = plan.gridW, planeSize = plan.gridH * rowLength
        let stride = plan.paddedTiles * MemoryLayout<Float>.stride
        let rows = work + 36 * lane, values = rows.assumingMemoryBound(to: Float.self)
        for c in 0..<channels {
            let target = grid + c * planeSize
            for block in Swift.stride(from: 0, to: plan.tiles, by: 8) {
                let source = UnsafeRawPointer(m + c * plan.channelStride + block)
                for b in 0..<6 { outputRows(source + b * stride, 6 * stride, work + b * lane, 6 * lane) }
                for a in 0..<4 { outputRows(work + 6 * a * lane, lane, rows + 4 * a * lane, lane) }
                for l in 0..<Swift.min(8, plan.tiles - block) {
                    let tile = target + offsets[block + l]
                    for i in 0..<4 {
                        for j in 0..<4 { tile[i * rowLength + j] = values[(i * 4 + j) * 8 + l] }
                    }
                }
            }
        }
    }

    /// U[o][ξ][i] = (G g Gᵀ)[ξ] for the `[outChannels, inChannels, 3, 3]` weight `w`, each kernel
    /// turned 180° when `rotated` (the input gradient's convolution): `[outChannels][36][inChannels]`.
    static func transformFilter(_ w: UnsafePointer<Float>, outChannels: Int, inChannels: Int, rotated: Bool,
                                _ u: UnsafeMutablePointer<Float>, work: UnsafeMutableRawPointer) {
        let columns = work + 36 * lane, kernels = work + 72 * lane
        // Turning a kernel 180° reads its rows and columns backwards.
        let (first, step) = rotated ? (8 * lane, -lane) : (0, lane)
        for o in 0..<outChannels {
            for c0 in Swift.stride(from: 0, to: inChannels, by: 8) {
                let count = Swift.min(8, inChannels - c0)
                for l in 0..<8 { kernels.storeBytes(of: 9 * Swift.min(l, count - 1), toByteOffset: l * 8, as: Int.self) }
                gather(w + (o * inChannels + c0) * 9, kernels, size: 3, rowLength: 3, work)
                for j in 0..<3 { filterRows(work + first + j * step, 3 * step, columns + j * lane, 3 * lane) }
                for a in 0..<6 { filterRows(columns + 3 * a * lane, lane, work + 6 * a * lane, lane) }
                let target = u + o * 36 * inChannels + c0
                for xi in 0..<36 { storeLanes(load(work, xi * lane), target + xi * inChannels, count) }
            }
        }
    }

    /// dg = Gᵀ dU G for every kernel of `du` (`[outChannels][36][inChannels]`), into the
    /// `[outChannels, inChannels, 3, 3]` gradient `gw`.
    static func transformFilterGradient(_ du: UnsafePointer<Float>, outChannels: Int, inChannels: Int,
                                        _ gw: UnsafeMutablePointer<Float>, work: UnsafeMutableRawPointer) {
        let columns = work + 36 * lane, values = work.assumingMemoryBound(to: Float.self)
        for o in 0..<outChannels {
            for c0 in Swift.stride(from: 0, to: inChannels, by: 8) {
                let count = Swift.min(8, inChannels - c0)
                let source = du + o * 36 * inChannels + c0
                for xi in 0..<36 { store(loadLanes(source + xi * inChannels, count), work, xi * lane) }
                for b in 0..<6 { filterAdjointRows(work + b * lane, 6 * lane, columns + b * lane, 6 * lane) }
                for a in 0..<3 { filterAdjointRows(columns + 6 * a * lane, lane, work + 3 * a * lane, lane) }
                for l in 0..<count {
                    let kernel = gw + (o * inChannels + c0 + l) * 9
                    for k in 0..<9 { kernel[k] = values[k * 8 + l] }
                }
            }
        }
    }
}

extension TensorMemory {
    /// V = Bᵀ d B of every tile of `x` (`[batch, channels, height, width]`), in scratch
    /// (`[channels][36][paddedTiles]`) for the caller to give back.
    private func winogradInput(
        _ plan: WinogradPlan, _ x: UnsafePointer<Float>, channels: Int, work: UnsafeMutableRawPointer
    ) -> (pointer: UnsafeMutablePointer<Float>?, sizeClass: Int) {
        let padded = takeScratch(plan.batch * channels * plan.paddedH * plan.paddedW, Float.self)
        let offsets = takeScratch(plan.paddedTiles, Int.self)
        let planeSize = plan.paddedH * plan.paddedW
        plan.tileOffsets(offsets.pointer.unsafelyUnwrapped, channels: channels, planeSize: planeSize, rowLength: plan.paddedW)
        Winograd.pad(x, plan, channels: channels, into: padded.pointer.unsafelyUnwrapped)
        let v = takeScratch(channels * plan.channelStride, Float.self)
        Winograd.transformTiles(WinogradInputTransform.self, padded.pointer.unsafelyUnwrapped, plan, channels: channels,
                                rowLength: plan.paddedW, planeSize: planeSize, offsets: offsets.pointer.unsafelyUnwrapped,
                                v.pointer.unsafelyUnwrapped, work: work)
        giveScratch(offsets)
        giveScratch(padded)
        return v
    }

    /// Offsets of the tiles in a `[batch, channels, gridH, gridW]` grid, in scratch.
    private func winogradGridOffsets(_ plan: WinogradPlan, channels: Int) -> (pointer: UnsafeMutablePointer<Int>?, sizeClass: Int) {
        let offsets = takeScratch(plan.paddedTiles, Int.self)
        plan.tileOffsets(offsets.pointer.unsafelyUnwrapped, channels: channels, planeSize: plan.gridH * plan.gridW, rowLength: plan.gridW)
        return offsets
    }

    /// A 3×3 convolution with stride 1 and padding 1 through F(4×4, 3×3): `x` by the weight
    /// `w` (`[K, C, 3, 3]`) into `out` (`[N, K, H, W]`, no bias); or, when `transposed`, the
    /// input's gradient: the upstream gradient `x` (`[N, K, H, W]`) by the kernels turned 180°
    /// with input and output channels swapped, into `out` (`[N, C, H, W]`).
    func winogradConvolution(
        _ geo: ConvGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        transposed: Bool = false
    ) {
        let plan = WinogradPlan(geo), pp = plan.paddedTiles, ld = plan.channelStride
        let (inChannels, outChannels) = transposed ? (geo.outChannels, geo.channels) : (geo.channels, geo.outChannels)
        let work = takeScratch(Winograd.workspaceFloats, Float.self), workspace = UnsafeMutableRawPointer(work.pointer.unsafelyUnwrapped)
        // U[ξ] is [K][C] (rows 36·C apart): the product's weight, or (transposed) its transpose.
        let u = takeScratch(36 * geo.outChannels * geo.channels, Float.self), us = u.pointer.unsafelyUnwrapped
        Winograd.transformFilter(w, outChannels: geo.outChannels, inChannels: geo.channels, rotated: transposed, us, work: workspace)
        let v = winogradInput(plan, x, channels: inChannels, work: workspace), vs = v.pointer.unsafelyUnwrapped
        let m = takeScratch(outChannels * ld, Float.self), ms = m.pointer.unsafelyUnwrapped
        for xi in 0..<36 {
            gemm(transA: transposed, transB: false, m: outChannels, n: pp, k: inChannels,
                 us + xi * geo.channels, lda: 36 * geo.channels, vs + xi * pp, ldb: ld, beta: 0, ms + xi * pp, ldc: ld)
        }
        giveScratch(v)
        giveScratch(u)
        let offsets = winogradGridOffsets(plan, channels: outChannels)
        let grid = takeScratch(plan.isExact ? 0 : plan.batch * outChannels * plan.gridH * plan.gridW, Float.self)
        Winograd.transformOutput(ms, plan, channels: outChannels, offsets: offsets.pointer.unsafelyUnwrapped, grid.pointer ?? out, work: workspace)
        if let staged = grid.pointer { Winograd.regrid(staged, plan, channels: outChannels, toGrid: false, out) }
        giveScratch(grid)
        giveScratch(offsets)
        giveScratch(m)
        giveScratch(work)
    }

    /// The weight's gradient (`[K, C, 3, 3]`, overwritten) from the input `x` and the upstream
    /// gradient `g`: dg = Gᵀ (Σ over tiles of Ŷ·Vᵀ) G.
    func winogradWeightGradient(_ geo: ConvGeometry, _ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ gw: UnsafeMutablePointer<Float>) {
        let plan = WinogradPlan(geo), k = geo.outChannels, c = geo.channels, pp = plan.paddedTiles, ld = plan.channelStride
        let work = takeScratch(Winograd.workspaceFloats, Float.self), workspace = UnsafeMutableRawPointer(work.pointer.unsafelyUnwrapped)
        let v = winogradInput(plan, x, channels: c, work: workspace)
        let y = takeScratch(k * ld, Float.self)
        let offsets = winogradGridOffsets(plan, channels: k)
        let grid = takeScratch(plan.isExact ? 0 : plan.batch * k * plan.gridH * plan.gridW, Float.self)
        if let staged = grid.pointer { Winograd.regrid(g, plan, channels: k, toGrid: true, staged) }
        Winograd.transformTiles(WinogradGradientTransform.self, grid.pointer.map { UnsafePointer($0) } ?? g, plan, channels: k,
                                rowLength: plan.gridW, planeSize: plan.gridH * plan.gridW, offsets: offsets.pointer.unsafelyUnwrapped,
                                y.pointer.unsafelyUnwrapped, work: workspace)
        giveScratch(grid)
        giveScratch(offsets)
        let du = takeScratch(36 * k * c, Float.self)
        let vs = v.pointer.unsafelyUnwrapped, ys = y.pointer.unsafelyUnwrapped, dus = du.pointer.unsafelyUnwrapped
        for xi in 0..<36 {
            gemm(transA: false, transB: true, m: k, n: c, k: plan.tiles, ys + xi * pp, lda: ld,
                 vs + xi * pp, ldb: ld, beta: 0, dus + xi * c, ldc: 36 * c)
        }
        giveScratch(y)
        giveScratch(v)
        Winograd.transformFilterGradient(dus, outChannels: k, inChannels: c, gw, work: workspace)
        giveScratch(du)
        giveScratch(work)
    }
}
