import Dispatch
import Synchronization

/// Decodes and renders items in the background before they are needed, so that a key press shows the next
/// image without waiting for it. Results are kept per (path, window size); `take` waits for a render in flight
/// or renders on the spot when nothing was prefetched.
package final class Prefetcher: Sendable {
    /// An item's image as terminal lines, or why it cannot be shown.
    package struct Rendered: Sendable {
        package var lines: [String]
        package var error: String?
        package init(lines: [String], error: String?) { self.lines = lines; self.error = error }
    }

    struct Key: Hashable { var path: String; var columns: Int; var rows: Int }
    enum Entry { case pending(DispatchGroup), done(Rendered, order: Int) }
    struct State { var entries: [Key: Entry] = [:]; var next = 0 }

    private let render: @Sendable (String, Int, Int) -> Rendered
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "curate.prefetch", qos: .userInitiated, attributes: .concurrent)
    private let capacity: Int

    /// `render(path, columns, rows)` draws one item for a window; it runs on background threads.
    package init(capacity: Int = 8, render: @escaping @Sendable (String, Int, Int) -> Rendered) {
        self.render = render
        self.capacity = capacity
    }

    /// Starts rendering these items for this window (those already done or in flight are left alone).
    package func prefetch(_ paths: [String], columns: Int, rows: Int) {
        for path in paths {
            let key = Key(path: path, columns: columns, rows: rows)
            let group = DispatchGroup()
            let started = state.withLock { s -> Bool in
                guard s.entries[key] == nil else { return false }
                Self.makeRoom(&s, capacity)
                s.entries[key] = .pending(group)
                return true
            }
            guard started else { continue }
            group.enter()
            queue.async { [self] in
                let result = render(path, columns, rows)
                state.withLock { Self.finish(&$0, key, result) }
                group.leave()
            }
        }
    }

    /// The item drawn for this window: prefetched, awaited, or rendered now.
    package func take(_ path: String, columns: Int, rows: Int) -> Rendered {
        let key = Key(path: path, columns: columns, rows: rows)
        switch state.withLock({ $0.entries[key] }) {
        case .done(let r, _)?: return r
        case .pending(let group)?:
            group.wait()
            if case .done(let r, _)? = state.withLock({ $0.entries[key] }) { return r }
            return render(path, columns, rows)
        case nil:
            let r = render(path, columns, rows)
            state.withLock { s in Self.makeRoom(&s, capacity); Self.finish(&s, key, r) }
            return r
        }
    }

    private static func finish(_ s: inout State, _ key: Key, _ r: Rendered) {
        s.entries[key] = .done(r, order: s.next)
        s.next += 1
    }

    /// Drops the oldest finished renders until there is room for one more.
    private static func makeRoom(_ s: inout State, _ capacity: Int) {
        while s.entries.count >= capacity {
            let oldest = s.entries.compactMap { key, entry -> (Key, Int)? in if case .done(_, let order) = entry { (key, order) } else { nil } }.min { $0.1 < $1.1 }
            guard let oldest else { return }
            s.entries[oldest.0] = nil
        }
    }

    /// Whether this item is already drawn for this window (for tests and the benchmark).
    package func isReady(_ path: String, columns: Int, rows: Int) -> Bool {
        if case .done? = state.withLock({ $0.entries[Key(path: path, columns: columns, rows: rows)] }) { return true }
        return false
    }
}
