import CurateCore
@testable import CurateQuality
import CurateTestSupport
import Foundation
import Testing

private func fixture(_ name: String) -> String { TestFixtures.path("CurateQuality", "digits-noisy/" + name) }

struct CleanlabExpected: Decodable {
    var cleanlab: String
    var flipped: [Int]
    var confident_joint: [[Int]]
    var issues: [String: [Int]]
    var self_confidence: [Double]
    var normalized_margin: [Double]
}

/// The bundled digits with 10% of labels flipped and 5-fold out-of-fold logistic-regression probabilities
/// (scripts/make_quality_fixtures.py), against cleanlab 2.9 on the same arrays.
@Suite struct ConfidentLearningTests {
    let expected: CleanlabExpected
    let learner: ConfidentLearning

    init() throws {
        expected = try JSONDecoder().decode(CleanlabExpected.self, from: try #require(FileManager.default.contents(atPath: fixture("expected.json"))))
        let predictions = try Predictions.load(fixture("predictions.npy"), ids: fixture("ids.txt"))
        let text = try String(contentsOfFile: fixture("labels.csv"), encoding: .utf8)
        var labelOf: [String: Int] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let parts = line.split(separator: ",")
            labelOf[String(parts[0])] = Int(parts[1])
        }
        learner = ConfidentLearning(labels: predictions.ids.map { labelOf[$0]! }, probabilities: predictions.probabilities, classes: predictions.classes)
    }

    static func jaccard(_ a: Set<Int>, _ b: Set<Int>) -> Double { Double(a.intersection(b).count) / Double(max(1, a.union(b).count)) }

    @Test func confidentJointEqualsCleanlab() {
        #expect(learner.confidentJoint().joint == expected.confident_joint)
    }

    @Test(arguments: ConfidentLearning.Filter.allCases)
    func flaggedSetMatchesCleanlab(_ filter: ConfidentLearning.Filter) throws {
        let ours = Set(learner.issues(filter).enumerated().filter(\.element).map(\.offset))
        let theirs = Set(try #require(expected.issues[filter.rawValue]))
        let j = Self.jaccard(ours, theirs)
        #expect(j >= 0.95, "\(filter.rawValue): Jaccard \(j) (\(ours.count) vs \(theirs.count) flagged)")
        // Exact here: same arithmetic, and no ties in these probabilities.
        #expect(ours == theirs, "\(filter.rawValue): differs on \(ours.symmetricDifference(theirs).sorted())")
    }

    @Test func defaultFilterFindsTheFlippedLabels() {
        let flagged = Set(learner.issues().enumerated().filter(\.element).map(\.offset))
        let flipped = Set(expected.flipped)
        let precision = Double(flagged.intersection(flipped).count) / Double(flagged.count)
        let recall = Double(flagged.intersection(flipped).count) / Double(flipped.count)
        // cleanlab on the same input: 183 flagged, precision 0.907, recall 0.927.
        #expect(precision > 0.85 && recall > 0.85, "precision \(precision), recall \(recall)")
        // The suggested label of a correctly flagged item is usually its true label, which the flips hide.
        #expect(flagged.count == 183)
    }

    @Test func scoresEqualCleanlab() {
        for (score, theirs) in [(ConfidentLearning.Score.selfConfidence, expected.self_confidence), (.normalizedMargin, expected.normalized_margin)] {
            let ours = learner.scores(score)
            let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? 1
            #expect(worst < 1e-9, "\(score.rawValue): largest difference \(worst)")
        }
    }

    @Test func roundingPreservesTheSum() {
        #expect(ConfidentLearning.roundPreservingSum([0.4, 0.4, 0.2]) == [0, 1, 0] || ConfidentLearning.roundPreservingSum([0.4, 0.4, 0.2]) == [1, 0, 0])
        #expect(ConfidentLearning.roundPreservingSum([2.6, 3.6, 3.8]).reduce(0, +) == 10)
    }
}

extension ConfidentLearningTests {
    /// Ranking quality: the chance that a flipped item scores below a clean one (AUROC), as scikit-learn's
    /// roc_auc_score gives on cleanlab's identical scores (0.99516 normalised margin, 0.99225 self-confidence).
    @Test func normalizedMarginRanksFlippedItemsFirst() {
        let flipped = Set(expected.flipped)
        let scores = learner.scores(.normalizedMargin)
        let bad = flipped.map { scores[$0] }, good = scores.indices.filter { !flipped.contains($0) }.map { scores[$0] }
        var wins = 0.0
        for b in bad { for g in good { wins += b < g ? 1 : b == g ? 0.5 : 0 } }
        let auroc = wins / Double(bad.count * good.count)
        #expect(abs(auroc - 0.9951592) < 1e-6, "AUROC \(auroc)")
    }
}
