import CurateCore
import CurateStore
import CurateTerminal
import Foundation

/// What stored answers and suggestions hold.
enum Answers {
    /// An answer's JSON object (empty when it is not one).
    static func object(_ json: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
    }

    /// The labels an answer or a suggestion holds: a class, a set of classes, or boxes; nil when none.
    static func labels(_ json: String, schema: LabelSchema) throws -> [Label]? {
        let object = object(json)
        if let c = object["class"] as? String, let id = schema.id(named: c) { return [.classification(id)] }
        if let cs = object["classes"] as? [String] { return [.multilabel(cs.compactMap { schema.id(named: $0) })] }
        if let boxes = try suggestedBoxes(QueueItem(path: "", suggestion: json), schema: schema) {
            // A reviewed item with no boxes stays listed: "nothing to box here" is an answer.
            return boxes.map { .object(ObjectLabel(classID: $0.classID, box: BoundingBox(x: $0.x, y: $0.y, width: $0.width, height: $0.height))) }
        }
        return nil
    }

    /// Boxes a queue item suggests: `{"boxes": [{"class": NAME, "x", "y", "w", "h"}, …]}` in pixels (nil when the
    /// item suggests none).
    static func suggestedBoxes(_ item: QueueItem, schema: LabelSchema) throws -> [BoxReview.Box]? {
        guard let json = item.suggestion, let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let list = object["boxes"] as? [[String: Any]] else { return nil }
        return try list.map { b in
            guard let name = b["class"] as? String, let id = schema.id(named: name) else {
                throw InputError("\(item.path): suggested box with class \(b["class"].map { "\($0)" } ?? "none"), not a class of the schema")
            }
            let v = { (k: String) in (b[k] as? NSNumber)?.doubleValue ?? .nan }
            let box = BoxReview.Box(classID: id, x: v("x"), y: v("y"), width: v("w"), height: v("h"))
            guard [box.x, box.y, box.width, box.height].allSatisfy(\.isFinite), box.width > 0, box.height > 0 else {
                throw InputError("\(item.path): suggested box needs finite x, y and positive w, h")
            }
            return box
        }
    }

    /// Items shown as text rather than pixels.
    static let textExtensions: Set<String> = ["txt", "text", "md", "csv", "tsv", "json", "jsonl", "log"]

    static func isText(_ path: String) -> Bool { textExtensions.contains((path as NSString).pathExtension.lowercased()) }

    /// Compact JSON of a JSON-compatible value.
    static func text(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }
}
