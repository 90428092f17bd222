import Synchronization

/// Where TapeGrad's warnings go: PyTorch's `UserWarning`s, such as reading `.grad` of a
/// non-leaf tensor. The default handler writes `UserWarning: MESSAGE` to standard error.
public enum Warnings {
    /// A function that receives each warning's message.
    public typealias Handler = @Sendable (String) -> Void

    private static let current = Mutex<Handler>({ message in
        var standardError = StandardError()
        print("UserWarning: \(message)", to: &standardError)
    })

    /// Replaces the handler for the whole process; returns the previous one.
    @discardableResult
    public static func setHandler(_ handler: @escaping Handler) -> Handler {
        current.withLock { stored in
            let previous = stored
            stored = handler
            return previous
        }
    }

    /// Reports a warning through the current handler.
    public static func warn(_ message: String) {
        let handler = current.withLock { $0 }
        handler(message)
    }
}

private struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        #if canImport(Glibc)
        _ = string.withCString { Glibc.write(2, $0, strlen($0)) }
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
