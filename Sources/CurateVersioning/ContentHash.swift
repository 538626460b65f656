import Crypto
import Foundation

/// A SHA-256 content id. Stored inline as four words (no allocation); shown as 64 lowercase hex characters.
package struct ContentHash: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    // Big-endian words, so comparing them in order compares the hex text.
    private let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    private init(words: (UInt64, UInt64, UInt64, UInt64)) {
        (w0, w1, w2, w3) = words
    }

    /// Parses hex digits; nil unless they are 64 lowercase hex characters.
    package init?(hex: String) {
        var text = hex
        guard let parsed = text.withUTF8({ ContentHash.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = parsed
    }

    /// Parses 64 lowercase hex ASCII bytes.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> ContentHash? {
        guard bytes.count == 64 else { return nil }
        @inline(__always) func word(_ start: Int) -> UInt64? {
            var w: UInt64 = 0
            for i in start..<(start + 16) {
                let c = bytes[i]
                let v: UInt8
                if c >= 48 && c <= 57 { v = c &- 48 } else if c >= 97 && c <= 102 { v = c &- 87 } else { return nil }
                w = w << 4 | UInt64(v)
            }
            return w
        }
        guard let a = word(0), let b = word(16), let c = word(32), let d = word(48) else { return nil }
        return ContentHash(words: (a, b, c, d))
    }

    /// For hex read back from our own metadata (validated when written); a malformed value becomes all zeros,
    /// which fsck then reports as a missing object.
    init(trusted hex: String) {
        self = ContentHash(hex: hex) ?? ContentHash(words: (0, 0, 0, 0))
    }

    /// The digest bytes as a hash.
    init<D: Sequence>(digest: D) where D.Element == UInt8 {
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, byte) in digest.enumerated() where i < 32 { words[i >> 3] = words[i >> 3] << 8 | UInt64(byte) }
        self.init(words: (words[0], words[1], words[2], words[3]))
    }

    /// Hashes bytes.
    package static func of(_ bytes: UnsafeRawBufferPointer) -> ContentHash {
        ContentHash(digest: SHA256.hash(data: bytes))
    }

    /// Hashes bytes.
    package static func of(_ data: Data) -> ContentHash {
        data.withUnsafeBytes { of($0) }
    }

    /// The 64 hex digits.
    package var hex: String {
        var out = [UInt8](repeating: 0, count: 64)
        for (k, word) in [w0, w1, w2, w3].enumerated() {
            for j in 0..<16 { out[k * 16 + j] = hexDigits[Int((word >> (60 - 4 * UInt64(j))) & 0xf)] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The first `n` hex digits, for display.
    package func short(_ n: Int = 10) -> String { String(hex.prefix(n)) }

    package var description: String { hex }
    package static func < (a: ContentHash, b: ContentHash) -> Bool { (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3) }

    package init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = ContentHash(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a SHA-256 hex digest"))
        }
        self = parsed
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)


/// `withUnsafeBytes` with a typed error (the stdlib's version only rethrows `any Error`).
func withBytes<T>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(VersioningError) -> T) throws(VersioningError) -> T {
    try array.withUnsafeBytes { raw in Result { () throws(VersioningError) -> T in try body(raw) } }.get()
}
