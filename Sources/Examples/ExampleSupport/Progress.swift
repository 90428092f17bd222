// Progress of a long run: one line rewritten in place on a terminal, nothing extra otherwise.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A status line for a terminal. When standard output is a terminal, ``update(_:)`` redraws
/// one line in place (`\r`, then the text, then "erase to the end of the line"), at most ten
/// times a second; ``print(_:)`` prints a permanent line above it. When standard output is not
/// a terminal (a pipe, a file), ``update(_:)`` prints nothing, so logs and transcripts stay
/// the same as without a status line.
public struct ProgressLine {
    /// Whether standard output is a terminal.
    public let isTerminal: Bool
    private let clock = ContinuousClock()
    private var lastDraw: ContinuousClock.Instant?
    private var showing = false
    /// Redraws closer together than this are skipped.
    public var interval: Duration = .milliseconds(100)

    /// A status line on standard output; `isTerminal` defaults to `isatty(1)`.
    public init(isTerminal: Bool = isatty(STDOUT_FILENO) != 0) {
        self.isTerminal = isTerminal
    }

    /// Whether an update now would be drawn: the caller can skip computing its text otherwise.
    public func isDue() -> Bool {
        guard isTerminal else { return false }
        guard let lastDraw else { return true }
        return clock.now - lastDraw >= interval
    }

    /// Redraws the status line with `text` (on a terminal, when due; `force` draws anyway).
    public mutating func update(_ text: @autoclosure () -> String, force: Bool = false) {
        guard isTerminal, force || isDue() else { return }
        write("\r" + text() + "\u{1B}[K")
        showing = true
        lastDraw = clock.now
    }

    /// Prints `line` as a permanent line: on a terminal the status line is erased first and
    /// drawn again by the next update.
    public mutating func print(_ line: String) {
        clear()
        write(line + "\n")
    }

    /// Erases the status line (before the program's last lines).
    public mutating func clear() {
        guard showing else { return }
        write("\r\u{1B}[K")
        showing = false
        lastDraw = nil
    }

    private func write(_ text: String) {
        Swift.print(text, terminator: "")
        fflush(nil)   // every stream: Swift 6 forbids naming the global `stdout`
    }
}

/// Counts steps and gives their rate over the last few seconds.
public struct StepRate {
    private let clock = ContinuousClock()
    private var marks: [(ContinuousClock.Instant, Int)] = []
    private var steps = 0

    public init() {}

    /// Notes that one more step has finished.
    public mutating func tick() {
        steps += 1
        let now = clock.now
        if marks.isEmpty || now - marks[marks.count - 1].0 >= .milliseconds(250) {
            marks.append((now, steps))
            if marks.count > 12 { marks.removeFirst(marks.count - 12) }
        }
    }

    /// Steps per second over the last few seconds (0 before there are two marks).
    public var perSecond: Double {
        guard let first = marks.first else { return 0 }
        let seconds = (clock.now - first.0).seconds
        return seconds > 0 ? Double(steps - first.1) / seconds : 0
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// `value` with `digits` digits after the point (no Foundation formatting).
public func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (Swift.abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
    if digits > 0 {
        let fraction = String(Int(scaled) - whole * Int(scale))
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return text
}

/// `value` with `digits` significant digits, without an exponent: `29953158`, `0.193303`.
public func significant(_ value: Double, _ digits: Int = 6) -> String {
    guard value.isFinite, value != 0 else { return value == 0 ? "0" : "\(value)" }
    var magnitude = 0
    var scaled = Swift.abs(value)
    while scaled >= 10 { scaled /= 10; magnitude += 1 }
    while scaled < 1 { scaled *= 10; magnitude -= 1 }
    return fixed(value, min(max(0, digits - 1 - magnitude), 12))
}
