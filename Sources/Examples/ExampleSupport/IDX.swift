// The IDX file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a
// big-endian header (magic number, then one 32-bit count per dimension) followed by the data,
// one unsigned byte per element.
import Foundation

/// Reading and writing MNIST-format IDX files.
public enum IDX {
    /// The magic number of an image file: unsigned bytes (0x08), three dimensions.
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// The magic number of a label file: unsigned bytes (0x08), one dimension.
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// The images of an IDX image file: `count` images of `rows × columns` bytes, row-major.
    public struct Images: Sendable {
        public var count: Int
        public var rows: Int
        public var columns: Int
        /// `count * rows * columns` pixels, 0 (background) to 255.
        public var pixels: [UInt8]

        public init(count: Int, rows: Int, columns: Int, pixels: [UInt8]) {
            self.count = count
            self.rows = rows
            self.columns = columns
            self.pixels = pixels
        }
    }

    /// What is wrong with a file, in words for the person who gave its path.
    public struct FileError: Error, CustomStringConvertible, Equatable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Reads an image file (magic number 0x00000803).
    public static func readImages(path: String) throws(FileError) -> Images {
        try parseImages(try contents(of: path), name: path)
    }

    /// Reads a label file (magic number 0x00000801).
    public static func readLabels(path: String) throws(FileError) -> [UInt8] {
        try parseLabels(try contents(of: path), name: path)
    }

    /// Reads an image file and a label file and checks that they describe as many examples.
    public static func readDataset(images imagesPath: String, labels labelsPath: String) throws(FileError) -> (Images, [UInt8]) {
        let images = try readImages(path: imagesPath)
        let labels = try readLabels(path: labelsPath)
        guard labels.count == images.count else {
            throw FileError("\(labelsPath) has \(labels.count) labels but \(imagesPath) has \(images.count) images: the counts must match")
        }
        return (images, labels)
    }

    /// Parses the bytes of an image file; `name` is what messages call it.
    public static func parseImages(_ bytes: [UInt8], name: String) throws(FileError) -> Images {
        let (dims, dataStart) = try header(bytes, name: name, magic: imagesMagic, kind: "image", rank: 3)
        let (count, rows, columns) = (dims[0], dims[1], dims[2])
        let (size, overflow) = count.multipliedReportingOverflow(by: rows * columns)
        guard !overflow else { throw FileError("\(name): the header's sizes \(count) × \(rows) × \(columns) are too large") }
        try checkLength(bytes, name: name, expected: dataStart + size, what: "\(count) images of \(rows)×\(columns) pixels")
        return Images(count: count, rows: rows, columns: columns, pixels: Array(bytes[dataStart..<(dataStart + size)]))
    }

    /// Parses the bytes of a label file; `name` is what messages call it.
    public static func parseLabels(_ bytes: [UInt8], name: String) throws(FileError) -> [UInt8] {
        let (dims, dataStart) = try header(bytes, name: name, magic: labelsMagic, kind: "label", rank: 1)
        try checkLength(bytes, name: name, expected: dataStart + dims[0], what: "\(dims[0]) labels")
        return Array(bytes[dataStart..<(dataStart + dims[0])])
    }

    /// The bytes of an image file holding `images`.
    public static func encode(_ images: Images) -> [UInt8] {
        var bytes: [UInt8] = []
        append(imagesMagic, to: &bytes)
        for size in [images.count, images.rows, images.columns] { append(UInt32(size), to: &bytes) }
        return bytes + images.pixels
    }

    /// The bytes of a label file holding `labels`.
    public static func encode(labels: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        append(labelsMagic, to: &bytes)
        append(UInt32(labels.count), to: &bytes)
        return bytes + labels
    }

    // MARK: Parts

    private static func contents(of path: String) throws(FileError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FileError("\(path): no such file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw FileError("\(path): cannot be read")
        }
        return [UInt8](data)
    }

    private static func header(_ bytes: [UInt8], name: String, magic: UInt32, kind: String, rank: Int) throws(FileError) -> ([Int], Int) {
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
            throw FileError("\(name) is gzip-compressed: decompress it first (gunzip -k \(name))")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= 4 else {
            throw FileError("\(name) is not an IDX \(kind) file: it has \(bytes.count) bytes, fewer than the 4 of a magic number")
        }
        let found = word(bytes, at: 0)
        guard found == magic else {
            let hint = found == imagesMagic ? " (that of an image file)" : found == labelsMagic ? " (that of a label file)" : ""
            throw FileError("\(name) is not an IDX \(kind) file: its magic number is \(hex(found))\(hint), expected \(hex(magic))")
        }
        guard bytes.count >= headerSize else {
            throw FileError("\(name) is truncated: its header needs \(headerSize) bytes, the file has \(bytes.count)")
        }
        return ((0..<rank).map { Int(word(bytes, at: 4 + 4 * $0)) }, headerSize)
    }

    private static func checkLength(_ bytes: [UInt8], name: String, expected: Int, what: String) throws(FileError) {
        guard bytes.count >= expected else {
            throw FileError("\(name) is truncated: its header promises \(what) (\(expected) bytes with the header), the file has \(bytes.count) bytes")
        }
    }

    private static func word(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
