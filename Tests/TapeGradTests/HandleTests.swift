#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import TapeGrad

/// Handles carry their engine's tag, slots retire before their generation wraps, and a
/// thread's engine is freed when the thread ends.
@Suite struct HandleTests {
    static let crossThreadMessage = "TapeGrad: a tensor was used on a thread other than the one that made it; tensors belong to the thread that made them (each thread has its own engine)"

    @Test func handleStaysEightBytes() {
        #expect(MemoryLayout<Tensor>.size == 8)
        #expect(MemoryLayout<Tensor>.stride == 8)
    }

    @Test func tensorsOfTwoThreadsCarryDifferentTags() {
        let here = Tensor.ones(2)
        let there = Shared(Tensor.null)
        let thereTag = Shared(UInt32(0))
        onNewThread {
            there.value = Tensor.ones(2)
            thereTag.value = engine.pointee.tag
        }
        let tag = engine.pointee.tag
        #expect(here.generation & Engine.tagMask == tag)
        #expect(there.value.generation & Engine.tagMask == thereTag.value)
        #expect(tag != thereTag.value)
        #expect(engine.pointee.owns(here) && !engine.pointee.owns(there.value))
        // Neither tag has its low seven bits all set (a handle packed in a Double is never a NaN).
        #expect(tag >> Engine.tagShift & 0x7F != 0x7F)
        #expect(thereTag.value >> Engine.tagShift & 0x7F != 0x7F)
    }

    @Test func readingAnotherThreadsTensorTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let made = Tensor.ones(3) * 2
            onNewThread {
                // This thread's engine has a live tensor in the same slot: before the tag,
                // the read below returned its values.
                let own = Tensor.zeros(3) + 5
                _ = own
                print(made.scalars())
            }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains(Self.crossThreadMessage))
    }

    @Test func anOpOnAnotherThreadsTensorTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let made = Tensor.ones(3, requiresGrad: true)
            onNewThread { _ = try? (made * 3).sum().backward() }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains(Self.crossThreadMessage))
    }

    @Test func askingWhetherAnotherThreadsTensorIsAliveTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let made = Tensor.ones(3)
            onNewThread { print(made.isAlive) }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains(Self.crossThreadMessage))
    }

    @Test func slotIsRetiredBeforeItsGenerationWraps() {
        let e = engine
        let made = Tensor.zeros(2)
        let index = made.slot
        // Two releases left: the next reuses the slot, the one after retires it.
        let handle = e.pointee.setGenerationForTesting(made, releasesLeft: 2)
        #expect(handle.isAlive && !made.isAlive)
        e.pointee.release(slotIndex: index)
        #expect(e.pointee.slots[Int(index)].generation == e.pointee.tag | (Engine.countMask - 1))
        #expect(e.pointee.freeSlots[e.pointee.freeSlots.count - 1] == index)

        let reused = Tensor.zeros(2)
        #expect(reused.slot == index)
        #expect(reused.generation == e.pointee.tag | (Engine.countMask - 1))
        #expect(reused.scalars() == [0, 0])
        e.pointee.release(slotIndex: index)
        #expect(e.pointee.slots[Int(index)].generation == e.pointee.tag | Engine.countMask)
        #expect(e.pointee.freeSlots[e.pointee.freeSlots.count - 1] == index)

        let last = Tensor.ones(2)
        #expect(last.slot == index)
        #expect(last.generation == e.pointee.tag | Engine.countMask)
        // The next generation would wrap the count into the tag: the slot is retired.
        e.pointee.release(slotIndex: index)
        #expect(e.pointee.slots[Int(index)].generation == e.pointee.tag)
        #expect(!e.pointee.slots[Int(index)].flags.contains(.live))
        let free = (0..<e.pointee.freeSlots.count).map { e.pointee.freeSlots[$0] }
        #expect(!free.contains(index))

        let after = Tensor.full([2], 7)
        #expect(after.slot != index)
        #expect(after.scalars() == [7, 7])
        // No handle the slot ever had names a tensor again, nor the wrapped-around first one.
        for old in [made, handle, reused, last, Tensor(slot: index, generation: e.pointee.tag | 1)] {
            #expect(!old.isAlive)
        }
    }

    @Test func usingARetiredSlotsHandleTraps() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let e = engine
            let made = Tensor.zeros(2)
            let handle = e.pointee.setGenerationForTesting(made, releasesLeft: 0)
            e.pointee.release(slotIndex: handle.slot)
            _ = Tensor.zeros(2)
            _ = handle.scalars()
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains(StepTests.staleMessage))
    }

    /// `check` (which replaced `precondition`) prints its message before it stops, in every build.
    @Test func aFailedCheckPrintsItsMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.randn([2], dtype: .bool)
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("random tensors must have a floating dtype"))
    }

    /// Each thread trains a little (a parameter with a gradient and a hook, a few steps with
    /// backward), so its engine holds tables, pool buffers, live buffers and Swift values.
    static func threadWork(_ seed: Int) {
        let w = Tensor.randn(256, 256, requiresGrad: true)
        let x = Tensor.randn(64, 256)
        _ = try? w.registerHook { $0 }
        for _ in 0..<3 {
            try? withStep { try (x.mm(w).relu() * Double(seed + 1)).sum().backward() }
        }
        w.grad = nil
    }

    @Test(.needsJemallocCounters) func anEngineIsFreedWhenItsThreadEnds() async throws {
        // In a child process, so that no other test's threads move the arena's counters.
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            func round() {
                for thread in startThreads(50, { HandleTests.threadWork($0) }) { pthread_join(thread, nil) }
            }
            round()  // the first round warms what the process keeps (the arena itself)
            let baseline = Arena.allocatedBytes
            // One engine while its thread is still running, for scale.
            let held = Shared(0)
            onNewThread {
                HandleTests.threadWork(0)
                held.value = Arena.allocatedBytes - baseline
            }
            let afterOne = Arena.allocatedBytes - baseline
            round()
            round()
            let afterRounds = Arena.allocatedBytes - baseline
            print("HANDLE-TEST held=\(held.value) afterOne=\(afterOne) afterRounds=\(afterRounds)")
        }
        let text = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("HANDLE-TEST ") })
        var values: [String: Int] = [:]
        for field in line.split(separator: " ").dropFirst() {
            let parts = field.split(separator: "=")
            values[String(parts[0])] = Int(parts[1])
        }
        let held = try #require(values["held"]), afterOne = try #require(values["afterOne"])
        let afterRounds = try #require(values["afterRounds"])
        // A running thread's engine holds its tables and buffers…
        #expect(held > 500_000)
        // …and gives them all back when the thread ends: nothing per thread is left, after one
        // thread or after a hundred more.
        #expect(afterOne <= 0)
        #expect(afterRounds <= 0)
    }
}
