import CurateCore

/// The one error type of CurateImaging: what failed, on which file, and why.
///
/// ```swift
/// do { _ = try ImageDecoder().decode(fileAt: "a.png") }
/// catch let error as ImagingError { print(error) } // "a.png: truncated PNG: ..."
/// ```
public struct ImagingError: CurateError, Equatable {
    /// A category of failure, extensible without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// Its kind in the shared vocabulary.
        public let kind: FailureKind
        /// The bytes are neither PNG nor JPEG.
        public static let unknownFormat = Code(name: "unknown format", kind: .invalidData)
        /// The stream ends before the image does.
        public static let truncated = Code(name: "truncated", kind: .invalidData)
        /// The codec rejected the data.
        public static let corrupt = Code(name: "corrupt", kind: .invalidData)
        /// A valid image of a kind this build cannot decode.
        public static let unsupported = Code(name: "unsupported", kind: .invalidData)
        /// The header claims more pixels than the configured limit.
        public static let tooLarge = Code(name: "too large", kind: .invalidData)
        /// The file does not exist.
        public static let notFound = Code(name: "not found", kind: .notFound)
        /// The file could not be read or written.
        public static let io = Code(name: "i/o", kind: .unreadable)
        /// The caller passed inconsistent arguments (for example a buffer of the wrong size).
        public static let invalidArgument = Code(name: "invalid argument", kind: .usage)
        public var description: String { name }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The file (or other source name) the failure is about; empty when decoding anonymous bytes.
    public var source: String
    /// A one-line explanation, including the next step where there is one.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, source: String, message: String) {
        self.code = code
        self.source = source
        self.message = message
    }

    /// `"<source>: <message>"`, or the message alone when there is no source.
    public var description: String {
        source.isEmpty ? message : "\(source): \(message)"
    }

    public var kind: FailureKind { code.kind }

    func withSource(_ source: String) -> ImagingError {
        var copy = self
        if copy.source.isEmpty { copy.source = source }
        return copy
    }
}
