@testable import ExampleSupport
import Foundation
import Testing
import TapeGrad

/// The IDX reader on files written to a temporary directory.
@Suite struct IDXTests {
    /// A fresh temporary directory, removed by `cleanUp`.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appending(path: "idx-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ bytes: [UInt8], _ name: String, in directory: URL) throws -> String {
        let url = directory.appending(path: name)
        try Data(bytes).write(to: url)
        return url.path
    }

    static let images = IDX.Images(count: 3, rows: 2, columns: 2, pixels: [0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])

    @Test func roundTrip() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let imagesPath = try Self.write(IDX.encode(Self.images), "images-idx3-ubyte", in: dir)
        let labelsPath = try Self.write(IDX.encode(labels: [7, 0, 9]), "labels-idx1-ubyte", in: dir)
        let (images, labels) = try IDX.readDataset(images: imagesPath, labels: labelsPath)
        #expect(images.count == 3 && images.rows == 2 && images.columns == 2)
        #expect(images.pixels == Self.images.pixels)
        #expect(labels == [7, 0, 9])
        // The header is big-endian: magic 0x00000803, then 3, 2, 2.
        #expect(Array(IDX.encode(Self.images).prefix(16)) == [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2])

        let data = Dataset(images: images, labels: labels)
        #expect(data.dimension == 4 && data.classes == 10 && data.count == 3)
        #expect(data.features[1] == 1)
        let batch = data.batch([2, 0])
        #expect(batch.labels == [9, 7])
        #expect(batch.oneHot[9] == 1 && batch.oneHot[10 + 7] == 1 && batch.oneHot.reduce(0, +) == 2)
    }

    @Test func wrongMagicNumber() throws {
        let labelsAsImages = IDX.encode(labels: [1, 2, 3])
        #expect(throws: IDX.FileError("labels is not an IDX image file: its magic number is 0x00000801 (that of a label file), expected 0x00000803")) {
            try IDX.parseImages(labelsAsImages, name: "labels")
        }
        #expect(throws: IDX.FileError("junk is not an IDX label file: its magic number is 0x12345678, expected 0x00000801")) {
            try IDX.parseLabels([0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0], name: "junk")
        }
        #expect(throws: IDX.FileError("t.gz is gzip-compressed: decompress it first (gunzip -k t.gz)")) {
            try IDX.parseLabels([0x1F, 0x8B, 8, 0], name: "t.gz")
        }
    }

    @Test func truncatedFiles() throws {
        let full = IDX.encode(Self.images)
        #expect(throws: IDX.FileError("img is truncated: its header promises 3 images of 2×2 pixels (28 bytes with the header), the file has 27 bytes")) {
            try IDX.parseImages(Array(full.dropLast()), name: "img")
        }
        #expect(throws: IDX.FileError("img is truncated: its header needs 16 bytes, the file has 10")) {
            try IDX.parseImages(Array(full.prefix(10)), name: "img")
        }
        #expect(throws: IDX.FileError("empty is not an IDX label file: it has 0 bytes, fewer than the 4 of a magic number")) {
            try IDX.parseLabels([], name: "empty")
        }
    }

    @Test func labelCountMustMatchImageCount() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let imagesPath = try Self.write(IDX.encode(Self.images), "i", in: dir)
        let labelsPath = try Self.write(IDX.encode(labels: [1, 2]), "l", in: dir)
        #expect(throws: IDX.FileError("\(labelsPath) has 2 labels but \(imagesPath) has 3 images: the counts must match")) {
            try IDX.readDataset(images: imagesPath, labels: labelsPath)
        }
        #expect(throws: IDX.FileError("\(dir.path)/missing: no such file")) {
            try IDX.readLabels(path: dir.appending(path: "missing").path)
        }
    }
}

