import Synchronization
import Testing
import TapeGrad

/// Helpers shared by the autograd-semantics suites (InPlaceTests, GraphLifetimeTests,
/// HigherOrderTests, LeafToolsTests, HookTests, CustomFunctionTests, LossTests,
/// CheckingToolsTests). Expected values come from PyTorch 2.15.

/// Whether every element of `actual` is within `atol + rtol * |expected|` of `expected`.
func allClose(_ actual: [Double], _ expected: [Double], atol: Double = 1e-6, rtol: Double = 1e-6) -> Bool {
    guard actual.count == expected.count else { return false }
    for (a, e) in zip(actual, expected) {
        if a.isNaN != e.isNaN { return false }
        if a.isNaN { continue }
        if Swift.abs(a - e) > atol + rtol * Swift.abs(e) { return false }
    }
    return true
}

/// The values of an optional tensor (`nil` when there is none).
func values(_ tensor: Tensor?) -> [Double]? { tensor?.scalars() }

/// Collects the warnings TapeGrad reports while `body` runs. The handler is process-wide and
/// tests run in parallel, so captures by these suites are serialised by a lock, every
/// message is also passed on to the handler that was installed before, and callers filter
/// the messages they look for.
enum WarningCapture {
    private static let lock = Mutex<Void>(())

    final class Log: Sendable {
        private let storage = Mutex<[String]>([])
        private let next = Mutex<Warnings.Handler?>(nil)
        func append(_ message: String) { storage.withLock { $0.append(message) } }
        var messages: [String] { storage.withLock { $0 } }
        func forward(to handler: @escaping Warnings.Handler) { next.withLock { $0 = handler } }
        func receive(_ message: String) {
            append(message)
            next.withLock { $0 }?(message)
        }
    }

    static func capture<R>(_ body: () throws -> R) rethrows -> (result: R, warnings: [String]) {
        try lock.withLock { _ in
            let log = Log()
            // The previous handler is known only after installing ours; pass messages on to it.
            let previous = Warnings.setHandler { log.receive($0) }
            log.forward(to: previous)
            defer { Warnings.setHandler(previous) }
            let result = try body()
            return (result, log.messages)
        }
    }
}

/// The text PyTorch 2.15 and TapeGrad share for "modified by an inplace operation" errors,
/// up to where the hint's wording differs.
let inplaceHintPrefix = " Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True"

let secondBackwardMessage = "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward."

let leafInPlaceMessage = "a leaf Variable that requires grad is being used in an in-place operation."
let viewOfLeafInPlaceMessage = "a view of a leaf Variable that requires grad is being used in an in-place operation."
