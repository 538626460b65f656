import CurateCore
import Foundation

/// Answers of many annotators to classification tasks: who said what about which task.
///
/// ```swift
/// var crowd = Crowd(tasks: 3, classes: 2)
/// crowd.add(task: 0, worker: 0, label: 1)
/// let result = crowd.dawidSkene()       // per task: posterior, label; per worker: confusion matrix
/// ```
package struct Crowd: Sendable {
    package struct Response: Sendable, Equatable {
        package var task: Int
        package var worker: Int
        package var label: Int
    }

    package var tasks: Int
    package var classes: Int
    package var workers: Int = 0
    package var responses: [Response] = []
    /// Known true labels (gold/honeypot tasks), held fixed by the estimators.
    package var gold: [Int: Int] = [:]

    package init(tasks: Int, classes: Int) {
        self.tasks = tasks
        self.classes = classes
    }

    package mutating func add(task: Int, worker: Int, label: Int) {
        precondition(task >= 0 && task < tasks && label >= 0 && label < classes && worker >= 0)
        responses.append(Response(task: task, worker: worker, label: label))
        workers = max(workers, worker + 1)
    }

    /// Per task, the indices of its responses.
    var byTask: [[Int]] {
        var result = [[Int]](repeating: [], count: tasks)
        for (i, r) in responses.enumerated() { result[r.task].append(i) }
        return result
    }

    /// Consensus labels with a posterior per task (row-major tasks × classes).
    package struct Result: Sendable {
        package var posteriors: [Double]
        package var classes: Int
        /// The most probable class per task (ties to the lowest), or −1 for a task nobody answered.
        package var labels: [Int]
        /// The posterior of the chosen label.
        package var confidence: [Double]
        /// Dawid-Skene: per worker, P(answer | true class) as confusion[w][true * classes + answer]; empty otherwise.
        package var confusion: [[Double]] = []
        /// MACE: per worker, the probability of answering from knowledge rather than at random; empty otherwise.
        package var competence: [Double] = []
        package var iterations = 0

        init(posteriors: [Double], classes: Int, answered: [Bool]) {
            self.posteriors = posteriors
            self.classes = classes
            var labels: [Int] = [], confidence: [Double] = []
            for t in answered.indices {
                let row = posteriors[(t * classes)..<((t + 1) * classes)]
                var best = 0
                for k in 1..<classes where row[row.startIndex + k] > row[row.startIndex + best] { best = k }
                labels.append(answered[t] ? best : -1)
                confidence.append(answered[t] ? row[row.startIndex + best] : 0)
            }
            self.labels = labels
            self.confidence = confidence
        }
    }

    var answered: [Bool] {
        var a = [Bool](repeating: false, count: tasks)
        for r in responses { a[r.task] = true }
        return a
    }

    /// Vote shares per task; ties go to the class whose voters have the higher total `weights` (e.g. annotator
    /// accuracy), then to the lowest class. Gold tasks keep their gold label.
    package func majorityVote(weights: [Double]? = nil) -> Result {
        var shares = [Double](repeating: 0, count: tasks * classes)
        var weighted = shares
        var counts = [Double](repeating: 0, count: tasks)
        for r in responses {
            shares[r.task * classes + r.label] += 1
            weighted[r.task * classes + r.label] += weights?[r.worker] ?? 0
            counts[r.task] += 1
        }
        for t in 0..<tasks where counts[t] > 0 { for k in 0..<classes { shares[t * classes + k] /= counts[t] } }
        applyGold(&shares)
        var result = Result(posteriors: shares, classes: classes, answered: answered)
        if weights != nil {
            for t in 0..<tasks where result.labels[t] >= 0 {
                let top = result.confidence[t]
                let tied = (0..<classes).filter { shares[t * classes + $0] == top }
                if tied.count > 1, let best = tied.max(by: { (weighted[t * classes + $0], -$0) < (weighted[t * classes + $1], -$1) }) {
                    result.labels[t] = best
                }
            }
        }
        return result
    }

    func applyGold(_ posteriors: inout [Double]) {
        for (t, k) in gold where t < tasks { for c in 0..<classes { posteriors[t * classes + c] = c == k ? 1 : 0 } }
    }

    /// Dawid & Skene (1979): per-worker confusion matrices and class priors by expectation-maximisation, started
    /// from the vote shares, as crowd-kit's `DawidSkene` (probabilities floored at 1e-10, stopping when the
    /// evidence lower bound per response improves by less than `tolerance`).
    package func dawidSkene(maxIterations: Int = 100, tolerance: Double = 1e-5) -> Result {
        let k = classes, eps = 1e-10
        var posteriors = majorityVote().posteriors
        // Which answers each worker gave (confusion rows exist only for those, as in crowd-kit).
        var gave = [[Bool]](repeating: [Bool](repeating: false, count: k), count: workers)
        for r in responses { gave[r.worker][r.label] = true }
        func priors(_ p: [Double]) -> [Double] {
            var sums = [Double](repeating: 0, count: k)
            for t in 0..<tasks { for c in 0..<k { sums[c] += p[t * k + c] } }
            return sums.map { max($0 / Double(max(tasks, 1)), eps) }
        }
        // confusion[w][true * k + answer] = P(answer | true, w); counted flat, then split per worker.
        let workerOf = responses.map(\.worker), labelOf = responses.map(\.label), taskOf = responses.map(\.task)
        func mStep(_ p: [Double]) -> [[Double]] {
            var counts = [Double](repeating: 0, count: workers * k * k)
            counts.withUnsafeMutableBufferPointer { out in
                p.withUnsafeBufferPointer { post in
                    for r in 0..<workerOf.count {
                        let base = workerOf[r] * k * k + labelOf[r], t = taskOf[r] * k
                        for c in 0..<k { out[base + c * k] += post[t + c] }
                    }
                }
            }
            return (0..<workers).map { w in
                var m = Array(counts[(w * k * k)..<((w + 1) * k * k)])
                for c in 0..<k {
                    var total = 0.0
                    for a in 0..<k where gave[w][a] { m[c * k + a] = max(m[c * k + a], eps); total += m[c * k + a] }
                    for a in 0..<k where gave[w][a] { m[c * k + a] /= total }
                }
                return m
            }
        }
        var prior = priors(posteriors)
        var confusion = mStep(posteriors)
        var loss = -Double.infinity
        var iterations = 0
        // Flat response arrays, tasks' responses contiguous.
        let order = byTask.flatMap { $0 }
        let taskStart = byTask.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        let rowOf = order.map { responses[$0].worker * k * k + responses[$0].label }  // + c * k picks P(label | c)
        for _ in 0..<maxIterations {
            iterations += 1
            // E-step, in base 2 as crowd-kit: log tables once per iteration, then lookups.
            let logConfusion = confusion.flatMap { $0.map { log2($0) } }
            let logPrior = prior.map { log2($0) }
            var row = [Double](repeating: 0, count: k)
            row.withUnsafeMutableBufferPointer { row in
                posteriors.withUnsafeMutableBufferPointer { post in
                    logConfusion.withUnsafeBufferPointer { lc in
                        for t in 0..<tasks {
                            for c in 0..<k { row[c] = logPrior[c] }
                            for r in taskStart[t]..<taskStart[t + 1] {
                                let base = rowOf[r]
                                for c in 0..<k { row[c] += lc[base + c * k] }
                            }
                            var top = row[0]
                            for c in 1..<k { top = max(top, row[c]) }
                            var sum = 0.0
                            // Single-precision exp2: the posteriors need no more (and it is most of the time).
                            for c in 0..<k { row[c] = Double(exp2f(Float(row[c] - top))); sum += row[c] }
                            for c in 0..<k { post[t * k + c] = row[c] / sum }
                        }
                    }
                }
            }
            applyGold(&posteriors)
            prior = priors(posteriors)
            confusion = mStep(posteriors)
            // Evidence lower bound per response: expected log joint (the prior counted once per response, as
            // crowd-kit does) plus the posteriors' entropy.
            let lnConfusion = confusion.flatMap { $0.map { log($0) } }
            let lnPrior = prior.map { log($0) }
            var expectation = 0.0, entropy = 0.0
            posteriors.withUnsafeBufferPointer { post in
                lnConfusion.withUnsafeBufferPointer { lc in
                    for t in 0..<tasks {
                        for r in taskStart[t]..<taskStart[t + 1] {
                            let base = rowOf[r]
                            for c in 0..<k { expectation += post[t * k + c] * (lc[base + c * k] + lnPrior[c]) }
                        }
                    }
                }
                // Entropy of the posteriors floored at 1e-10, as crowd-kit clips them.
                for p in post { let q = max(p, eps); entropy -= Double(logf(Float(q))) * q }
            }
            let newLoss = (expectation + entropy) / Double(max(responses.count, 1))
            if newLoss - loss < tolerance { break }
            loss = newLoss
        }
        var result = Result(posteriors: posteriors, classes: k, answered: answered)
        result.confusion = confusion
        result.iterations = iterations
        return result
    }

    /// MACE (Hovy et al., 2013): each worker answers from knowledge with probability θ (then truthfully) or else
    /// draws from their own answer distribution ξ — the model that separates spammers from honest workers.
    /// Maximum likelihood by EM from θ = 0.8 and uniform ξ, uniform class prior, until the log-likelihood per
    /// response improves by less than `tolerance`.
    package func mace(maxIterations: Int = 100, tolerance: Double = 1e-7) -> Result {
        let k = classes
        var theta = [Double](repeating: 0.8, count: workers)
        var xi = [[Double]](repeating: [Double](repeating: 1 / Double(k), count: k), count: workers)
        var posteriors = [Double](repeating: 1 / Double(k), count: tasks * k)
        let tasksResponses = byTask
        var previous = -Double.infinity
        var iterations = 0
        for _ in 0..<maxIterations {
            iterations += 1
            var logLikelihood = 0.0
            for t in 0..<tasks {
                var row = [Double](repeating: 0, count: k)
                for i in tasksResponses[t] {
                    let r = responses[i]
                    let spam = (1 - theta[r.worker]) * xi[r.worker][r.label]
                    for c in 0..<k { row[c] += log(max((c == r.label ? theta[r.worker] : 0) + spam, 1e-300)) }
                }
                if let g = gold[t] { for c in 0..<k { row[c] = c == g ? 0 : -.infinity } }
                let top = row.max()!
                var sum = 0.0
                for c in 0..<k { row[c] = exp(row[c] - top); sum += row[c] }
                if !tasksResponses[t].isEmpty { logLikelihood += top + log(sum / Double(k)) }
                for c in 0..<k { posteriors[t * k + c] = row[c] / sum }
            }
            // M-step from the expected "knew it" indicators.
            var knew = [Double](repeating: 0, count: workers), total = knew
            var spamCounts = [[Double]](repeating: [Double](repeating: 1e-3, count: k), count: workers)
            for r in responses {
                let pTrue = posteriors[r.task * k + r.label]
                let spam = (1 - theta[r.worker]) * xi[r.worker][r.label]
                let informed = pTrue * theta[r.worker] / max(theta[r.worker] + spam, 1e-300)
                knew[r.worker] += informed
                total[r.worker] += 1
                spamCounts[r.worker][r.label] += 1 - informed
            }
            for w in 0..<workers where total[w] > 0 {
                theta[w] = min(max(knew[w] / total[w], 1e-6), 1 - 1e-6)
                let s = spamCounts[w].reduce(0, +)
                xi[w] = spamCounts[w].map { $0 / s }
            }
            let perResponse = logLikelihood / Double(max(responses.count, 1))
            if perResponse - previous < tolerance { break }
            previous = perResponse
        }
        var result = Result(posteriors: posteriors, classes: k, answered: answered)
        result.competence = theta
        result.iterations = iterations
        return result
    }
}

