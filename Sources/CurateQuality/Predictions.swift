import CurateCore
import Foundation

/// A failure of the quality commands: the file (and row) and what is wrong, in one line.
package struct QualityError: CurateError {
    package var message: String
    /// Its kind in the shared vocabulary (most quality commands failures are data that failed checks).
    package var kind: FailureKind
    package init(_ message: String, kind: FailureKind = .invalidData) { self.message = message; self.kind = kind }
    package var description: String { message }
}

/// A model's predicted class probabilities, one row per item.
///
/// Read from a `.npy` (N × K, float32 or float64) with an ids file (one item path per line, row order), or from
/// JSON Lines `{"item": PATH, "probs": [p0, …, pK-1]}`. Column k is the class whose schema id is k. Every row
/// must hold finite values in [0, 1] summing to 1 within ``rowSumTolerance``.
package struct Predictions: Sendable {
    package var ids: [String]
    /// Row-major, `ids.count` × `classes`.
    package var probabilities: [Double]
    package var classes: Int
    /// The file they came from (for messages).
    package var source = "predictions"

    /// How far a row's sum may be from 1 (float32 softmax outputs are off by ~1e-7; 1e-3 allows rounding in text).
    package static let rowSumTolerance = 1e-3

    package init(ids: [String], probabilities: [Double], classes: Int) throws(QualityError) {
        guard probabilities.count == ids.count * classes else {
            throw QualityError("\(ids.count) ids and \(probabilities.count) probabilities do not make rows of \(classes) classes")
        }
        self.ids = ids
        self.probabilities = probabilities
        self.classes = classes
    }

    /// Loads `path` (`.npy` with `idsPath`, or `.jsonl`) and checks every row.
    package static func load(_ path: String, ids idsPath: String?) throws(QualityError) -> Predictions {
        let predictions: Predictions
        if path.hasSuffix(".jsonl") || path.hasSuffix(".json") {
            predictions = try loadJSONL(path)
        } else {
            let array: NumpyArray
            do { array = try NumpyArray(contentsOf: path) } catch { throw QualityError(error.description) }
            guard array.shape.count == 2, array.shape[1] >= 2 else {
                throw QualityError("\(path): shape \(array.shape) is not N × K with K ≥ 2 classes")
            }
            guard let idsPath else { throw QualityError("\(path): a .npy needs --ids FILE naming the item of each row") }
            let text: String
        do { text = String(decoding: try InputFile.read(idsPath), as: UTF8.self) } catch { throw QualityError("\(idsPath): \(error)", kind: error.kind) }
            let ids = text.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
            guard ids.count == array.shape[0] else {
                throw QualityError("\(path): \(array.shape[0]) rows but \(idsPath) lists \(ids.count) ids")
            }
            predictions = try Predictions(ids: ids, probabilities: array.values, classes: array.shape[1])
        }
        var checked = predictions
        checked.source = path
        try checked.validate(source: path)
        return checked
    }

    static func loadJSONL(_ path: String) throws(QualityError) -> Predictions {
        let data: Data
        do { data = try InputFile.read(path) } catch { throw QualityError("\(path): \(error)", kind: error.kind) }
        var ids: [String] = [], values: [Double] = [], classes = 0
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingWhitespace()
            if text.isEmpty { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw QualityError("\(path):\(n + 1): not a JSON object")
            }
            guard let item = object["item"] as? String else { throw QualityError("\(path):\(n + 1): missing \"item\"") }
            guard let probs = object["probs"] as? [Any] else { throw QualityError("\(path):\(n + 1): missing \"probs\" list") }
            let row = probs.map { ($0 as? NSNumber)?.doubleValue ?? .nan }
            if classes == 0 { classes = row.count }
            guard row.count == classes else { throw QualityError("\(path):\(n + 1): \(row.count) probabilities, earlier rows have \(classes)") }
            ids.append(item)
            values += row
        }
        guard classes >= 2 else { throw QualityError("\(path): no rows of at least 2 probabilities") }
        return try Predictions(ids: ids, probabilities: values, classes: classes)
    }

    /// Every value finite and in [0, 1], every row summing to 1 within the tolerance, no id twice.
    package func validate(source: String) throws(QualityError) {
        var seen: [String: Int] = [:]
        for (row, id) in ids.enumerated() {
            if let first = seen[id] { throw QualityError("\(source): row \(row + 1): \(id) already has row \(first + 1)") }
            seen[id] = row
            var sum = 0.0
            for k in 0..<classes {
                let v = probabilities[row * classes + k]
                guard v.isFinite else { throw QualityError("\(source): row \(row + 1) (\(id)): probability of class \(k) is \(v)") }
                guard v >= 0 && v <= 1 else { throw QualityError("\(source): row \(row + 1) (\(id)): probability of class \(k) is \(v), outside [0, 1]") }
                sum += v
            }
            guard abs(sum - 1) <= Self.rowSumTolerance else {
                throw QualityError("\(source): row \(row + 1) (\(id)): probabilities sum to \(formatted(sum)), not 1 (tolerance \(Self.rowSumTolerance))")
            }
        }
    }
}
