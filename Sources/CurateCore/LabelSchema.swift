/// A class a label can take, with a stable numeric id.
public struct LabelClass: Hashable, Sendable, Codable {
    /// Stable id (a COCO category id; a YOLO index when imported from YOLO).
    public var id: Int
    /// Human-readable name, unique within a schema.
    public var name: String
    /// COCO supercategory, when present.
    public var supercategory: String?
    /// Keypoint names for this class (COCO `keypoints`), in order.
    public var keypointNames: [String]
    /// Keypoint skeleton as 1-based index pairs (COCO `skeleton`).
    public var skeleton: [[Int]]

    /// Creates a class.
    public init(id: Int, name: String, supercategory: String? = nil, keypointNames: [String] = [], skeleton: [[Int]] = []) {
        self.id = id
        self.name = name
        self.supercategory = supercategory
        self.keypointNames = keypointNames
        self.skeleton = skeleton
    }

    private enum CodingKeys: String, CodingKey { case id, name, supercategory, keypointNames, skeleton }

    /// Only `id` and `name` are required (a hand-written schema line lists just those).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try c.decode(Int.self, forKey: .id), name: try c.decode(String.self, forKey: .name),
                  supercategory: try c.decodeIfPresent(String.self, forKey: .supercategory),
                  keypointNames: try c.decodeIfPresent([String].self, forKey: .keypointNames) ?? [],
                  skeleton: try c.decodeIfPresent([[Int]].self, forKey: .skeleton) ?? [])
    }
}

/// The kinds of labeling task an annotation can answer.
public enum TaskKind: String, Hashable, Sendable, Codable, CaseIterable {
    case classification, multilabel, boxes, keypoints, segmentation, spans
}

/// The classes of a dataset and the tasks it is labeled for.
///
/// ```swift
/// let schema = LabelSchema(classNames: ["cat", "dog"])   // ids 0 and 1
/// schema.id(named: "dog")                                // 1
/// ```
public struct LabelSchema: Hashable, Sendable, Codable {
    /// Classes in id order.
    public private(set) var classes: [LabelClass]
    /// Tasks the labels answer.
    public var tasks: [TaskKind]

    /// Creates a schema; classes are kept sorted by id.
    public init(classes: [LabelClass], tasks: [TaskKind] = []) {
        self.classes = classes.sorted { $0.id < $1.id }
        self.tasks = tasks
    }

    /// A schema whose classes get ids 0, 1, 2, … in the given order.
    public init(classNames: [String], tasks: [TaskKind] = []) {
        self.init(classes: classNames.enumerated().map { LabelClass(id: $0.offset, name: $0.element) }, tasks: tasks)
    }

    /// The id of the class named `name`, if any.
    public func id(named name: String) -> Int? { classes.first { $0.name == name }?.id }

    /// The class with id `id`, if any.
    public func labelClass(id: Int) -> LabelClass? { classes.first { $0.id == id } }

    /// The name of class `id`, or `"#id"` when unknown.
    public func name(of id: Int) -> String { labelClass(id: id)?.name ?? "#\(id)" }

    /// Class names joined for error messages, shortened past 12.
    var knownNames: String {
        let names = classes.map(\.name)
        return names.count > 12 ? names.prefix(12).joined(separator: ", ") + ", …" : names.joined(separator: ", ")
    }

    /// Adds a class with the next free id (or returns the existing id of a class with that name).
    @discardableResult
    /// Why a class name cannot be used (nil when it can): empty, a control character (newline, tab, …), or
    /// U+FFFD, the mark of bytes that were not valid UTF-8.
    public static func problem(withClassName name: String) -> String? {
        if name.trimmingCharacters(in: .whitespaces).isEmpty { return "is empty" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}" }) {
            return "contains a control character (newline, tab, …); class names are one line"
        }
        if name.unicodeScalars.contains("\u{FFFD}") { return "contains U+FFFD: the file is not valid UTF-8 there" }
        return nil
    }

    /// A name with control characters made visible, for messages.
    static func shown(_ name: String) -> String {
        name.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
    }

    public mutating func addClass(named name: String) -> Int {
        if let id = id(named: name) { return id }
        let id = (classes.map(\.id).max() ?? -1) + 1
        classes.append(LabelClass(id: id, name: name))
        return id
    }
}
