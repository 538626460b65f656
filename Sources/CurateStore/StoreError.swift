import CurateCore

/// The one error type of CurateStore: what failed — naming the queue, item, annotator or database — and the next
/// step, with a kind from the shared vocabulary.
///
/// ```swift
/// do { try store.storeAnswer("round1", path: p, annotator: "ana", answer: a, seconds: 2, lease: token) }
/// catch let error where error.kind == .conflict { print(error) }   // "… another annotator holds it …"
/// ```
package struct StoreError: CurateError, Equatable {
    package var kind: FailureKind
    package var message: String

    package init(_ kind: FailureKind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
