import CurateCore

/// The one error type of CurateVersioning: what failed, on which path or revision, and what to do next.
///
/// ```swift
/// do { try repository.commit(message: "round 3") }
/// catch let error as VersioningError where error.code == .locked { print(error) } // "… locked by pid 4242 since …"
/// ```
package struct VersioningError: CurateError, Equatable {
    /// A category of failure.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// Its kind in the shared vocabulary.
        package let kind: FailureKind
        /// No `.curate` repository here or above.
        package static let notARepository = Code(name: "not a repository", kind: .notFound)
        /// A revision, tag or path that does not exist.
        package static let notFound = Code(name: "not found", kind: .notFound)
        /// Another writer holds the repository lock.
        package static let locked = Code(name: "locked", kind: .locked)
        /// The repository's objects or metadata are damaged.
        package static let corrupt = Code(name: "corrupt", kind: .invalidData)
        /// A path or file cannot be tracked (outside the root, a symlink leaving it, a bad name, unreadable).
        package static let badPath = Code(name: "bad path", kind: .invalidData)
        /// The operation would lose uncommitted work; pass --force.
        package static let wouldOverwrite = Code(name: "would overwrite", kind: .usage)
        /// Labels could not be imported or exported.
        package static let labels = Code(name: "labels", kind: .invalidData)
        /// A caller error: an existing repository, an empty commit, a tag that exists.
        package static let invalid = Code(name: "invalid", kind: .usage)
        /// The file system or database failed.
        package static let io = Code(name: "i/o", kind: .internal)
        package var description: String { name }
    }

    /// The kind of failure.
    package var code: Code
    /// One line: what failed, naming the path or revision, and the next step.
    package var message: String

    /// Creates an error.
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }
    package var kind: FailureKind { code.kind }
}
