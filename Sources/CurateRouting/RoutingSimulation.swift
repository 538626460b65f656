import CurateCore
import CurateSelection
import Foundation

/// Routing rounds against an oracle (known labels), with the built-in learner: how many items the model labels and
/// how accurate those labels really are, against what an oracle-chosen threshold would allow.
package struct RoutingSimulation: Sendable {
    package struct Round: Sendable, Equatable {
        package var round: Int
        package var threshold: Double?
        package var validation: Int
        package var accepted: Int
        /// Accuracy of the auto-accepted labels against the true labels (nil when none).
        package var acceptedAccuracy: Double?
        /// Items an oracle threshold (the lowest whose accepted items are truly ≥ target) would accept.
        package var oracleAccepted: Int
        package var human: Int
        package var retired: Int
    }

    package var features: [Double]
    package var dimensions: Int
    package var labels: [Int]
    package var classes: Int
    package var policy: RoutingPolicy
    /// Items people label at the start: for training and as validation.
    package var initialTraining = 100
    package var initialValidation = 200
    /// Of each incoming batch, a random sample people label for validation (validation items must represent the
    /// data: items chosen for uncertainty would not).
    package var validationPerBatch = 60

    package init(features: [Double], dimensions: Int, labels: [Int], classes: Int, policy: RoutingPolicy) {
        self.features = features
        self.dimensions = dimensions
        self.labels = labels
        self.classes = classes
        self.policy = policy
    }

    /// The rest of the pool arrives in `rounds` batches; each is routed: the model labels what passes the threshold,
    /// people (the oracle) label the rest, which joins the training set.
    package func run(rounds: Int, seed: UInt64) -> [Round] {
        var rng = SplitMix64(seed: seed)
        var order = Array(labels.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        var training = Array(order.prefix(initialTraining))
        var validation = Array(order.dropFirst(initialTraining).prefix(initialValidation))
        let rest = Array(order.dropFirst(initialTraining + initialValidation))
        var retired = Set<String>()
        var model: LogisticRegression?
        var result: [Round] = []
        let d = dimensions, k = classes
        for round in 1...rounds {
            var batch = Array(rest[rest.count * (round - 1) / rounds..<rest.count * round / rounds])
            // People label a random sample of the batch for validation first.
            validation += batch.prefix(validationPerBatch)
            batch.removeFirst(min(validationPerBatch, batch.count))
            let fit = LogisticRegression.fit(features: training.flatMap { Array(features[$0 * d..<($0 + 1) * d]) }, dimensions: d,
                                             labels: training.map { labels[$0] }, classes: k, start: model?.parameters)
            model = fit
            let rows = validation + batch
            let probabilities = fit.probabilities(rows.flatMap { Array(features[$0 * d..<($0 + 1) * d]) }, count: rows.count)
            let ids = rows.map(String.init)
            let human = Dictionary(uniqueKeysWithValues: validation.map { (String($0), labels[$0]) })
            let plan = Router.plan(ids: ids, probabilities: probabilities, classes: k, humanLabels: human, retired: retired, policy: policy)
            let correct = plan.accepted.filter { labels[rows[$0.row]] == $0.classIndex }.count
            // The oracle threshold, from the batch's true correctness.
            let batchRows = Array(validation.count..<rows.count)
            let top = batchRows.map { r in (0..<k).max { probabilities[r * k + $0] < probabilities[r * k + $1] }! }
            let oracle = Calibration.choose(confidences: zip(batchRows, top).map { probabilities[$0 * k + $1] },
                                            correct: zip(batchRows, top).map { labels[rows[$0]] == $1 },
                                            target: policy.targetAccuracy, penalty: 0, minimum: 1)?.covered ?? 0
            for r in plan.retire { retired.insert(ids[r]) }
            result.append(Round(round: round, threshold: plan.thresholds.values.compactMap { $0 }.map(\.value).min(), validation: plan.validationItems,
                                accepted: plan.accepted.count, acceptedAccuracy: plan.accepted.isEmpty ? nil : Double(correct) / Double(plan.accepted.count),
                                oracleAccepted: oracle, human: plan.human.count, retired: retired.count))
            training += plan.human.map { rows[$0.row] }
        }
        return result
    }
}
