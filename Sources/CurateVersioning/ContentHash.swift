import Crypto
import Foundation

/// A SHA-256 content id, as 64 lowercase hex characters.
public struct ContentHash: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The hex digits.
    public let hex: String

    /// Wraps hex digits; nil unless they are 64 lowercase hex characters.
    public init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        self.hex = hex
    }

    init(trusted hex: String) { self.hex = hex }

    /// Hashes bytes.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> ContentHash {
        ContentHash(trusted: hexString(SHA256.hash(data: bytes)))
    }

    /// Hashes bytes.
    public static func of(_ data: Data) -> ContentHash {
        data.withUnsafeBytes { of($0) }
    }

    /// The first `n` hex digits, for display.
    public func short(_ n: Int = 10) -> String { String(hex.prefix(n)) }

    public var description: String { hex }
    public static func < (a: ContentHash, b: ContentHash) -> Bool { a.hex < b.hex }
}

private let hexDigits = Array("0123456789abcdef".utf8)

func hexString<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
    var out = [UInt8]()
    out.reserveCapacity(64)
    for byte in digest {
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// `withUnsafeBytes` with a typed error (the stdlib's version only rethrows `any Error`).
func withBytes<T>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(VersioningError) -> T) throws(VersioningError) -> T {
    try array.withUnsafeBytes { raw in Result { () throws(VersioningError) -> T in try body(raw) } }.get()
}
