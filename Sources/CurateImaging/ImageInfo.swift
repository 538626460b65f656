/// An encoded image format Curate reads and writes.
public enum ImageFormat: String, Sendable, Hashable, Codable, CaseIterable {
    case png, jpeg

    /// Detects the format from the first bytes (PNG signature, JPEG SOI marker).
    public static func detect<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> ImageFormat? {
        let head = Array(bytes.prefix(8))
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        return nil
    }

    /// The media type, e.g. `image/png`.
    public var mediaType: String { self == .png ? "image/png" : "image/jpeg" }
}

/// What an image's header says, read without decoding its pixels.
public struct ImageInfo: Sendable, Hashable, Codable {
    /// PNG or JPEG.
    public var format: ImageFormat
    /// Width as stored in the file (before EXIF orientation).
    public var width: Int
    /// Height as stored in the file (before EXIF orientation).
    public var height: Int
    /// A colour description: PNG colour type (`grey`, `rgb`, `palette`, `grey+alpha`, `rgba`)
    /// or JPEG colour space (`ycbcr`, `grey`, `cmyk`, `ycck`, `rgb`).
    public var colorType: String
    /// Bits per sample (PNG: 1, 2, 4, 8 or 16; JPEG: 8).
    public var bitDepth: Int
    /// Adam7 (PNG) or progressive (JPEG).
    public var interlaced: Bool
    /// Whether a PNG carries a tRNS chunk.
    public var hasTransparency: Bool
    /// JPEG chroma subsampling (`4:4:4`, `4:2:0`, …) when known.
    public var subsampling: String?
    /// The EXIF orientation tag, 1–8 (1 when absent).
    public var orientation: ExifOrientation

    /// Width and height as a viewer shows the image, after EXIF orientation.
    public var displaySize: (width: Int, height: Int) {
        orientation.swapsAxes ? (height, width) : (width, height)
    }

    /// Whether decoding yields an alpha channel.
    public var hasAlpha: Bool {
        format == .png && (colorType.hasSuffix("alpha") || colorType == "rgba" || hasTransparency)
    }
}