@Suite struct TrainingTests {
    @Test func crossEntropyIsStableAndMatchesTheFormula() throws {
        try withStep {
            // log(1 + e^-1000)... with logits this large a naive softmax overflows to inf/nan.
            let logits = Tensor([[1000.0, 0.0], [0.0, 0.0]], requiresGrad: true)
            let loss = try crossEntropy(logits, [0, 1])
            #expect(Swift.abs(try loss.item() - Foundation.log(2.0) / 2) < 1e-6)
            try loss.backward()
            // d/dlogits = (softmax - target) / batch
            let g = logits.grad!.scalars()
            #expect(zip(g, [0, 0, 0.25, -0.25]).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
        }
    }

    @Test func learnsSpirals() throws {
        let train = Spirals.make(classes: 3, pointsPerClass: 100, seed: 1)
        let test = Spirals.make(classes: 3, pointsPerClass: 50, seed: 2)
        var generator = RandomGenerator(seed: 0)
        let model = try MLP(sizes: [2, 64, 3], generator: &generator)
        let optimizer = try SGD(model.parameters, lr: 0.1, momentum: 0.9)
        let before = try evaluate(model, on: test).accuracy
        let tapeBefore = Tape.count
        for _ in 0..<60 {
            for indices in train.shuffledBatches(size: 32, using: &generator) {
                _ = try trainingStep(model, optimizer, train.batch(indices))
            }
        }
        let after = try evaluate(model, on: test)
        #expect(before < 0.6)
        #expect(after.accuracy >= 0.95, "test accuracy \(after.accuracy)")
        #expect(Tape.count == tapeBefore, "every step's records end with it")
    }

    @Test func learnsFromIDXFiles() throws {
        // Two classes of 4×4 images: a bright left half or a bright right half, with noise.
        var generator = RandomGenerator(seed: 3)
        var pixels: [UInt8] = [], labels: [UInt8] = []
        for i in 0..<200 {
            let label = UInt8(i % 2)
            for _ in 0..<4 { for column in 0..<4 {
                let bright = (column < 2) == (label == 0)
                pixels.append(UInt8(bright ? 150 + generator.next() % 100 : generator.next() % 100))
            } }
            labels.append(label)
        }
        let images = try IDX.parseImages(IDX.encode(IDX.Images(count: 200, rows: 4, columns: 4, pixels: pixels)), name: "x")
        let data = Dataset(images: images, labels: try IDX.parseLabels(IDX.encode(labels: labels), name: "y"), minimumClasses: 2)
        let (mean, sd) = data.featureStatistics
        let standardized = data.standardized(mean: mean, standardDeviation: sd)
        let model = try MLP(sizes: [16, 8, 2], generator: &generator)
        let optimizer = try SGD(model.parameters, lr: 0.05, momentum: 0.9)
        for _ in 0..<3 {
            for indices in standardized.shuffledBatches(size: 16, using: &generator) {
                _ = try trainingStep(model, optimizer, standardized.batch(indices))
            }
        }
        #expect(try evaluate(model, on: standardized).accuracy >= 0.95)
    }
}

@Suite struct OutputTests {
    @Test func svgCurves() {
        let svg = CurvesSVG.render([
            .init(title: "loss", xLabel: "step", curves: [.init(label: "train", color: "#1f77b4", points: [(1, 2), (2, 1), (3, 0.5)])]),
            .init(title: "accuracy", xLabel: "step", curves: [.init(label: "test", color: "#d62728", points: [(3, 0.9)], markers: true)], yRange: 0...1),
        ])
        #expect(svg.hasPrefix(#"<svg xmlns="http://www.w3.org/2000/svg" width="960" height="320""#))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("<polyline") && svg.contains("<circle"))
        #expect(CurvesSVG.ticks(0...1).count == 6 && CurvesSVG.ticks(0...250) == [0, 50, 100, 150, 200, 250])
    }

    @Test func fixedDigits() {
        #expect(fixed(3.14159, 2) == "3.14")
        #expect(fixed(-0.05, 1) == "-0.1")
        #expect(fixed(99.96, 1) == "100.0")
        #expect(fixed(2, 0) == "2")
    }

    @Test func progressLineIsNeverDueWhenNotATerminal() {
        var line = ProgressLine(isTerminal: false)
        #expect(!line.isDue())
        line.update("never shown")
        line.clear()
    }
}
