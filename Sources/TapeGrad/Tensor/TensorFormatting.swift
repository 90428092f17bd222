#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Formats tensor values the way PyTorch's `torch/_tensor_str.py` does with default print options
/// (precision 4, threshold 1000, edgeitems 3, linewidth 80, sci_mode None).
///
/// The structure mirrors the Python source: `Formatter` is `_Formatter`, `render` is
/// `_tensor_str_with_formatter` / `_vector_str`, `visibleOffsets` is `get_summarized_data`, and
/// `appendingSuffixes` is `_add_suffixes`.
enum TensorFormatting {
    /// A tensor's printed elements: floats and bools widened to `Double`, integers exact.
    enum Elements {
        case float([Double]), bool([Double]), integer([Int64])
    }

    /// Digits after the decimal point (`PRINT_OPTS.precision`).
    static let precision = 4
    /// Element count above which output is summarised with `...` (`PRINT_OPTS.threshold`).
    static let threshold = 1000
    /// Items kept at each end of a summarised dimension (`PRINT_OPTS.edgeitems`).
    static let edgeItems = 3
    /// Target line width (`PRINT_OPTS.linewidth`).
    static let lineWidth = 80
    /// The repr prefix; its length is the base indent of every continuation line.
    static let prefix = "tensor("

    /// - shape: the tensor's sizes (empty array = 0-dim scalar)
    /// - elements: row-major elements, count == product of shape (for .bool, 0 = False, nonzero = True)
    /// - suffixes: the trailing attributes in order, already spelled, e.g.
    ///   ["dtype=torch.float64", "requires_grad=True"]. For empty tensors `size=(…)` is added
    ///   in front of them when PyTorch would print it (every rank except 1).
    static func repr(shape: [Int], elements: Elements, suffixes: [String]) -> String {
        let indent = prefix.unicodeScalars.count
        let elementCount = shape.reduce(1, *)
        var allSuffixes = suffixes
        let body: String
        if elementCount == 0 {
            // `_str_intern`: PyTorch shows the shape of empty tensors unless it is `(0,)`.
            if shape.count != 1 {
                allSuffixes.insert("size=" + tupleDescription(shape), at: 0)
            }
            body = "[]"
        } else {
            let layout = Layout(shape: shape, summarize: elementCount > threshold)
            let shown = layout.visibleOffsets()
            switch elements {
            case .float(let values), .bool(let values):
                let isBool = if case .bool = elements { true } else { false }
                let formatter = Formatter(bool: isBool, values: shown.map { values[$0] })
                body = layout.render(width: formatter.width, indent: indent) { formatter.format(values[$0]) }
            case .integer(let values):
                // `_Formatter` for integer dtypes: `f"{value}"`, right-aligned to the widest.
                let width = shown.map { String(values[$0]).count }.reduce(1, max)
                body = layout.render(width: width, indent: indent) { offset in
                    let text = String(values[offset])
                    return String(repeating: " ", count: max(0, width - text.count)) + text
                }
            }
        }
        return appendingSuffixes(allSuffixes, to: prefix + body, indent: indent)
    }

    /// Python's `str(tuple(shape))`: `(0,)` for one dimension, `(2, 0)` otherwise.
    static func tupleDescription(_ shape: [Int]) -> String {
        let items = shape.map(String.init)
        return items.count == 1 ? "(\(items[0]),)" : "(" + items.joined(separator: ", ") + ")"
    }

    /// `_add_suffixes`: joins suffixes with `", "`, moving one to its own line (indented by
    /// `indent`) when it would overflow `lineWidth`.
    static func appendingSuffixes(_ suffixes: [String], to text: String, indent: Int) -> String {
        let scalars = Array(text.unicodeScalars)
        // Python: `len(s) - s.rfind("\n") + 1`, where `rfind` returns -1 when there is no newline.
        let lastNewline = scalars.lastIndex(of: "\n") ?? -1
        var lastLineLength = scalars.count - lastNewline + 1
        var result = text
        for suffix in suffixes {
            let suffixLength = suffix.unicodeScalars.count
            if lastLineLength + suffixLength + 2 > lineWidth {
                result += ",\n" + String(repeating: " ", count: indent) + suffix
                lastLineLength = indent + suffixLength
            } else {
                result += ", " + suffix
                lastLineLength += suffixLength + 2
            }
        }
        return result + ")"
    }
}

// MARK: - Layout

extension TensorFormatting {
    /// The shape of a non-empty tensor plus whether it is summarised; knows which elements are
    /// shown and how to lay them out.
    struct Layout {
        let shape: [Int]
        let summarize: Bool
        /// Row-major strides of `shape`.
        let strides: [Int]

        init(shape: [Int], summarize: Bool) {
            self.shape = shape
            self.summarize = summarize
            var strides = Array(repeating: 1, count: shape.count)
            for dim in shape.indices.dropLast().reversed() {
                strides[dim] = strides[dim + 1] * shape[dim + 1]
            }
            self.strides = strides
        }

        /// Whether dimension `dim` is cut to its first and last `edgeItems` entries.
        func isElided(_ dim: Int) -> Bool {
            summarize && shape[dim] > 2 * edgeItems
        }

        /// The indices of dimension `dim` that are printed.
        func shownIndices(_ dim: Int) -> [Int] {
            let size = shape[dim]
            guard isElided(dim) else { return Array(0..<size) }
            return Array(0..<edgeItems) + Array((size - edgeItems)..<size)
        }

