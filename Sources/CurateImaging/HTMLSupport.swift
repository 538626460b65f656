import Foundation

// Helpers the self-contained HTML pages share (the diff review page, the quality report).

/// A stable colour per class name (an HSL hue from the name's FNV-1a hash).
package func classColor(_ name: String) -> String {
    "hsl(\(classHue(name)),80%,45%)"
}

/// The class's colour as RGB (HSL with the hue of `classColor`, saturation 80%, lightness 55% for dark terminals).
package func classRGB(_ name: String) -> (UInt8, UInt8, UInt8) {
    let h = Double(classHue(name)), s = 0.8, l = 0.55
    let c = (1 - abs(2 * l - 1)) * s, x = c * (1 - abs((h / 60).truncatingRemainder(dividingBy: 2) - 1)), m = l - c / 2
    let (r, g, b): (Double, Double, Double) = switch Int(h) / 60 {
    case 0: (c, x, 0)
    case 1: (x, c, 0)
    case 2: (0, c, x)
    case 3: (0, x, c)
    case 4: (x, 0, c)
    default: (c, 0, x)
    }
    return (UInt8(((r + m) * 255).rounded()), UInt8(((g + m) * 255).rounded()), UInt8(((b + m) * 255).rounded()))
}

private func classHue(_ name: String) -> UInt32 {
    var hash: UInt32 = 2_166_136_261
    for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
    return hash % 360
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
