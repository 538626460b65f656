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

    /// Runs confident learning over the items that have both a label in `given` and a row in `predictions`.
    /// - Throws: ``QualityError`` when a label is outside the predictions' classes or no item has both.
    /// - Parameter items: the dataset's item paths; a predicted id outside them is an error (the ids file and the
    ///   dataset disagree), while an item without a classification label is only skipped.
    package init(predictions: Predictions, given: [String: Int], items: Set<String>? = nil, filter: ConfidentLearning.Filter = .pruneByNoiseRate,
                rankBy: ConfidentLearning.Score = .normalizedMargin) throws(QualityError) {
        var rows: [Int] = [], labels: [Int] = []
        for (row, id) in predictions.ids.enumerated() {
            if let items, !items.contains(id), given[id] == nil {
                throw QualityError("\(predictions.source): row \(row + 1): \(id) is not an item of the dataset")
            }
            guard let k = given[id] else { continue }
            guard k >= 0 && k < predictions.classes else {
                throw QualityError("\(predictions.source): \(id) is labeled class \(k), which has no column (the predictions have \(predictions.classes) classes)")
            }
            rows.append(row)
            labels.append(k)
        }
        guard !rows.isEmpty else { throw QualityError("\(predictions.source): no predicted item has a classification label (do the ids match the dataset's item paths?)") }
        var probabilities: [Double] = []
        probabilities.reserveCapacity(rows.count * predictions.classes)
        for row in rows { probabilities += predictions.probabilities[(row * predictions.classes)..<((row + 1) * predictions.classes)] }
        let learner = ConfidentLearning(labels: labels, probabilities: probabilities, classes: predictions.classes)
        let mask = learner.issues(filter)
        let scores = learner.scores(rankBy)
        var entries: [Entry] = []
        var perClass: [Int: (examined: Int, flagged: Int)] = [:]
        for (i, flagged) in mask.enumerated() {
            perClass[labels[i], default: (0, 0)].examined += 1
            guard flagged else { continue }
            perClass[labels[i], default: (0, 0)].flagged += 1
            let s = learner.suggestion(i)
            entries.append(Entry(item: predictions.ids[rows[i]], given: labels[i], suggested: s, score: scores[i],
                                 givenProbability: learner.p(i, labels[i]), suggestedProbability: learner.p(i, s)))
        }
        entries.sort { ($0.score, $0.item) < ($1.score, $1.item) }
        self.filter = filter
        self.rankedBy = rankBy
        self.examined = rows.count
        self.unpredicted = Set(given.keys).subtracting(predictions.ids).count
        self.unlabeled = predictions.ids.count - rows.count
        self.entries = entries
        self.perClass = perClass
    }

    /// Figures for `--fail-on`: `issues` (count), `issues%` (share of examined items).
    package var metrics: [String: Double] {
        ["issues": Double(entries.count), "issues%": Double(entries.count) / Double(max(1, examined))]
    }
}