        /// `get_summarized_data`: flat offsets of every printed element, in row-major order.
        func visibleOffsets() -> [Int] {
            var offsets = [0]
            for dim in shape.indices {
                let steps = shownIndices(dim).map { $0 * strides[dim] }
                offsets = offsets.flatMap { base in steps.map { base + $0 } }
            }
            return offsets
        }

        /// `_tensor_str_with_formatter` for the whole tensor at the given base indent;
        /// `element` gives the padded text of the element at a row-major offset, all `width`
        /// characters wide.
        func render(width: Int, indent: Int, _ element: (Int) -> String) -> String {
            render(dim: 0, offset: 0, indent: indent, width: width, element)
        }

        private func render(
            dim: Int, offset: Int, indent: Int, width: Int, _ element: (Int) -> String
        ) -> String {
            if shape.isEmpty {
                return element(offset)
            }
            if dim == shape.count - 1 {
                return renderVector(dim: dim, offset: offset, indent: indent, width: width, element)
            }
            var slices = shownIndices(dim).map { index in
                render(dim: dim + 1, offset: offset + index * strides[dim], indent: indent + 1, width: width, element)
            }
            if isElided(dim) {
                slices.insert("...", at: edgeItems)
            }
            let remainingRank = shape.count - dim
            let separator =
                "," + String(repeating: "\n", count: remainingRank - 1)
                + String(repeating: " ", count: indent + 1)
            return "[" + slices.joined(separator: separator) + "]"
        }

        /// `_vector_str`: one innermost row, wrapped so each line fits `lineWidth`.
        private func renderVector(
            dim: Int, offset: Int, indent: Int, width: Int, _ element: (Int) -> String
        ) -> String {
            let elementLength = width + 2
            let elementsPerLine = max(1, (lineWidth - indent) / elementLength)
            var items = shownIndices(dim).map { element(offset + $0 * strides[dim]) }
            if isElided(dim) {
                items.insert(" ...", at: edgeItems)
            }
            let lines = stride(from: 0, to: items.count, by: elementsPerLine).map { start in
                items[start..<min(start + elementsPerLine, items.count)].joined(separator: ", ")
            }
            return "[" + lines.joined(separator: ",\n" + String(repeating: " ", count: indent + 1)) + "]"
        }
    }
}

// MARK: - Formatter

extension TensorFormatting {
    /// `_Formatter`: picks one notation and column width for all printed elements.
    struct Formatter {
        enum Notation {
            /// Booleans, printed as `True` / `False`.
            case boolean
            /// Every finite nonzero value is integral: `{:.0f}` followed by `.`.
            case integral
            /// `{:.4f}`.
            case fixed
            /// `{:.4e}`.
            case scientific
        }

        let notation: Notation
        /// Every element is right-aligned to this many characters.
        let width: Int

        /// Chooses notation and width from the printed elements (after summarisation).
        init(bool: Bool, values: [Double]) {
            if bool {
                notation = .boolean
                width = values.map { Self.boolText($0).count }.reduce(1, max)
                return
            }
            let candidates = values.filter { $0.isFinite && $0 != 0 }
            guard !candidates.isEmpty else {
                notation = .integral
                width = 1
                return
            }
            let magnitudes = candidates.map(\.magnitude)
            let smallest = magnitudes.reduce(Double.infinity, min)
            let largest = magnitudes.reduce(0, max)
            let isIntegral = candidates.allSatisfy { $0 == $0.rounded(.up) }
            let isWideRange = largest / smallest > 1000 || largest > 1.0e8
            let chosen: Notation
            if isIntegral {
                chosen = isWideRange ? .scientific : .integral
            } else {
                chosen = isWideRange || smallest < 1.0e-4 ? .scientific : .fixed
            }
            notation = chosen
            width = candidates.map { Self.text($0, chosen).count }.reduce(1, max)
        }

        /// `_Formatter.format`: the element's text, left-padded to `width`.
        func format(_ value: Double) -> String {
            let text: String
            switch notation {
            case .boolean:
                text = Self.boolText(value)
            case .integral:
                text = Self.cFormat("%.0f", value) + (value.isFinite ? "." : "")
            case .fixed, .scientific:
                text = Self.text(value, notation)
            }
            return String(repeating: " ", count: max(0, width - text.count)) + text
        }

        /// The unpadded text used when measuring widths (for `.integral` this already counts the
        /// trailing `.`, as `_Formatter` adds 1 to the length).
        private static func text(_ value: Double, _ notation: Notation) -> String {
            switch notation {
            case .boolean: boolText(value)
            case .integral: cFormat("%.0f", value) + "."
            case .fixed: cFormat("%.\(precision)f", value)
            case .scientific: cFormat("%.\(precision)e", value)
            }
        }

        private static func boolText(_ value: Double) -> String {
            value != 0 ? "True" : "False"
        }

        /// Python's `format(value, spec)` for `f`/`e` specs: C's correctly rounded `printf`,
        /// except that non-finite values print as `nan`, `inf`, `-inf` (Python never prints `-nan`).
        private static func cFormat(_ spec: String, _ value: Double) -> String {
            if value.isNaN { return "nan" }
            if value.isInfinite { return value < 0 ? "-inf" : "inf" }
            // The longest possible result, `%.4f` of -Double.greatestFiniteMagnitude, is 315 bytes.
            var buffer = [CChar](repeating: 0, count: 512)
            let length = withVaList([value]) { arguments in
                vsnprintf(&buffer, buffer.count, spec, arguments)
            }
            let bytes = buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
