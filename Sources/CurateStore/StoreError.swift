import CurateCore

/// The one error type of CurateStore: what failed — naming the queue, item, annotator or database — and the next
/// step, with a kind from the shared vocabulary.
///
/// ```swift
/// do { try store.storeAnswer("round1", path: p, annotator: "ana", answer: a, seconds: 2, lease: token) }
/// catch let error where error.kind == .conflict { print(error) }   // "… another annotator holds it …"
/// ```
public struct StoreError: CurateError, Equatable {
    public var kind: FailureKind
    public var message: String

    public init(_ kind: FailureKind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
