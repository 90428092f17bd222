import Foundation
import Testing
import TapeGrad

/// `nn.MultiheadAttention(4, 2)` in float64 with fixed weights against PyTorch 2.15: self-
/// attention with its averaged weights and the input's gradient, a key padding mask without
/// weights (the SDPA path), and cross-attention with a float mask and per-head weights.
@Suite struct MultiheadAttentionTests {
    static func sines(_ count: Int, _ f: Double, _ scale: Double = 1, _ phase: Double = 0) -> [Double] {
        (0..<count).map { scale * Foundation.sin(f * Double($0) + phase) }
    }

    static func model() throws -> MultiheadAttention {
        let m = try MultiheadAttention(4, 2, dtype: .float64)
        #expect(m.stateDict().keys == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
        try m.loadStateDict(StateDict([
            StateDictEntry(name: "in_proj_weight", tensor: try Tensor(values: sines(48, 0.37), shape: [12, 4], dtype: .float64)),
            StateDictEntry(name: "in_proj_bias", tensor: try Tensor(values: (0..<12).map { 0.1 * Foundation.cos(0.5 * Double($0)) }, shape: [12], dtype: .float64)),
            StateDictEntry(name: "out_proj.weight", tensor: try Tensor(values: sines(16, 0.23, 0.5, 1), shape: [4, 4], dtype: .float64)),
            StateDictEntry(name: "out_proj.bias", tensor: try Tensor(values: (0..<4).map { 0.05 * Double($0) }, shape: [4], dtype: .float64)),
        ]))
        return m
    }

    static func expectClose(_ a: [Double], _ e: [Double], _ label: String) {
        #expect(a.count == e.count, "\(label)")
        for (x, y) in zip(a, e) { #expect(Swift.abs(x - y) < 1e-12, "\(label): \(a)") }
    }

    @Test func selfAttentionWithWeights() throws {
        let m = try Self.model()
        let x = try Tensor(values: Self.sines(24, 0.7), shape: [3, 2, 4], dtype: .float64, requiresGrad: true)
        let (o, w) = try m(x, x, x)
        #expect(o.gradFn?.name == "ViewBackward0" && w?.gradFn?.name == "MeanBackward1")
        Self.expectClose(o.scalars(), [0.15495372152546105, 0.5700322675012496, 0.575138337989063, 0.20566449719444793, -0.005943348760531791, -0.3637544282619436, -0.3953781963226225, -0.036465764725910566, 0.07165501247456016, 0.4477227871002407, 0.5102419498889248, 0.2493428975866153, 0.22478678331452576, 0.013407632129833105, -0.16912357138464548, -0.139488600475221, -0.14368732477618484, 0.11604044414943358, 0.32370458921501244, 0.3550090544107669, 0.30502965284860273, 0.24504090565913528, 0.03128977118799742, -0.1282929888229261], "output")
        Self.expectClose(w!.scalars(), [0.8283211738189769, 0.16141292875992458, 0.010265897421098647, 0.4855684645070733, 0.3659633405234114, 0.14846819496951535, 0.06027704621554422, 0.19607685450725038, 0.7436460992772054, 0.7906629219480996, 0.18364459317212972, 0.02569248487977064, 0.21848133632830302, 0.35475607847497626, 0.4267625851967208, 0.009924041598181842, 0.09216931643321846, 0.8979066419685997], "weights")
        let g = try grad(of: o.sum(), withRespectTo: [x])[0]!
        Self.expectClose(g.scalars(), [0.1735932430598733, 0.613189369231016, 0.969793190878112, 1.1951400536453747, 0.22311853474276533, 0.5509152371661352, 0.8041481466992795, 0.9485433770061655, 0.23383645401606476, 0.37172211045202375, 0.4592969230655532, 0.48470805180142745, 0.4506539969949111, 0.5835883349775628, 0.6375367295576427, 0.6051975186120944, 0.4986666725681564, 0.650072125005876, 0.7134933649502501, 0.6803466250972908, 0.4352352403082115, 0.7435373268713048, 0.9512051243336506, 1.0301317705223934], "input gradient")
    }

    @Test func keyPaddingMaskAndCrossAttention() throws {
        let m = try Self.model()
        let x = try Tensor(values: Self.sines(24, 0.7), shape: [3, 2, 4], dtype: .float64)
        let padding = try Tensor([[false, false, true], [false, false, false]])
        let (o2, w2) = try m(x, x, x, keyPaddingMask: padding, needWeights: false)
        #expect(w2 == nil)
        Self.expectClose(o2.scalars(), [0.1563161570101001, 0.5744740705081477, 0.579157770091261, 0.20609280015909248, -0.005943348760531819, -0.36375442826194365, -0.3953781963226225, -0.03646576472591054, 0.10060456354600777, 0.513136717762148, 0.5605505542579995, 0.24488490008348174, 0.2247867833145258, 0.01340763212983316, -0.16912357138464548, -0.13948860047522105, 0.026962462990643143, 0.43467208100294263, 0.539121737748496, 0.29738551889374415, 0.3050296528486027, 0.24504090565913522, 0.03128977118799736, -0.1282929888229261], "padded")
        let y = try Tensor(values: (0..<24).map { Foundation.cos(0.3 * Double($0)) }, shape: [3, 2, 4], dtype: .float64)
        let mask = try Tensor([[0.0, -1, 0.5], [0.2, 0, -0.3], [0, 0, 0]], dtype: .float64)
        let (o3, w3) = try m(x, y, y, attnMask: mask, averageAttnWeights: false)
        #expect(w3?.shape == [2, 2, 3, 3])
        Self.expectClose(o3.scalars(), [0.30894432413332484, 0.619211198761243, 0.48073491106017385, 0.04210256815497593, -0.09561297376577559, -0.20933008077964693, -0.11860180655479943, 0.14446331940050178, 0.30260148274705, 0.5942788752912406, 0.4568687442262839, 0.03811768176540592, 0.2929503894344163, 0.3204742081170721, 0.13476706482458586, -0.07834903080094396, -0.28021111389474995, -0.6350771032078016, -0.44985592206165026, 0.16884950153835232, 0.392968451183543, 0.7579421741202002, 0.5648028264564832, 0.005231668144181856], "cross")
        #expect(throws: TapeGradError(.assertionError, "embed_dim must be divisible by num_heads")) { try MultiheadAttention(5, 2) }
    }
}
