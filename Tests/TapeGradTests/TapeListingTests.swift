import Foundation
import Synchronization
import Testing
import TapeGrad

/// `Tape.listing()`, `tensor.tapeListing()` and `tensor.graphvizDOT()`, on seed 000
/// (`y = x + 2; z = y * y * 3; out = z.mean()`).
@Suite struct TapeListingTests {
    /// Runs `body` on a new thread: a new thread has a new engine, so its tape starts empty and
    /// record indices do not depend on the tests that ran before on this thread.
    static func onFreshThread<R: Sendable>(_ body: @escaping @Sendable () throws -> R) throws -> R {
        let result = Mutex<Result<R, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let r = Result { try body() }
            result.withLock { $0 = r }
            done.signal()
        }
        thread.start()
        done.wait()
        return try result.withLock { $0! }.get()
    }

    static let seed000Listing = """
        #  node           operands → where their gradient goes  result  saved
        0  AddBackward0   [2, 2] → leaf 0, other=2              [2, 2]  0 B
        1  MulBackward0   [2, 2] → #0, [2, 2] → #0              [2, 2]  16 B
        2  MulBackward0   [2, 2] → #1, other=3                  [2, 2]  0 B
        3  MeanBackward0  [2, 2] → #2                           []      0 B
        leaf 0: [2, 2] float32, gradient accumulates into its .grad (AccumulateGrad)
        4 records, 16 B saved
        """

    static let seed000DOT = """
        digraph TapeGrad {
        \tgraph [size="12,12"]
        \tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]
        \toutput [label="out\\n()" fillcolor=darkolivegreen1]
        \tr3 -> output
        \tr3 [label="MeanBackward0"]
        \tr2 -> r3
        \tr2 [label="MulBackward0"]
        \tr1 -> r2
        \tr1 [label="MulBackward0"]
        \tr0 -> r1
        \tr0 -> r1
        \tr0 [label="AddBackward0"]
        \tacc0 -> r0
        \tacc0 [label=AccumulateGrad]
        \tleaf0 [label="x\\n(2, 2)" fillcolor=lightblue]
        \tleaf0 -> acc0
        }

        """

    @Test func seed000ListingAndDOT() throws {
        let (listing, tape, dot) = try Self.onFreshThread { () throws -> (String, String, String) in
            let x = Tensor.ones(2, 2, requiresGrad: true)
            let y = x + 2
            let z = y * y * 3
            let out = try z.mean()
            return (out.tapeListing().description, Tape.listing().description,
                    out.graphvizDOT(names: ["x": x, "out": out]))
        }
        #expect(listing == Self.seed000Listing)
        #expect(tape == Self.seed000Listing)
        #expect(dot == Self.seed000DOT)
    }

    @Test func seed000Entries() throws {
        let entries = try Self.onFreshThread { () -> [TapeListing.Entry] in
            let x = Tensor.ones(2, 2, requiresGrad: true)
            let y = x + 2
            return try (y * y * 3).mean().tapeListing().entries
        }
        #expect(entries.map(\.index) == [0, 1, 2, 3])
        #expect(entries.map(\.node) == ["AddBackward0", "MulBackward0", "MulBackward0", "MeanBackward0"])
        #expect(entries[0].operands == [.init(shape: [2, 2], gradientGoesTo: .leaf(0))])
        #expect(entries[0].arguments == [.init(name: "other", value: 2)])
        #expect(entries[1].operands.map(\.gradientGoesTo) == [.record(0), .record(0)])
        #expect(entries.map(\.savedBytes) == [0, 16, 0, 0])
        #expect(entries[3].resultShape == [])
    }

    @Test func aTensorListsOnlyTheRecordsItDependsOn() throws {
        let (own, whole) = try Self.onFreshThread { () throws -> (String, String) in
            let w = Tensor.ones(3, 2, requiresGrad: true)
            let x = Tensor.ones(4, 3)
            _ = w * 5                                 // record 0, not behind `loss`
            let loss = try x.mm(w).relu().sum()       // records 1, 2, 3
            return (loss.tapeListing(names: ["w": w]).description, Tape.listing().description)
        }
        #expect(own == """
            #  node           operands → where their gradient goes  result  saved
            1  MmBackward0    [4, 3] (no grad), [3, 2] → leaf 0     [4, 2]  72 B
            2  ReluBackward0  [4, 2] → #1                           [4, 2]  32 B
            3  SumBackward0   [4, 2] → #2                           []      0 B
            leaf 0 (w): [3, 2] float32, gradient accumulates into its .grad (AccumulateGrad)
            3 records, 104 B saved
            """)
        #expect(whole.split(separator: "\n").count == 7)
        #expect(whole.contains("0  MulBackward0"))
    }

    @Test func releasedRecordsShowFreed() throws {
        let listing = try Self.onFreshThread { () throws -> String in
            let x = Tensor.ones(2, 2, requiresGrad: true)
            let y = x + 2
            let out = try (y * y * 3).mean()
            try out.backward()
            return out.tapeListing().description
        }
        #expect(listing.contains("1  MulBackward0   [2, 2] → #0, [2, 2] → #0              [2, 2]  freed"))
        #expect(listing.hasSuffix("4 records, 0 B saved"))
    }

    @Test func aLeafHasAnEmptyListingAndAOneNodeGraph() throws {
        let (listing, dot) = try Self.onFreshThread { () -> (TapeListing, String) in
            let x = Tensor.ones(3, requiresGrad: true)
            return (x.tapeListing(), x.graphvizDOT())
        }
        #expect(listing.entries.isEmpty && listing.leaves.isEmpty)
        #expect(dot.contains("\toutput [label=\"(3,)\" fillcolor=darkolivegreen1]\n}"))
    }

    @Test func recordsOfAStepEndWithIt() throws {
        let counts = try Self.onFreshThread { () throws -> (Int, Int, Int) in
            let w = Tensor.ones(2, requiresGrad: true)
            let before = Tape.count
            let inside = try withStep { () throws -> Int in
                _ = (w * w).sum()
                return Tape.count
            }
            return (before, inside, Tape.count)
        }
        #expect(counts == (0, 2, 0))
    }
}
