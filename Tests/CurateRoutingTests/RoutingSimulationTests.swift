import CurateImaging
@testable import CurateRouting
import CurateTestSupport
import Foundation
import Testing

enum Digits {
    /// All bundled digits: pixels / 255 (8 × 8) and labels, in labels.csv order.
    static func load() throws -> (x: [Double], y: [Int]) {
        let root = TestFixtures.repoPath("datasets/digits")
        var x: [Double] = [], y: [Int] = []
        for line in try String(contentsOfFile: root + "/labels.csv", encoding: .utf8).split(separator: "\n").dropFirst() {
            let parts = line.split(separator: ",")
            let pixels = try ImageDecoder().decode(fileAt: root + "/" + parts[0], format: .gray8).pixels
            x += pixels.bytes.map { Double($0) / 255 }
            y.append(Int(parts[1])!)
        }
        return (x, y)
    }
}

@Suite struct RoutingSimulationTests {
    /// Target 0.95, 3 seeds × 5 rounds on the bundled digits with the built-in learner: the labels the model
    /// auto-accepts are at least 95% right, against the true labels, in every round.
    @Test func autoAcceptedAccuracyHoldsEveryRound() throws {
        let (x, y) = try Digits.load()
        var policy = RoutingPolicy()
        policy.targetAccuracy = 0.95
        let simulation = RoutingSimulation(features: x, dimensions: 64, labels: y, classes: 10, policy: policy)
        var accepted = 0, oracle = 0
        for seed in [1, 2, 3] as [UInt64] {
            let rounds = simulation.run(rounds: 5, seed: seed)
            #expect(rounds.count == 5)
            for r in rounds {
                if let a = r.acceptedAccuracy { #expect(a >= 0.95, "seed \(seed) round \(r.round): accuracy \(a)") }
                accepted += r.accepted
                oracle += r.oracleAccepted
            }
        }
        // The model labels a real share of the data (the benchmark records how much of the oracle's share).
        #expect(accepted > oracle / 2, "accepted \(accepted) of the oracle's \(oracle)")
    }
}
