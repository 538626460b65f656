/// The one vocabulary of failure that every Curate module's error maps to. Exit codes are decided from it alone
/// (`ExitCodes` in CurateCommands), never from message text.
public enum FailureKind: String, Sendable, Codable, CaseIterable {
    /// A file, folder, revision, queue or repository that does not exist.
    case notFound
    /// Something that exists but cannot be read (permissions, an I/O error).
    case unreadable
    /// The data failed checks: a malformed file, an invalid record, a corrupt image or repository, a failed gate.
    case invalidData
    /// The command was asked for something it cannot do as asked (bad arguments, an existing output).
    case usage
    /// Another writer holds the lock: retry.
    case locked
    /// Someone else changed the same thing first: fetch, then retry.
    case conflict
    /// Paused until people finish their part (a workflow waiting on a labeling queue).
    case waiting
    /// A server Curate needs (the labeling store's database) cannot be reached: retry when it is back.
    case unavailable
    /// Anything else: a full disk, a failed write, a bug.
    case `internal`
}

/// What every module's error is: a kind from the shared vocabulary and a one-line message that names the file or
/// thing and says what to do next. `description` is the message, so ArgumentParser prints it as is.
///
/// ```swift
/// catch let error as any CurateError where error.kind == .notFound { … }
/// ```
public protocol CurateError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    var kind: FailureKind { get }
    /// What went wrong, naming the file or thing, and the next step.
    var message: String { get }
}

extension InputFile.Failure {
    /// The kind of failure a file that cannot be read is.
    public var kind: FailureKind {
        switch self {
        case .notFound: .notFound
        case .unreadable: .unreadable
        case .folder: .usage
        case .notRegular, .tooLarge: .invalidData
        }
    }
}

/// A `--fail-on` gate that failed: the command measured figures past a condition. Exit 65; a workflow step with
/// gates pauses on it (its runner sees this type, never the message text).
public struct GateFailure: CurateError, Equatable {
    /// Each failed condition with the measured value ("alpha is 0.41, the gate fails at alpha<0.6").
    public var failed: [String]
    public init(_ failed: [String]) { self.failed = failed }
    public var kind: FailureKind { .invalidData }
    public var message: String { "gate failed: " + failed.joined(separator: "; ") }
    public var description: String { message }
}
