import Dispatch
import Synchronization

/// Decodes and renders items in the background before they are needed, so that a key press shows the next
/// image without waiting for it. Results are kept per (path, window size); `take` waits for a render in flight
/// or renders on the spot when nothing was prefetched.
public final class Prefetcher: Sendable {
    /// An item's image as terminal lines, or why it cannot be shown.
    public struct Rendered: Sendable {
        public var lines: [String]
        public var error: String?
        public init(lines: [String], error: String?) { self.lines = lines; self.error = error }
    }

    struct Key: Hashable { var path: String; var columns: Int; var rows: Int }
    enum Entry { case pending(DispatchGroup), done(Rendered) }

    private let render: @Sendable (String, Int, Int) -> Rendered
    private let entries = Mutex<[Key: Entry]>([:])
    private let queue = DispatchQueue(label: "curate.prefetch", qos: .userInitiated, attributes: .concurrent)
    private let capacity: Int

    /// `render(path, columns, rows)` draws one item for a window; it runs on background threads.
    public init(capacity: Int = 8, render: @escaping @Sendable (String, Int, Int) -> Rendered) {
        self.render = render
        self.capacity = capacity
    }

    /// Starts rendering these items for this window (those already done or in flight are left alone).
    public func prefetch(_ paths: [String], columns: Int, rows: Int) {
        for path in paths {
            let key = Key(path: path, columns: columns, rows: rows)
            let group = DispatchGroup()
            let started = entries.withLock { e -> Bool in
                guard e[key] == nil else { return false }
                Self.makeRoom(&e, capacity)
                e[key] = .pending(group)
                return true
            }
            guard started else { continue }
            group.enter()
            queue.async { [self] in
                let result = render(path, columns, rows)
                entries.withLock { $0[key] = .done(result) }
                group.leave()
            }
        }
    }

    /// The item drawn for this window: prefetched, awaited, or rendered now.
    public func take(_ path: String, columns: Int, rows: Int) -> Rendered {
        let key = Key(path: path, columns: columns, rows: rows)
        switch entries.withLock({ $0[key] }) {
        case .done(let r)?: return r
        case .pending(let group)?:
            group.wait()
            if case .done(let r)? = entries.withLock({ $0[key] }) { return r }
            return render(path, columns, rows)
        case nil:
            let r = render(path, columns, rows)
            entries.withLock { e in Self.makeRoom(&e, capacity); e[key] = .done(r) }
            return r
        }
    }

    /// Drops finished renders until there is room for one more.
    private static func makeRoom(_ e: inout [Key: Entry], _ capacity: Int) {
        while e.count >= capacity, let old = e.first(where: { if case .done = $0.value { true } else { false } })?.key { e[old] = nil }
    }

    /// Whether this item is already drawn for this window (for tests and the benchmark).
    public func isReady(_ path: String, columns: Int, rows: Int) -> Bool {
        if case .done? = entries.withLock({ $0[Key(path: path, columns: columns, rows: rows)] }) { return true }
        return false
    }
}
