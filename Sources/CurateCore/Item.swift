/// A file in a dataset: a path relative to the dataset root, and what it holds.
public struct Item: Hashable, Sendable, Codable {
    /// Path relative to the dataset root, `/`-separated, never escaping the root (see ``DatasetPath``).
    public var path: String
    /// Media type such as `image/png`, `image/jpeg` or `text/plain`, when known.
    public var mediaType: String?
    /// Width in pixels (upright, after EXIF orientation) when known.
    public var width: Int?
    /// Height in pixels (upright) when known.
    public var height: Int?
    /// The id the item had in the file it was imported from (a COCO image id), kept for lossless round-trips.
    public var sourceID: Int?

    /// Creates an item.
    public init(path: String, mediaType: String? = nil, width: Int? = nil, height: Int? = nil, sourceID: Int? = nil) {
        self.path = path
        self.mediaType = mediaType ?? Item.mediaType(forPath: path)
        self.width = width
        self.height = height
        self.sourceID = sourceID
    }

    /// The media type implied by a file extension, or nil.
    public static func mediaType(forPath path: String) -> String? {
        // The extension's bytes, lower-cased, without splitting the path.
        var ext: [UInt8] = []
        var dotted = false
        for byte in path.utf8.reversed() {
            if byte == UInt8(ascii: ".") { dotted = true; break }
            if byte == UInt8(ascii: "/") || ext.count > 4 { return nil }
            ext.append(byte | 0x20)
        }
        guard dotted else { return nil }
        switch String(decoding: ext.reversed(), as: UTF8.self) {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "txt": return "text/plain"
        default: return nil
        }
    }
}

/// Paths inside a dataset: normalised, relative, and never escaping the root.
public enum DatasetPath {
    /// True when `path` is already normal: relative, no empty, `.` or `..` segments, no backslash (one pass).
    static func isNormal(_ path: String) -> Bool {
        var previous: UInt8 = UInt8(ascii: "/")  // as if preceded by a separator
        var dots = 0
        var count = 0
        for byte in path.utf8 {
            count += 1
            switch byte {
            case UInt8(ascii: "\\"): return false
            case UInt8(ascii: "/"):
                if previous == UInt8(ascii: "/") || (dots > 0 && dots <= 2) { return false }
                dots = 0
            case UInt8(ascii: "."):
                if previous == UInt8(ascii: "/") || dots > 0 { dots += 1 }
            default:
                dots = 0
            }
            previous = byte
        }
        if count == 0 || previous == UInt8(ascii: "/") || (dots > 0 && dots <= 2) { return false }
        if count >= 2, path.utf8.dropFirst().first == UInt8(ascii: ":") { return false }
        return true
    }

    /// Normalises `path` relative to the dataset root: removes `.` segments and empty segments,
    /// resolves `..` inside the path, and converts `\` to `/`.
    /// - Returns: the normalised path, or nil if the path is absolute, empty or climbs out of the root.
    ///
    /// ```swift
    /// DatasetPath.normalize("images/./a.png")   // "images/a.png"
    /// DatasetPath.normalize("../secret.png")    // nil
    /// ```
    public static func normalize(_ path: String) -> String? {
        if isNormal(path) { return path }
        let unified = path.replacingOccurrences(of: "\\", with: "/")
        if unified.hasPrefix("/") || unified.isEmpty { return nil }
        if unified.count >= 2, unified.dropFirst().first == ":" { return nil }  // C:/...
        var parts: [Substring] = []
        for segment in unified.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if parts.isEmpty { return nil }
                parts.removeLast()
                continue
            }
            parts.append(segment)
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }
}
