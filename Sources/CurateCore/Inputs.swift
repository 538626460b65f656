import Foundation

/// An input error: a file a user named that is missing, unreadable or malformed.
package struct InputError: CurateError, Equatable {
    package var kind: FailureKind
    package var message: String
    package init(_ message: String, kind: FailureKind = .invalidData) { self.message = message; self.kind = kind }
    package var description: String { message }
}

extension InputFile {
    /// A text file a user named, read as `read` does; the error names the file and has the failure's kind.
    package static func text(_ path: String, limit: Int = defaultLimit) throws(InputError) -> String {
        do { return String(decoding: try read(path, limit: limit), as: UTF8.self) } catch {
            throw InputError("\(path): \(error)", kind: error.kind)
        }
    }
}

extension LabelReadOptions {
    /// The folder a label file's item paths are relative to when none is given: the file's own folder, or `.`.
    package static func defaultRoot(forLabelFile path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }
}

/// The bytes of one image item (nil with the reason when it cannot be read).
package struct ImageBytes: Sendable {
    package var path: String
    package var data: Data?
    package var problem: String?
    package init(path: String, data: Data?, problem: String? = nil) { self.path = path; self.data = data; self.problem = problem }
}

/// What a verb works on: labels, the records a lenient read set aside, and the image bytes of the items — from a
/// label file and its folder, or from a repository at a revision. Commands build it; library entry points read it.
package struct DatasetInput: Sendable {
    package var labels: LabelSet
    /// Invalid records a lenient read skipped (validate lists them).
    package var skipped: [LabelIssue]
    /// What it is, for reports: "labels.csv" or "repository at HEAD".
    package var name: String
    let readImages: @Sendable (LabelSet, _ read: (String) -> Bool) throws -> [ImageBytes]

    /// - Parameter images: lists every image item in a fixed order, with the bytes of those `read` accepts (the
    ///   others with no data and no problem: not read).
    package init(labels: LabelSet, skipped: [LabelIssue] = [], name: String, images: @escaping @Sendable (LabelSet, _ read: (String) -> Bool) throws -> [ImageBytes]) {
        self.labels = labels
        self.skipped = skipped
        self.name = name
        self.readImages = images
    }

    /// Every image item's bytes, in item order.
    package func images() throws -> [ImageBytes] { try readImages(labels) { _ in true } }

    /// Every image item in item order, with the bytes of those `read` accepts (the rest unread: no data, no problem),
    /// so a shard reads only its own images while every item keeps its place.
    package func images(reading read: (String) -> Bool) throws -> [ImageBytes] { try readImages(labels, read) }

    /// The items' files under `root` (a label file's images folder); items whose file is missing are listed
    /// with the reason.
    package static func files(under root: String) -> @Sendable (LabelSet, (String) -> Bool) throws -> [ImageBytes] {
        { set, read in
            set.items.map { item in
                guard read(item.path) else { return ImageBytes(path: item.path, data: nil) }
                let path = root + "/" + item.path
                return FileManager.default.contents(atPath: path).map { ImageBytes(path: item.path, data: $0) }
                    ?? ImageBytes(path: item.path, data: nil, problem: "\(path): cannot read")
            }
        }
    }
}

/// A batch file: JSON Lines, `{"item": PATH, …}` per line, as `curate select --out` writes it.
package enum BatchFile {
    /// Each item with its whole record.
    package static func read(_ path: String) throws -> [(item: String, object: [String: Any])] {
        let text = try InputFile.text(path)
        var result: [(item: String, object: [String: Any])] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let item = object["item"] as? String else {
                throw InputError("\(path):\(n + 1): expected {\"item\": PATH, …}")
            }
            result.append((item, object))
        }
        return result
    }
}

extension Encodable {
    /// Compact JSON with sorted keys and unescaped slashes: how commands print reports with `--json`.
    package func compactJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
