/// Upright image size read from the first bytes of a file, without libpng or libjpeg: a cheap look that
/// versioning and listings use on every file. It trusts the header; ``ImageDecoder`` is what checks the data.
public enum ImageSniffer {
    /// The format and the upright (EXIF-oriented) size, or nil when the bytes are not a PNG or JPEG header
    /// this can read.
    ///
    /// ```swift
    /// let bytes = try Data(contentsOf: url)
    /// if let size = bytes.withUnsafeBytes(ImageSniffer.sniff) { print(size.width, size.height) }
    /// ```
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> (format: ImageFormat, width: Int, height: Int)? {
        switch ImageFormat.detect(bytes) {
        case .png:
            // Signature (8), IHDR length (4) and type (4), then width and height, big-endian.
            guard bytes.count >= 24, bytes[12] == 0x49, bytes[13] == 0x48, bytes[14] == 0x44, bytes[15] == 0x52 else { return nil }
            func be32(_ o: Int) -> Int { Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]) }
            let width = be32(16), height = be32(20)
            return width > 0 && height > 0 ? (.png, width, height) : nil
        case .jpeg:
            var size: (Int, Int)?
            forEachJPEGSegment(bytes) { marker, payload in
                if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                    if payload.count >= 5 {
                        size = (Int(payload[3]) << 8 | Int(payload[4]), Int(payload[1]) << 8 | Int(payload[2]))
                    }
                    return false
                }
                return true
            }
            guard let (width, height) = size, width > 0, height > 0 else { return nil }
            let orientation = readExifOrientation(jpeg: bytes)
            return orientation.swapsAxes ? (.jpeg, height, width) : (.jpeg, width, height)
        case nil:
            return nil
        }
    }
}
