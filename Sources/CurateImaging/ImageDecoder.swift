import CTurboJPEG
import CurateCore
import Foundation

/// Decodes PNG and JPEG images into ``PixelBuffer``s, refusing oversized or broken input with an ``ImagingError``.
///
/// ```swift
/// let decoder = ImageDecoder(maxPixels: 1 << 24)
/// let image = try decoder.decode(fileAt: "datasets/photos/images/chelsea.jpg")
/// print(image.pixels.width, image.info.orientation)
/// ```
public struct ImageDecoder: Sendable {
    /// The default pixel limit, 2^28 (about 268 megapixels).
    public static let defaultMaxPixels = 1 << 28

    /// Images whose header claims more than this many pixels are refused before any pixel allocation.
    public var maxPixels: Int
    /// Turn JPEGs upright according to their EXIF orientation (on by default).
    public var appliesOrientation: Bool
    /// JPEG decode at 1/`scaleDenominator` size through the DCT (1, 2, 4 or 8). PNG always decodes at full size.
    public var scaleDenominator: Int
    /// Fail on libjpeg warnings such as a missing end-of-image marker (on by default).
    public var strict: Bool

    /// Creates a decoder.
    /// - Parameters:
    ///   - maxPixels: the largest width × height accepted.
    ///   - appliesOrientation: whether JPEG EXIF orientation is applied.
    ///   - scaleDenominator: 1, 2, 4 or 8; other values are rounded down to the nearest of these.
    ///   - strict: whether libjpeg warnings (truncated data) are errors.
    public init(maxPixels: Int = ImageDecoder.defaultMaxPixels, appliesOrientation: Bool = true,
                scaleDenominator: Int = 1, strict: Bool = true) {
        self.maxPixels = maxPixels
        self.appliesOrientation = appliesOrientation
        self.scaleDenominator = [8, 4, 2, 1].first { $0 <= max(1, scaleDenominator) } ?? 1
        self.strict = strict
    }

    /// A decoded image and what its header said.
    public struct Image: Sendable {
        /// The pixels, upright when orientation is applied.
        public var pixels: PixelBuffer
        /// Header facts of the encoded file.
        public var info: ImageInfo
    }

    /// Reads header facts without decoding pixels.
    /// - Throws: ``ImagingError`` naming `source`.
    public func info(of data: [UInt8], source: String = "") throws(ImagingError) -> ImageInfo {
        do {
            return try withRawBytes(data) { (raw) throws(ImagingError) -> ImageInfo in try Self.info(raw) }
        } catch { throw error.withSource(source) }
    }

    /// Reads header facts of the file at `path`.
    public func info(fileAt path: String) throws(ImagingError) -> ImageInfo {
        try info(of: Self.read(path), source: path)
    }

    /// Decodes encoded bytes.
    /// - Parameters:
    ///   - data: PNG or JPEG bytes.
    ///   - format: the layout wanted; `nil` gives RGBA for images with transparency and RGB otherwise.
    ///   - source: a name (usually the path) used in error messages.
    /// - Throws: ``ImagingError`` for truncated, corrupt, unsupported or oversized input.
    public func decode(_ data: [UInt8], format: PixelFormat? = nil, source: String = "") throws(ImagingError) -> Image {
        do {
            return try withRawBytes(data) { (raw) throws(ImagingError) -> Image in
                // One TurboJPEG handle serves both the header read and the decode.
                let handle = ImageFormat.detect(raw) == .jpeg ? tjInitDecompress() : nil
                defer { if let handle { tjDestroy(handle) } }
                let info: ImageInfo
                if let handle { info = try JPEGCodec.info(raw, handle: handle) } else { info = try Self.info(raw) }
                guard info.width > 0, info.height > 0 else {
                    throw ImagingError(.corrupt, source: "", message: "image has zero width or height")
                }
                let (product, overflow) = info.width.multipliedReportingOverflow(by: info.height)
                guard !overflow, product <= maxPixels else {
                    throw ImagingError(
                        .tooLarge, source: "",
                        message: "\(info.width)x\(info.height) exceeds the limit of \(maxPixels) pixels; raise --max-pixels to decode it")
                }
                let wanted = format ?? (info.hasAlpha ? .rgba8 : .rgb8)
                var pixels: PixelBuffer
                switch info.format {
                case .png:
                    pixels = try PNGCodec.decode(raw, info: info, format: wanted, maxPixels: maxPixels)
                case .jpeg:
                    guard let handle else {
                        throw ImagingError(.corrupt, source: "", message: "JPEG: cannot create a decompressor")
                    }
                    pixels = try JPEGCodec.decode(
                        raw, info: info, format: wanted, denominator: scaleDenominator, strict: strict, handle: handle)
                }
                if appliesOrientation { pixels = pixels.applying(info.orientation) }
                return Image(pixels: pixels, info: info)
            }
        } catch { throw error.withSource(source) }
    }

