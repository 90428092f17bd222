/// An error raised by a TapeGrad operation; its message is PyTorch's for the same mistake.
public struct TapeGradError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The Python exception PyTorch raises for the same mistake.
    public enum Kind: String, Sendable {
        /// PyTorch's `RuntimeError`.
        case runtimeError = "RuntimeError"
        /// PyTorch's `IndexError`.
        case indexError = "IndexError"
        /// PyTorch's `ValueError`.
        case valueError = "ValueError"
        /// PyTorch's `TypeError`.
        case typeError = "TypeError"
        /// PyTorch's `NotImplementedError`.
        case notImplementedError = "NotImplementedError"
        /// Python's `AssertionError` (a failed `assert` in PyTorch's Python code).
        case assertionError = "AssertionError"
    }

    /// The kind of error, named after PyTorch's exception class.
    public let kind: Kind
    /// The message, PyTorch's text for the same mistake.
    public let message: String

    /// Makes an error of the given kind.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    static func runtime(_ message: String) -> TapeGradError { TapeGradError(.runtimeError, message) }
    static func index(_ message: String) -> TapeGradError { TapeGradError(.indexError, message) }

    /// The message alone, as PyTorch's `str(error)`.
    public var description: String { message }
}

/// Runs a throwing operation from a spelling that cannot throw (an operator, a subscript
/// setter): on error the program stops with the error's message.
@inline(__always)
@discardableResult
func trapping<R, E: Error>(_ body: () throws(E) -> R) -> R {
    do {
        return try body()
    } catch let error as TapeGradError {
        fatalError("\(error.kind.rawValue): \(error.message)")
    } catch {
        fatalError("\(error)")
    }
}

/// Stops the program with `message` when `condition` is false, in every build: unlike
/// `precondition`, whose message -O builds drop, `fatalError` always prints it. Inlined, so
/// the hot path evaluates only the condition; the message is built only on failure.
@inline(__always)
func check(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if _slowPath(!condition()) { checkFailed(message(), file: file, line: line) }
}

@inline(never)
func checkFailed(_ message: String, file: StaticString, line: UInt) -> Never {
    fatalError(message, file: file, line: line)
}
