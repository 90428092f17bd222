#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Threads for the tests that need an engine of their own (each thread makes its own).

/// Runs `body` on a new thread and waits for the thread to end (its engine, if it made one,
/// is freed as it ends).
func onNewThread(_ body: @escaping @Sendable () -> Void) {
    for thread in startThreads(1, { _ in body() }) { pthread_join(thread, nil) }
}

/// Starts `count` threads that run `body(i)`; the caller joins them.
func startThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> [pthread_t] {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var threads: [pthread_t] = []
    for i in 0..<count {
        let box = Unmanaged.passRetained(Box { body(i) }).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        if rc != 0 { fatalError("pthread_create failed: \(rc)") }
        threads.append(thread)
    }
    return threads
}

/// A value written by one thread and read by another after a join.
final class Shared<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
