import CurateCore
import CurateImaging
@testable import CurateSelection
import CurateTestSupport
import Foundation
import Testing

private func fixture(_ name: String) -> String { TestFixtures.path("CurateSelection", name) }

@Suite struct StrategyTests {
    static let probs = try! NumpyArray(contentsOf: fixture("probs.npy"))
    static let committee = try! NumpyArray(contentsOf: fixture("committee.npy"))
    static let embeddings = try! NumpyArray(contentsOf: fixture("embeddings.npy"))
    struct Expected: Decodable, Sendable {
        var leastConfidence, margin, entropy, voteEntropy, meanKL, bald, kCenter: [Int]
        var sklearnAccuracy: Double
        enum CodingKeys: String, CodingKey {
            case margin, entropy, bald
            case leastConfidence = "least-confidence", voteEntropy = "vote-entropy", meanKL = "mean-kl", kCenter = "k-center", sklearnAccuracy = "sklearn_accuracy"
        }
        func picks(_ s: Strategy) -> [Int] {
            switch s {
            case .leastConfidence: leastConfidence
            case .margin: margin
            case .entropy: entropy
            case .voteEntropy: voteEntropy
            case .meanKL: meanKL
            default: bald
            }
        }
    }
    static let expected = try! JSONDecoder().decode(Expected.self, from: FileManager.default.contents(atPath: fixture("expected.json"))!)

    static var pool: Pool {
        Pool(count: 400, classes: 6, probabilities: probs.values, committee: committee.values, members: 4)
    }

    /// modAL's uncertainty, margin and entropy sampling, and NumPy's vote entropy, mean KL and BALD: the same
    /// 25 rows of 400.
    @Test(arguments: [Strategy.leastConfidence, .margin, .entropy, .voteEntropy, .meanKL, .bald])
    func uncertaintyStrategiesEqualTheReferences(_ strategy: Strategy) throws {
        let picks = try Selector.select(strategy, pool: Self.pool, candidates: Array(0..<400), budget: 25)
        #expect(picks.map(\.row).sorted() == Self.expected.picks(strategy))
        // Ranked most uncertain first.
        #expect(zip(picks, picks.dropFirst()).allSatisfy { $0.score >= $1.score })
    }

    @Test func kCenterGreedyEqualsTheReference() throws {
        let pool = Pool(count: 300, classes: 1, probabilities: [Double](repeating: 1, count: 300), embeddings: Self.embeddings.values, dimensions: 8)
        let picks = try Selector.select(.kCenter, pool: pool, candidates: Array(10..<300), labeled: Array(0..<10), budget: 15)
        #expect(picks.map(\.row) == Self.expected.kCenter)
    }

    /// Properties: k unique rows from the pool, none labeled; class-balanced counts within 1; seeds reproduce.
    @Test(arguments: Strategy.allCases)
    func everyStrategyPicksUniqueUnlabeledRows(_ strategy: Strategy) throws {
        var pool = Self.pool
        var rows: [Double] = []
        for i in 0..<400 {
            let base = (i % 300) * 8, shift = Double(i / 300) * 0.01
            for j in 0..<8 { rows.append(Self.embeddings.values[base + j] + shift) }
        }
        pool.embeddings = rows
        pool.dimensions = 8
        let labeled = Array(0..<40), candidates = Array(40..<400)
        let picks = try Selector.select(strategy, pool: pool, candidates: candidates, labeled: labeled, budget: 30, seed: 9)
        #expect(picks.count == 30)
        #expect(Set(picks.map(\.row)).count == 30)
        #expect(picks.allSatisfy { $0.row >= 40 && $0.row < 400 })
        #expect(try Selector.select(strategy, pool: pool, candidates: candidates, labeled: labeled, budget: 30, seed: 9) == picks)
        if strategy == .classBalanced {
            var counts = [Int](repeating: 0, count: 6)
            for p in picks { counts[(0..<6).max { pool.p(p.row, $0) < pool.p(p.row, $1) }!] += 1 }
            #expect(counts.max()! - counts.min()! <= 1, "\(counts)")
        }
        if strategy == .clusterMargin { #expect(picks.allSatisfy { $0.reason.hasPrefix("margin ") && $0.reason.contains(", cluster ") }) }
    }

    @Test func missingInputsAreErrors() {
        #expect(throws: SelectionError.self) { try Selector.select(.kCenter, pool: Self.pool, candidates: [0, 1], budget: 1) }
        #expect(throws: SelectionError.self) { try Selector.select(.bald, pool: Pool(count: 2, classes: 2, probabilities: [0.5, 0.5, 0.5, 0.5]), candidates: [0, 1], budget: 1) }
    }
}

@Suite struct LearnerTests {
    /// The built-in learner on the bundled digits' fixed split is within 1 point of scikit-learn's
    /// LogisticRegression (C = 1) on the same pixels.
    @Test func matchesScikitLearnOnDigits() throws {
        let (xtr, ytr) = try DigitsData.load("train.txt"), (xte, yte) = try DigitsData.load("test.txt")
        let model = LogisticRegression.fit(features: xtr, dimensions: 64, labels: ytr, classes: 10)
        let predicted = model.predict(xte, count: yte.count)
        let accuracy = Double(zip(predicted, yte).filter { $0 == $1 }.count) / Double(yte.count)
        let theirs = StrategyTests.expected.sklearnAccuracy
        #expect(abs(accuracy - theirs) <= 0.01, "accuracy \(accuracy) vs scikit-learn \(theirs)")
    }
}

enum DigitsData {
    static func load(_ split: String) throws -> ([Double], [Int]) {
        let root = TestFixtures.repoPath("datasets/digits")
        var labelOf: [String: Int] = [:]
        for line in try String(contentsOfFile: root + "/labels.csv", encoding: .utf8).split(separator: "\n").dropFirst() {
            let parts = line.split(separator: ",")
            labelOf[String(parts[0])] = Int(parts[1])
        }
        var x: [Double] = [], y: [Int] = []
        for path in try String(contentsOfFile: root + "/" + split, encoding: .utf8).split(separator: "\n") {
            let pixels = try ImageDecoder().decode(fileAt: root + "/" + path, format: .gray8).pixels
            x += pixels.bytes.map { Double($0) / 255 }
            y.append(labelOf[String(path)]!)
        }
        return (x, y)
    }
}
