/// The positions of the `count` smallest keys, smallest first; equal keys go to the smaller `ties` value (e.g.
/// the row). A bounded max-heap: O(n log count), instead of sorting everything. Shared by the label-issue
/// pruning and the selection strategies.
package func smallestPositions(_ count: Int, keys: [Double], ties: [Int]) -> [Int] {
    guard count > 0 else { return [] }
    @inline(__always) func above(_ a: Int, _ b: Int) -> Bool { keys[a] > keys[b] || (keys[a] == keys[b] && ties[a] > ties[b]) }
    var heap: [Int] = []
    heap.reserveCapacity(min(count, keys.count))
    func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var top = i
            if l < heap.count && above(heap[l], heap[top]) { top = l }
            if r < heap.count && above(heap[r], heap[top]) { top = r }
            if top == i { return }
            heap.swapAt(i, top)
            i = top
        }
    }
    for p in keys.indices {
        if heap.count < count {
            heap.append(p)
            var i = heap.count - 1
            while i > 0 && above(heap[i], heap[(i - 1) / 2]) { heap.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
        } else if above(heap[0], p) {
            heap[0] = p
            siftDown(0)
        }
    }
    return heap.sorted { above($1, $0) }
}