    /// Decodes the file at `path`; errors name the path.
    public func decode(fileAt path: String, format: PixelFormat? = nil) throws(ImagingError) -> Image {
        try decode(Self.read(path), format: format, source: path)
    }

    static func info(_ raw: UnsafeRawBufferPointer) throws(ImagingError) -> ImageInfo {
        switch ImageFormat.detect(raw) {
        case .png: return try PNGCodec.info(raw)
        case .jpeg: return try JPEGCodec.info(raw)
        case nil:
            if raw.isEmpty { throw ImagingError(.truncated, source: "", message: "empty file") }
            throw ImagingError(.unknownFormat, source: "", message: "not a PNG or JPEG file")
        }
    }

    /// The largest image file read: 1 GiB.
    static let maxFileBytes = 1 << 30

    static func read(_ path: String) throws(ImagingError) -> [UInt8] {
        do { return Array(try InputFile.read(path, limit: maxFileBytes)) } catch {
            switch error {
            case .notFound: throw ImagingError(.notFound, source: path, message: "no such file")
            case .folder, .unreadable: throw ImagingError(.io, source: path, message: error.description)
            case .notRegular: throw ImagingError(.unsupported, source: path, message: error.description)
            case .tooLarge: throw ImagingError(.tooLarge, source: path, message: error.description)
            }
        }
    }
}

/// Encodes ``PixelBuffer``s as PNG or JPEG.
///
/// ```swift
/// let png = try ImageEncoder().encode(pixels, as: .png)
/// try ImageEncoder(jpegQuality: 85).write(pixels, as: .jpeg, to: "out.jpg")
/// ```
public struct ImageEncoder: Sendable {
    /// zlib level 0–9 for PNG.
    public var pngCompressionLevel: Int
    /// Quality 1–100 for JPEG.
    public var jpegQuality: Int
    /// Chroma subsampling for JPEG.
    public var jpegSubsampling: JPEGSubsampling

    /// Creates an encoder.
    public init(pngCompressionLevel: Int = 6, jpegQuality: Int = 90, jpegSubsampling: JPEGSubsampling = .s420) {
        self.pngCompressionLevel = pngCompressionLevel
        self.jpegQuality = jpegQuality
        self.jpegSubsampling = jpegSubsampling
    }

    /// Encodes pixels. JPEG drops alpha.
    /// - Throws: ``ImagingError`` with `.invalidArgument` for an empty image.
    public func encode(_ pixels: PixelBuffer, as format: ImageFormat) throws(ImagingError) -> [UInt8] {
        guard pixels.width > 0, pixels.height > 0 else {
            throw ImagingError(.invalidArgument, source: "", message: "cannot encode an empty image")
        }
        switch format {
        case .png: return try PNGCodec.encode(pixels, compressionLevel: pngCompressionLevel)
        case .jpeg: return try JPEGCodec.encode(pixels, quality: jpegQuality, subsampling: jpegSubsampling)
        }
    }

    /// Encodes and writes atomically (a temporary file renamed into place), so a crash never leaves half a file.
    public func write(_ pixels: PixelBuffer, as format: ImageFormat, to path: String) throws(ImagingError) {
        let bytes = try encode(pixels, as: format)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ImagingError(.io, source: path, message: "cannot write the file: \(error.localizedDescription)")
        }
    }
}

/// `withUnsafeBytes` with a typed error (the stdlib's version only rethrows `any Error`).
func withRawBytes<T>(
    _ data: [UInt8], _ body: (UnsafeRawBufferPointer) throws(ImagingError) -> T
) throws(ImagingError) -> T {
    let result = data.withUnsafeBytes { raw in Result { () throws(ImagingError) -> T in try body(raw) } }
    return try result.get()
}
