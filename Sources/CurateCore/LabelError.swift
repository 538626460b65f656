/// Where in a label file a problem is: a line number or a JSON path.
public enum RecordLocation: Hashable, Sendable, CustomStringConvertible {
    /// 1-based line in a text file (CSV, JSONL, YOLO txt, VOC XML).
    case line(Int)
    /// A JSON path such as `$.annotations[12].bbox`.
    case jsonPath(String)
    /// The whole file.
    case file

    public var description: String {
        switch self {
        case .line(let n): "line \(n)"
        case .jsonPath(let p): p
        case .file: ""
        }
    }
}

/// One invalid record found while importing labels: the file, the record, and what is wrong with it.
public struct LabelIssue: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The label file (or image) the record came from.
    public var file: String
    /// The line or JSON path of the record.
    public var location: String
    /// What is wrong, in one line.
    public var message: String

    /// Creates an issue.
    public init(file: String, location: RecordLocation, message: String) {
        self.file = file
        self.location = location.description
        self.message = message
    }

    /// `file:line: message` or `file: $.path: message`.
    public var description: String {
        if location.isEmpty { return "\(file): \(message)" }
        if location.hasPrefix("line ") { return "\(file):\(location.dropFirst(5)): \(message)" }
        return "\(file): \(location): \(message)"
    }
}

/// The one error type of CurateCore: a label file that cannot be read, parsed or validated.
///
/// ```swift
/// do { _ = try LabelFormat.csv.read(from: "labels.csv") }
/// catch let error as LabelError { print(error) } // "labels.csv:3: unknown class 'dgo' (known: cat, dog)"
/// ```
public struct LabelError: CurateError, Hashable {
    /// A category of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// Its kind in the shared vocabulary.
        public let kind: FailureKind
        /// A record failed validation (unknown class, bad box, missing image, …).
        public static let invalidRecord = Code(name: "invalid record", kind: .invalidData)
        /// The file is not valid CSV/JSON/XML/YAML, or lacks a required part.
        public static let malformed = Code(name: "malformed", kind: .invalidData)
        /// A file or folder could not be read or written.
        public static let io = Code(name: "i/o", kind: .unreadable)
        /// A label file or image that was named does not exist.
        public static let notFound = Code(name: "not found", kind: .notFound)
        /// The labels cannot be expressed in the target format (e.g. YOLO without image sizes).
        public static let unrepresentable = Code(name: "unrepresentable", kind: .invalidData)
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// The invalid record, when the failure is about one.
    public var issue: LabelIssue

    /// Creates an error about a record (or a whole file with `.file`).
    public init(_ code: Code, file: String, location: RecordLocation = .file, message: String) {
        self.code = code
        self.issue = LabelIssue(file: file, location: location, message: message)
    }

    init(_ code: Code, _ issue: LabelIssue) {
        self.code = code
        self.issue = issue
    }

    /// `file:line: message`.
    public var description: String { issue.description }
    public var message: String { issue.description }
    public var kind: FailureKind { code.kind }
}
