import CTapeGradRuntime
#if canImport(Glibc)
import Glibc
#endif

// Anomaly mode (`torch.autograd.set_detect_anomaly`): records remember where they were made,
// a failing backward names the op and that place, and NaN gradients are errors.

/// Turns anomaly detection on or off for the calling thread (`torch.autograd.set_detect_anomaly`).
public func setDetectAnomaly(_ enabled: Bool) {
    engine.pointee.anomalyMode = enabled
}

/// Runs `body` with anomaly detection on (`with torch.autograd.detect_anomaly():`).
public func detectAnomaly<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    Warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only be enabled for debugging.")
    let e = engine
    let previous = e.pointee.anomalyMode
    e.pointee.anomalyMode = true
    defer { e.pointee.anomalyMode = previous }
    return try body()
}

/// Whether anomaly detection is on (`torch.is_anomaly_enabled()`).
public var isAnomalyEnabled: Bool { engine.pointee.anomalyMode }

enum Anomaly {
    /// Remembers where record `index` was made (anomaly mode only).
    static func noteCreation(of index: Int32) {
        guard let raw = tg_stack_trace(3) else { return }
        let text = String(cString: raw)
        free(raw)
        engine.pointee.creationTraces[index] = text
    }

    /// PyTorch's complaint about NaN in a backward's result.
    static func check(_ grads: Gradients, of record: Record) throws(TapeGradError) {
        for (position, g) in [grads.a, grads.b, grads.c].enumerated() where !g.isNull {
            if g.scalars().contains(where: \.isNaN) {
                throw .runtime("Function '\(record.nodeName)' returned nan values in its \(position)th output.")
            }
        }
    }

    /// Reports, through the warning handler, the op a backward failed in and where it was made.
    static func reportFailure(at index: Int) {
        let e = engine
        let name = e.pointee.tape[index].nodeName
        let trace = e.pointee.creationTraces[Int32(index)] ?? "  (made before anomaly detection was enabled)\n"
        Warnings.warn("Error detected in \(name). Traceback of forward call that caused the error:\n\(trace)")
    }
}
