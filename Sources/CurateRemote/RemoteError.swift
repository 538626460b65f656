import CurateCore
import CurateVersioning

/// The one error type of CurateRemote: what failed, naming the remote, key or object, and what to do next.
package struct RemoteError: CurateError, Equatable {
    package enum Code: String, Sendable {
        /// No such remote, bucket or ref.
        case notFound
        /// The server refused the credentials (a wrong key or secret, an expired token, no permission).
        case denied
        /// The server cannot be reached or keeps failing (after retries).
        case unavailable
        /// The remote moved on since it was read (someone else pushed first): fetch, then push again.
        case conflict
        /// A remote object or index failed its checks (hash, format).
        case corrupt
        /// A caller error: a bad URL, a remote name that exists, a non-fast-forward pull.
        case invalid
        /// A local file could not be read or written.
        case io
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }

    package var kind: FailureKind {
        switch code {
        case .notFound: .notFound
        case .denied, .unavailable: .unavailable
        case .conflict: .conflict
        case .corrupt: .invalidData
        case .invalid: .usage
        case .io: .internal
        }
    }

    /// A versioning failure met while syncing, kept as one error shape.
    static func wrap(_ error: VersioningError) -> RemoteError {
        let code: Code = switch error.kind {
        case .notFound: .notFound
        case .invalidData: .corrupt
        case .usage: .invalid
        case .conflict, .locked: .conflict
        default: .io
        }
        return RemoteError(code, error.message)
    }
}
