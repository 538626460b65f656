import CurateCore

/// The given class of every classification item: its consensus label when there is one, else the class most of
/// its annotations give (ties to the lowest id). Items with no classification label are absent.
package func givenClasses(_ set: LabelSet) -> [String: Int] {
    var result: [String: Int] = [:]
    for (item, annotations) in set.annotationsByItem() {
        var votes: [Int: Int] = [:]
        var consensus: Int?
        for a in annotations {
            guard case .classification(let k) = a.label else { continue }
            if a.source == .consensus { consensus = k }
            votes[k, default: 0] += 1
        }
        if let consensus { result[item] = consensus; continue }
        if let best = votes.max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) }) { result[item] = best.key }
    }
    return result
}

/// What `curate issues` found: the flagged items ranked, with the evidence for each.
package struct LabelIssueReport: Sendable {
    package struct Entry: Sendable, Equatable {
        package var item: String
        package var given: Int
        package var suggested: Int
        /// The ranking score (lower is more likely wrong).
        package var score: Double
        package var givenProbability: Double
        package var suggestedProbability: Double
    }

    package var filter: ConfidentLearning.Filter
    package var rankedBy: ConfidentLearning.Score
    /// Items with both a prediction and a label (the ones examined).
    package var examined: Int
    /// Labeled items without a prediction, and predicted items without a label.
    package var unpredicted: Int
    package var unlabeled: Int
    /// Flagged items, most likely wrong first.
    package var entries: [Entry]
    /// Per class id: items examined and items flagged.
    package var perClass: [Int: (examined: Int, flagged: Int)]

    /// The items confident learning examines: those with both a label and a prediction row, in row order.
    package struct Examined: Sendable {
        /// Each examined item's prediction row (0-based, in the predictions file).
        package var rows: [Int] = []
        package var ids: [String] = []
        package var labels: [Int] = []
        /// Row-major, `rows.count` × `classes`.
        package var probabilities: [Double] = []
        package var classes: Int
        /// Labeled items without a prediction, and predicted rows without a label.
        package var unpredicted = 0
        package var unlabeled = 0
        package var source: String
    }

    /// The examined items among those `shard` owns (all items when nil).
    /// - Throws: ``QualityError`` when a label is outside the predictions' classes or a predicted id is not an item.
    /// - Parameter items: the dataset's item paths; a predicted id outside them is an error (the ids file and the
    ///   dataset disagree), while an item without a classification label is only skipped.
    package static func examined(predictions: Predictions, given: [String: Int], items: Set<String>? = nil, shard: Shard? = nil) throws(QualityError) -> Examined {
        var e = Examined(classes: predictions.classes, source: predictions.source)
        var predicted = Set<String>()
        for (row, id) in predictions.ids.enumerated() where shard?.owns(id) ?? true {
            predicted.insert(id)
            if let items, !items.contains(id), given[id] == nil {
                throw QualityError("\(predictions.source): row \(row + 1): \(id) is not an item of the dataset")
            }
            guard let k = given[id] else { e.unlabeled += 1; continue }
            guard k >= 0 && k < predictions.classes else {
                throw QualityError("\(predictions.source): \(id) is labeled class \(k), which has no column (the predictions have \(predictions.classes) classes)")
            }
            e.rows.append(row)
            e.ids.append(id)
            e.labels.append(k)
            e.probabilities += predictions.probabilities[(row * predictions.classes)..<((row + 1) * predictions.classes)]
        }
        e.unpredicted = given.keys.filter { (shard?.owns($0) ?? true) && !predicted.contains($0) }.count
        return e
    }

    /// Runs confident learning over the items that have both a label in `given` and a row in `predictions`.
    /// - Throws: ``QualityError`` when a label is outside the predictions' classes or no item has both.
    package init(predictions: Predictions, given: [String: Int], items: Set<String>? = nil, filter: ConfidentLearning.Filter = .pruneByNoiseRate,
                rankBy: ConfidentLearning.Score = .normalizedMargin) throws(QualityError) {
        try self.init(try Self.examined(predictions: predictions, given: given, items: items), filter: filter, rankBy: rankBy)
    }

    /// Runs confident learning over examined items (of a whole run, or every shard's joined in row order).
    package init(_ examined: Examined, filter: ConfidentLearning.Filter, rankBy: ConfidentLearning.Score) throws(QualityError) {
        guard !examined.rows.isEmpty else { throw QualityError("\(examined.source): no predicted item has a classification label (do the ids match the dataset's item paths?)") }
        let labels = examined.labels
        let learner = ConfidentLearning(labels: labels, probabilities: examined.probabilities, classes: examined.classes)
        let mask = learner.issues(filter)
        let scores = learner.scores(rankBy)
        var entries: [Entry] = []
        var perClass: [Int: (examined: Int, flagged: Int)] = [:]
        for (i, flagged) in mask.enumerated() {
            perClass[labels[i], default: (0, 0)].examined += 1
            guard flagged else { continue }
            perClass[labels[i], default: (0, 0)].flagged += 1
            let s = learner.suggestion(i)
            entries.append(Entry(item: examined.ids[i], given: labels[i], suggested: s, score: scores[i],
                                 givenProbability: learner.p(i, labels[i]), suggestedProbability: learner.p(i, s)))
        }
        entries.sort { ($0.score, $0.item) < ($1.score, $1.item) }
        self.filter = filter
        self.rankedBy = rankBy
        self.examined = examined.rows.count
        self.unpredicted = examined.unpredicted
        self.unlabeled = examined.unlabeled
        self.entries = entries
        self.perClass = perClass
    }

    /// Figures for `--fail-on`: `issues` (count), `issues%` (share of examined items).
    package var metrics: [String: Double] {
        ["issues": Double(entries.count), "issues%": Double(entries.count) / Double(max(1, examined))]
    }
}
