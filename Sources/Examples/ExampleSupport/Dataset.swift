// Classification data held as plain Swift arrays: batches become tensors inside a training step.
import Foundation
import TapeGrad

/// Examples for a classifier: `count` feature vectors of `dimension` numbers and their labels.
public struct Dataset: Sendable {
    /// `count * dimension` features, row-major.
    public var features: [Float]
    /// One class index per example, in `0..<classes`.
    public var labels: [Int]
    /// Numbers per example.
    public var dimension: Int
    /// Number of classes.
    public var classes: Int

    /// Examples in the set.
    public var count: Int { labels.count }

    public init(features: [Float], labels: [Int], dimension: Int, classes: Int) {
        guard features.count == labels.count * dimension else { fatalError("features must hold dimension numbers per label") }
        self.features = features
        self.labels = labels
        self.dimension = dimension
        self.classes = classes
    }

    /// MNIST-format images and labels: pixels scaled to [0, 1], `classes` one more than the
    /// largest label (at least `minimumClasses`).
    public init(images: IDX.Images, labels: [UInt8], minimumClasses: Int = 10) {
        guard images.count == labels.count else { fatalError("as many labels as images") }
        self.init(
            features: images.pixels.map { Float($0) / 255 }, labels: labels.map(Int.init),
            dimension: images.rows * images.columns,
            classes: max(minimumClasses, Int(labels.max() ?? 0) + 1))
    }

    /// The mean and standard deviation of all features.
    public var featureStatistics: (mean: Double, standardDeviation: Double) {
        guard !features.isEmpty else { return (0, 1) }
        var sum = 0.0, sumOfSquares = 0.0
        for f in features { sum += Double(f); sumOfSquares += Double(f) * Double(f) }
        let mean = sum / Double(features.count)
        let variance = max(sumOfSquares / Double(features.count) - mean * mean, 0)
        return (mean, variance > 0 ? variance.squareRoot() : 1)
    }

    /// This set with `(feature - mean) / standardDeviation` (use the training set's statistics
    /// for the test set too).
    public func standardized(mean: Double, standardDeviation: Double) -> Dataset {
        var copy = self
        let m = Float(mean), s = Float(standardDeviation)
        copy.features = features.map { ($0 - m) / s }
        return copy
    }

    /// The example indices in a random order, cut into batches of `size` (the last one may be
    /// smaller).
    public func shuffledBatches(size: Int, using generator: inout RandomGenerator) -> [[Int]] {
        batches(of: Array(0..<count).shuffled(using: &generator), size: size)
    }

    /// How many batches of `size` the examples make (the last one may be smaller).
    public func batchCount(size: Int) -> Int { (count + size - 1) / size }

    /// The example indices in order, cut into batches of `size`.
    public func orderedBatches(size: Int) -> [[Int]] {
        batches(of: Array(0..<count), size: size)
    }

    private func batches(of order: [Int], size: Int) -> [[Int]] {
        stride(from: 0, to: order.count, by: size).map { Array(order[$0..<min($0 + size, order.count)]) }
    }

    /// The examples at `indices`, ready to become tensors.
    public func batch(_ indices: [Int]) -> Batch {
        var values = [Double](repeating: 0, count: indices.count * dimension)
        var labels = [Int](repeating: 0, count: indices.count)
        for (row, index) in indices.enumerated() {
            let source = index * dimension
            for j in 0..<dimension { values[row * dimension + j] = Double(features[source + j]) }
            labels[row] = self.labels[index]
        }
        return Batch(values: values, labels: labels, dimension: dimension, classes: classes)
    }
}

/// Some examples of a dataset as flat arrays.
public struct Batch: Sendable {
    /// `count * dimension` inputs, row-major.
    public var values: [Double]
    /// The class of each example.
    public var labels: [Int]
    public var dimension: Int
    public var classes: Int

    /// Examples in the batch.
    public var count: Int { labels.count }

    /// `count * classes` one-hot targets, row-major.
    public var oneHot: [Double] {
        var oneHot = [Double](repeating: 0, count: count * classes)
        for (row, label) in labels.enumerated() { oneHot[row * classes + label] = 1 }
        return oneHot
    }

    /// The inputs as a `[count, dimension]` tensor (made in the current step).
    public func inputs() throws -> Tensor { try Tensor(values: values, shape: [count, dimension]) }
}

/// Interleaved spirals in the plane, one arm per class (the classic toy problem of CS231n):
/// linearly inseparable, learnt to near 100% by a small ReLU network.
public enum Spirals {
    /// `pointsPerClass` points on each of `classes` arms, with Gaussian noise on the angle.
    public static func make(classes: Int = 3, pointsPerClass: Int = 300, noise: Double = 0.2, seed: UInt64 = 0) -> Dataset {
        var generator = RandomGenerator(seed: seed)
        var features: [Float] = []
        var labels: [Int] = []
        features.reserveCapacity(2 * classes * pointsPerClass)
        for arm in 0..<classes {
            for i in 0..<pointsPerClass {
                let radius = Double(i) / Double(max(pointsPerClass - 1, 1))
                let angle = Double(arm) * 4 + 4 * radius + noise * normal(&generator)
                features += [Float(radius * sin(angle)), Float(radius * cos(angle))]
                labels.append(arm)
            }
        }
        return Dataset(features: features, labels: labels, dimension: 2, classes: classes)
    }

    /// A standard normal deviate (Box-Muller).
    private static func normal(_ generator: inout RandomGenerator) -> Double {
        let u1 = max(generator.nextUniform(), 1e-300), u2 = generator.nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