/// A crowd read from a label set: the classification answers of annotators (source `annotator:ID`), with the
/// item path of each task, the annotator id of each worker and the seconds each answer took.
package struct LabeledCrowd: Sendable {
    package var crowd: Crowd
    package var items: [String]
    package var annotators: [String]
    /// Parallel to `crowd.responses`.
    package var seconds: [Double?]

    /// - Parameter gold: known labels by item path (held fixed, and used for accuracy).
    package init(_ set: LabelSet, gold: [String: Int] = [:]) {
        var answers: [(item: String, annotator: String, label: Int, seconds: Double?)] = []
        for a in set.annotations {
            guard case .classification(let k) = a.label, case .annotator(let id) = a.source else { continue }
            answers.append((a.item, id, k, a.secondsSpent))
        }
        let items = Array(Set(answers.map(\.item))).sorted(), annotators = Array(Set(answers.map(\.annotator))).sorted()
        let itemIndex = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($1, $0) })
        let workerIndex = Dictionary(uniqueKeysWithValues: annotators.enumerated().map { ($1, $0) })
        let classes = max(set.schema.classes.map(\.id).max().map { $0 + 1 } ?? 0, (answers.map(\.label).max() ?? 0) + 1, 2)
        var crowd = Crowd(tasks: items.count, classes: classes)
        var seconds: [Double?] = []
        for a in answers {
            crowd.add(task: itemIndex[a.item]!, worker: workerIndex[a.annotator]!, label: a.label)
            seconds.append(a.seconds)
        }
        for (path, k) in gold { if let t = itemIndex[path], k >= 0, k < classes { crowd.gold[t] = k } }
        self.crowd = crowd
        self.items = items
        self.annotators = annotators
        self.seconds = seconds
    }

    /// Answers as raters × items (a rater's answer per item, nil when they did not answer it; their last answer
    /// when they answered twice).
    package var ratings: Ratings {
        var values = [[Int?]](repeating: [Int?](repeating: nil, count: items.count), count: annotators.count)
        for r in crowd.responses { values[r.worker][r.task] = r.label }
        return Ratings(categories: values)
    }
}

extension LabeledCrowd {
    /// For routing: the annotators whose verdict is likely spam (Dawid-Skene consensus), and every other annotator's
    /// accuracy per class name (the diagonal of their Dawid-Skene confusion matrix).
    package func spamAndSkills(schema: LabelSchema) -> (spam: [String], skills: [String: [String: Double]]) {
        let report = AnnotatorReport(crowd: crowd, consensus: crowd.dawidSkene(), seconds: seconds)
        let k = report.classes
        var spam: [String] = [], skills: [String: [String: Double]] = [:]
        for a in report.annotators {
            let who = annotators[a.worker]
            if a.verdict == .likelySpam { spam.append(who); continue }
            for c in schema.classes where c.id < k { skills[who, default: [:]][c.name] = a.confusion[c.id * k + c.id] }
        }
        return (spam, skills)
    }
}
