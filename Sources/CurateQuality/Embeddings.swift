import CurateCore
import Foundation

/// Embeddings by item: a `.npy` (N × D) with an ids file (one item path per line, row order), or JSON Lines
/// `{"item": PATH, "embedding": [...]}`. Every value must be finite and every row the same length.
package struct Embeddings: Sendable {
    package var paths: [String]
    /// Row-major, `paths.count` × `dimensions`.
    package var values: [Double]
    package var dimensions: Int

    package var table: (paths: [String], features: [Double], dimensions: Int) { (paths, values, dimensions) }

    /// - Throws: ``QualityError`` naming the file and row: NaN or infinite values, ragged rows, a shape that is
    ///   not N × D, ids that do not match the rows.
    package static func load(_ path: String, ids idsPath: String?) throws(QualityError) -> Embeddings {
        if path.hasSuffix(".jsonl") {
            let data: Data
            do { data = try InputFile.read(path) } catch { throw QualityError("\(path): \(error)", kind: error.kind) }
            var paths: [String] = [], values: [Double] = [], d = 0
            for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let text = line.trimmingWhitespace()
                if text.isEmpty { continue }
                guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let item = object["item"] as? String,
                      let vector = object["embedding"] as? [Any] else { throw QualityError("\(path):\(n + 1): expected {\"item\": PATH, \"embedding\": [...]}") }
                let row = vector.map { ($0 as? NSNumber)?.doubleValue ?? .nan }
                guard row.allSatisfy(\.isFinite), !row.isEmpty else { throw QualityError("\(path):\(n + 1): the embedding holds a value that is not a finite number") }
                if d == 0 { d = row.count }
                guard row.count == d else { throw QualityError("\(path):\(n + 1): \(row.count) values, earlier rows have \(d)") }
                paths.append(item)
                values += row
            }
            return Embeddings(paths: paths, values: values, dimensions: d)
        }
        guard let idsPath else { throw QualityError("\(path): a .npy of embeddings needs an ids file (--embedding-ids)") }
        let array: NumpyArray
        do { array = try NumpyArray(contentsOf: path) } catch { throw QualityError(error.description) }
        guard array.shape.count == 2, array.shape[1] >= 1 else { throw QualityError("\(path): shape \(array.shape) is not N × D") }
        if let bad = array.values.firstIndex(where: { !$0.isFinite }) { throw QualityError("\(path): row \(bad / array.shape[1] + 1) holds \(array.values[bad])") }
        let text: String
        do { text = String(decoding: try InputFile.read(idsPath), as: UTF8.self) } catch { throw QualityError("\(idsPath): \(error)", kind: error.kind) }
        let ids = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard ids.count == array.shape[0] else { throw QualityError("\(path): \(array.shape[0]) rows but \(idsPath) lists \(ids.count) ids") }
        return Embeddings(paths: ids, values: array.values, dimensions: array.shape[1])
    }
}
