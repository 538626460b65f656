/// The EXIF orientation tag (0x0112): how stored pixels must be turned to look upright.
public enum ExifOrientation: Int, Sendable, Hashable, Codable, CaseIterable {
    /// Stored upright.
    case up = 1
    /// Mirrored left to right.
    case upMirrored = 2
    /// Rotated 180°.
    case down = 3
    /// Mirrored top to bottom.
    case downMirrored = 4
    /// Mirrored along the main diagonal (transpose).
    case leftMirrored = 5
    /// Must be turned 90° clockwise to look upright.
    case right = 6
    /// Mirrored along the anti-diagonal (transverse).
    case rightMirrored = 7
    /// Must be turned 90° counter-clockwise to look upright.
    case left = 8

    /// Whether the upright image has width and height exchanged.
    public var swapsAxes: Bool { rawValue >= 5 }

    /// Where the upright pixel (x, y) comes from in stored pixels of size `width`×`height`.
    @inline(__always)
    func sourcePoint(x: Int, y: Int, width: Int, height: Int) -> (Int, Int) {
        switch self {
        case .up: (x, y)
        case .upMirrored: (width - 1 - x, y)
        case .down: (width - 1 - x, height - 1 - y)
        case .downMirrored: (x, height - 1 - y)
        case .leftMirrored: (y, x)
        case .right: (y, height - 1 - x)
        case .rightMirrored: (width - 1 - y, height - 1 - x)
        case .left: (width - 1 - y, x)
        }
    }
}

extension PixelBuffer {
    /// The pixels turned upright according to `orientation`, as an image viewer shows them.
    public func applying(_ orientation: ExifOrientation) -> PixelBuffer {
        if orientation == .up { return self }
        let outWidth = orientation.swapsAxes ? height : width
        let outHeight = orientation.swapsAxes ? width : height
        var out = PixelBuffer(width: outWidth, height: outHeight, format: format)
        let c = format.channels
        let w = width, h = height
        bytes.withUnsafeBufferPointer { src in
            out.bytes.withUnsafeMutableBufferPointer { dst in
                var d = 0
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let (sx, sy) = orientation.sourcePoint(x: x, y: y, width: w, height: h)
                        let s = (sy * w + sx) * c
                        for k in 0..<c { dst[d + k] = src[s + k] }
                        d += c
                    }
                }
            }
        }
        return out
    }
}

/// Reads the orientation tag from a JPEG's APP1 Exif segment. Returns `.up` when absent or unreadable:
/// a broken EXIF block never makes an otherwise good image fail.
func readExifOrientation(jpeg bytes: UnsafeRawBufferPointer) -> ExifOrientation {
    guard let segment = findExifSegment(bytes) else { return .up }
    return parseTIFFOrientation(segment) ?? .up
}

private func findExifSegment(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
    var found: UnsafeRawBufferPointer?
    forEachJPEGSegment(b) { marker, payload in
        let header: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]  // "Exif\0\0"
        if marker == 0xE1, payload.count >= 8, (0..<6).allSatisfy({ payload[$0] == header[$0] }) {
            found = UnsafeRawBufferPointer(rebasing: payload[6...])
            return false
        }
        return true
    }
    return found
}

/// Walks the marker segments of a JPEG stream before its first scan, calling `body` with each
/// marker and its payload (without the length field) until it returns false. Bounds-checked throughout.
func forEachJPEGSegment(_ b: UnsafeRawBufferPointer, _ body: (UInt8, UnsafeRawBufferPointer) -> Bool) {
    guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return }
    var i = 2
    while i + 4 <= b.count {
        guard b[i] == 0xFF else { return }
        let marker = b[i + 1]
        if marker == 0xFF { i += 1; continue }  // fill byte
        if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { i += 2; continue }
        if marker == 0xDA || marker == 0xD9 { return }  // start of scan / end of image
        let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
        guard length >= 2, i + 2 + length <= b.count else { return }
        if !body(marker, UnsafeRawBufferPointer(rebasing: b[(i + 4)..<(i + 2 + length)])) { return }
        i += 2 + length
    }
}

private func parseTIFFOrientation(_ t: UnsafeRawBufferPointer) -> ExifOrientation? {
    guard t.count >= 8 else { return nil }
    let little: Bool
    switch (t[0], t[1]) {
    case (0x49, 0x49): little = true
    case (0x4D, 0x4D): little = false
    default: return nil
    }
    func u16(_ o: Int) -> Int? {
        guard o >= 0, o + 2 <= t.count else { return nil }
        return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])
    }
    func u32(_ o: Int) -> Int? {
        guard let a = u16(o), let b = u16(o + 2) else { return nil }
        return little ? a | b << 16 : a << 16 | b
    }
    guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
    for k in 0..<min(count, 1024) {
        let entry = ifd + 2 + k * 12
        guard let tag = u16(entry) else { return nil }
        if tag == 0x0112 {
            guard let type = u16(entry + 2), type == 3, let value = u16(entry + 8) else { return nil }
            return ExifOrientation(rawValue: value)
        }
    }
    return nil
}
