import CurateCore

/// The one error type of CurateAugment: a pipeline that cannot be read, or an input that cannot be augmented.
public struct AugmentError: CurateError, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// Its kind in the shared vocabulary.
        public let kind: FailureKind
        /// The pipeline YAML names an unknown transform or parameter, or a value out of range.
        public static let pipeline = Code(name: "pipeline", kind: .invalidData)
        /// An input image or label could not be used.
        public static let input = Code(name: "input", kind: .invalidData)
        /// A pipeline or source file that does not exist.
        public static let notFound = Code(name: "not found", kind: .notFound)
        /// Replay found different bytes or a missing record.
        public static let replay = Code(name: "replay", kind: .invalidData)
        /// The output folder holds something else (another augmentation, an interrupted one).
        public static let output = Code(name: "output", kind: .usage)
        /// An output could not be written.
        public static let write = Code(name: "write", kind: .internal)
        /// `CURATE_CPU` names a kernel path this CPU cannot run, or no path.
        public static let cpu = Code(name: "cpu", kind: .usage)
        public var description: String { name }
    }

    public var code: Code
    /// One line naming the file (and YAML line) and the problem.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
    public var kind: FailureKind { code.kind }
}
