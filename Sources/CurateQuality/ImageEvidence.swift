import CurateCore
import CurateImaging
import Crypto
import Foundation

/// What `validate --decode/--duplicates` learns from each image, in listing order: whether it decodes, the
/// SHA-256 of its bytes and its perceptual hash. A sharded run collects it per shard (the costly part: reading
/// and decoding every image) and `validate --merge` finds the duplicates across all of it.
package struct ImageEvidence: Codable, Sendable {
    package struct Entry: Codable, Sendable {
        /// The image's place in the listing of all images.
        package var position: Int
        package var path: String
        /// Why it cannot be read or decoded (nil: it decodes).
        package var problem: String?
        /// SHA-256 of the bytes (with --duplicates).
        package var digest: String?
        /// The perceptual hash (with --duplicates, when it decodes).
        package var hash: UInt64?
    }
    package var entries: [Entry]

    package init(entries: [Entry]) { self.entries = entries }

    /// Reads what `options` asks of `images`; those `keep` rejects (another shard's) are left out.
    package init(_ images: [ImageBytes], options: ValidationOptions, keep: (String) -> Bool = { _ in true }) {
        let wanted = images.enumerated().filter { keep($0.element.path) }
        var entries = [Entry?](repeating: nil, count: wanted.count)
        entries.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out  // each iteration writes its own index
            DispatchQueue.concurrentPerform(iterations: wanted.count) { w in
                let (position, image) = wanted[w]
                var entry = Entry(position: position, path: image.path)
                if let data = image.data {
                    if options.duplicates { entry.digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
                    do {
                        let pixels = try ImageDecoder().decode([UInt8](data), source: image.path).pixels
                        if options.duplicates { entry.hash = Duplicates.perceptualHash(pixels) }
                    } catch {
                        entry.problem = "\(error)"
                    }
                } else {
                    entry.problem = image.problem ?? "cannot read"
                }
                out[w] = entry
            }
        }
        self.entries = entries.map { $0! }
    }

    /// Every shard's evidence in listing order.
    package static func joined(_ parts: [ImageEvidence]) -> ImageEvidence {
        ImageEvidence(entries: parts.flatMap(\.entries).sorted { $0.position < $1.position })
    }
}
