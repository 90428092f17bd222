// Training curves as a self-contained SVG image, written by hand.

/// A line on a chart: points and a colour.
public struct Curve: Sendable {
    public var label: String
    public var color: String
    public var points: [(x: Double, y: Double)]
    /// Draw a dot on each point (for sparse series such as one value per epoch).
    public var markers: Bool

    public init(label: String, color: String, points: [(x: Double, y: Double)], markers: Bool = false) {
        self.label = label
        self.color = color
        self.points = points
        self.markers = markers
    }
}

/// Charts side by side in one SVG document.
public enum CurvesSVG {
    /// One panel: a title, axis labels, and its curves.
    public struct Panel: Sendable {
        public var title: String
        public var xLabel: String
        public var curves: [Curve]
        /// Fixed bounds of the y axis, or `nil` to fit the data.
        public var yRange: ClosedRange<Double>?
        /// Put the legend in the lower right corner instead of the upper right.
        public var legendAtBottom: Bool

        public init(title: String, xLabel: String, curves: [Curve], yRange: ClosedRange<Double>? = nil, legendAtBottom: Bool = false) {
            self.title = title
            self.xLabel = xLabel
            self.curves = curves
            self.yRange = yRange
            self.legendAtBottom = legendAtBottom
        }
    }

    /// The SVG text of `panels` drawn side by side, each `width × height` pixels.
    public static func render(_ panels: [Panel], width: Int = 480, height: Int = 320) -> String {
        var svg = [
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(width * panels.count)" height="\#(height)" viewBox="0 0 \#(width * panels.count) \#(height)" font-family="sans-serif" font-size="11">"#,
            #"<rect width="100%" height="100%" fill="white"/>"#,
        ]
        for (i, panel) in panels.enumerated() {
            svg += draw(panel, left: Double(i * width), width: Double(width), height: Double(height))
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    private static func draw(_ panel: Panel, left: Double, width: Double, height: Double) -> [String] {
        let plot = (x0: left + 56, y0: 36.0, x1: left + width - 16, y1: height - 44)
        let all = panel.curves.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        var xRange = (all.map(\.x).min() ?? 0)...(all.map(\.x).max() ?? 1)
        if xRange.lowerBound == xRange.upperBound { xRange = xRange.lowerBound...(xRange.lowerBound + 1) }
        var yRange = panel.yRange ?? ((all.map(\.y).min() ?? 0)...(all.map(\.y).max() ?? 1))
        if yRange.lowerBound == yRange.upperBound { yRange = (yRange.lowerBound - 0.5)...(yRange.upperBound + 0.5) }
        func px(_ x: Double) -> Double {
            plot.x0 + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * (plot.x1 - plot.x0)
        }
        func py(_ y: Double) -> Double {
            let clamped = min(max(y, yRange.lowerBound), yRange.upperBound)
            return plot.y1 - (clamped - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * (plot.y1 - plot.y0)
        }
        var out: [String] = []
        out.append(#"<text x="\#(n(left + width / 2))" y="20" text-anchor="middle" font-size="14">\#(escaped(panel.title))</text>"#)
        for tick in ticks(yRange) {
            out.append(#"<line x1="\#(n(plot.x0))" y1="\#(n(py(tick)))" x2="\#(n(plot.x1))" y2="\#(n(py(tick)))" stroke="rgb(228,228,228)"/>"#)
            out.append(#"<text x="\#(n(plot.x0 - 6))" y="\#(n(py(tick) + 4))" text-anchor="end">\#(label(tick))</text>"#)
        }
        for tick in ticks(xRange) {
            out.append(#"<line x1="\#(n(px(tick)))" y1="\#(n(plot.y1))" x2="\#(n(px(tick)))" y2="\#(n(plot.y1 + 4))" stroke="rgb(68,68,68)"/>"#)
            out.append(#"<text x="\#(n(px(tick)))" y="\#(n(plot.y1 + 16))" text-anchor="middle">\#(label(tick))</text>"#)
        }
        out.append(#"<rect x="\#(n(plot.x0))" y="\#(n(plot.y0))" width="\#(n(plot.x1 - plot.x0))" height="\#(n(plot.y1 - plot.y0))" fill="none" stroke="rgb(68,68,68)"/>"#)
        out.append(#"<text x="\#(n((plot.x0 + plot.x1) / 2))" y="\#(n(height - 10))" text-anchor="middle">\#(escaped(panel.xLabel))</text>"#)
        for (k, curve) in panel.curves.enumerated() {
            let points = curve.points.filter { $0.x.isFinite && $0.y.isFinite }
            if points.count > 1 {
                let list = points.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
                out.append(#"<polyline fill="none" stroke="\#(curve.color)" stroke-width="1.5" points="\#(list)"/>"#)
            }
            if curve.markers || points.count == 1 {
                for p in points {
                    out.append(#"<circle cx="\#(n(px(p.x)))" cy="\#(n(py(p.y)))" r="3" fill="\#(curve.color)"/>"#)
                }
            }
            let legendY = panel.legendAtBottom
                ? plot.y1 - 10 - Double(panel.curves.count - 1 - k) * 16
                : plot.y0 + 14 + Double(k) * 16
            out.append(#"<line x1="\#(n(plot.x1 - 120))" y1="\#(n(legendY - 4))" x2="\#(n(plot.x1 - 104))" y2="\#(n(legendY - 4))" stroke="\#(curve.color)" stroke-width="2"/>"#)
            out.append(#"<text x="\#(n(plot.x1 - 100))" y="\#(n(legendY))">\#(escaped(curve.label))</text>"#)
        }
        return out
    }

    /// About five round tick values inside `range`.
    static func ticks(_ range: ClosedRange<Double>) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let raw = span / 5
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? magnitude * 10
        var tick = (range.lowerBound / step).rounded(.up) * step
        var result: [Double] = []
        while tick <= range.upperBound + step * 1e-9 {
            result.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        return result
    }

    private static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e9 { return String(Int(value)) }
        let a = abs(value)
        return fixed(value, a >= 10 ? 1 : a >= 0.1 ? 2 : 3)
    }

    private static func n(_ value: Double) -> String { fixed(value, 1) }

    private static func escaped(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
    }
}
