import CurateCore

/// The one error type of CurateVersioning: what failed, on which path or revision, and what to do next.
///
/// ```swift
/// do { try repository.commit(message: "round 3") }
/// catch let error as VersioningError where error.code == .locked { print(error) } // "… locked by pid 4242 since …"
/// ```
public struct VersioningError: CurateError, Equatable {
    /// A category of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// Its kind in the shared vocabulary.
        public let kind: FailureKind
        /// No `.curate` repository here or above.
        public static let notARepository = Code(name: "not a repository", kind: .notFound)
        /// A revision, tag or path that does not exist.
        public static let notFound = Code(name: "not found", kind: .notFound)
        /// Another writer holds the repository lock.
        public static let locked = Code(name: "locked", kind: .locked)
        /// The repository's objects or metadata are damaged.
        public static let corrupt = Code(name: "corrupt", kind: .invalidData)
        /// A path or file cannot be tracked (outside the root, a symlink leaving it, a bad name, unreadable).
        public static let badPath = Code(name: "bad path", kind: .invalidData)
        /// The operation would lose uncommitted work; pass --force.
        public static let wouldOverwrite = Code(name: "would overwrite", kind: .usage)
        /// Labels could not be imported or exported.
        public static let labels = Code(name: "labels", kind: .invalidData)
        /// A caller error: an existing repository, an empty commit, a tag that exists.
        public static let invalid = Code(name: "invalid", kind: .usage)
        /// The file system or database failed.
        public static let io = Code(name: "i/o", kind: .internal)
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// One line: what failed, naming the path or revision, and the next step.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
    public var kind: FailureKind { code.kind }
}
