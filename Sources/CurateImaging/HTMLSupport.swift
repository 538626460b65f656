import Foundation

// Helpers the self-contained HTML pages share (the diff review page, the quality report).

/// A stable colour per class name (an HSL hue from the name's FNV-1a hash).
package func classColor(_ name: String) -> String {
    var hash: UInt32 = 2_166_136_261
    for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
    return "hsl(\(hash % 360),80%,45%)"
}

/// HTML escaping.
package func esc(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

extension PixelBuffer {
    /// The image shrunk to fit `size` pixels on its longer side, as an inline JPEG data URI, with its size.
    package func thumbnailDataURI(size: Int) -> (uri: String, width: Int, height: Int)? {
        let scale = min(1, Double(size) / Double(max(width, height, 1)))
        let tw = max(1, Int((Double(width) * scale).rounded())), th = max(1, Int((Double(height) * scale).rounded()))
        guard let jpeg = try? ImageEncoder(jpegQuality: 80).encode(resized(width: tw, height: th), as: .jpeg) else { return nil }
        return ("data:image/jpeg;base64," + Data(jpeg).base64EncodedString(), tw, th)
    }
}
