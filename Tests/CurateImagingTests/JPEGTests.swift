import CurateImaging
import CurateTestSupport
import Foundation
import Testing

private func fixture(_ relative: String) -> String { TestFixtures.path("CurateImaging", relative) }

/// Largest absolute difference between two equally sized buffers, and their mean absolute difference.
func difference(_ a: PixelBuffer, _ b: PixelBuffer) -> (max: Int, mean: Double) {
    precondition(a.bytes.count == b.bytes.count)
    var maximum = 0, total = 0
    for i in a.bytes.indices {
        let d = abs(Int(a.bytes[i]) - Int(b.bytes[i]))
        maximum = max(maximum, d)
        total += d
    }
    return (maximum, Double(total) / Double(max(1, a.bytes.count)))
}

@Suite struct JPEGDecodeTests {
    @Test(arguments: ["baseline", "progressive", "grey", "cmyk"])
    func matchesPillowDecode(_ name: String) throws {
        let decoder = ImageDecoder()
        let ours = try decoder.decode(fileAt: fixture("jpeg/\(name).jpg"), format: .rgb8).pixels
        let pillow = try decoder.decode(fileAt: fixture("jpeg/\(name).pillow.png"), format: .rgb8).pixels
        #expect(ours.width == 256 && ours.height == 192)
        let diff = difference(ours, pillow)
        // Same libjpeg-turbo algorithms (islow DCT, fancy upsampling): at most rounding differences.
        #expect(diff.max <= (name == "cmyk" ? 2 : 1), "\(name): \(diff)")
    }

    @Test func headerFacts() throws {
        let decoder = ImageDecoder()
        let progressive = try decoder.info(fileAt: fixture("jpeg/progressive.jpg"))
        #expect(progressive.interlaced)
        #expect(progressive.colorType == "ycbcr")
        #expect(progressive.subsampling == "4:2:0")
        #expect(try !decoder.info(fileAt: fixture("jpeg/baseline.jpg")).interlaced)
        #expect(try decoder.info(fileAt: fixture("jpeg/grey.jpg")).colorType == "grey")
        #expect(try decoder.info(fileAt: fixture("jpeg/cmyk.jpg")).colorType == "cmyk")
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func everyExifOrientationDecodesUpright(_ orientation: Int) throws {
        let decoder = ImageDecoder()
        let upright = try decoder.decode(fileAt: fixture("exif/upright.png"), format: .rgb8).pixels
        let image = try decoder.decode(fileAt: fixture("exif/orientation-\(orientation).jpg"), format: .rgb8)
        #expect(image.info.orientation.rawValue == orientation)
        #expect(image.pixels.width == 64 && image.pixels.height == 48)
        let diff = difference(image.pixels, upright)
        // JPEG at quality 95 stays within a few levels; a wrong turn differs by ~100 on average.
        #expect(diff.mean < 4, "orientation \(orientation): \(diff)")
        // Without applying orientation, turned images keep their stored size.
        let raw = try ImageDecoder(appliesOrientation: false).decode(fileAt: fixture("exif/orientation-\(orientation).jpg"))
        #expect(raw.pixels.width == (orientation >= 5 ? 48 : 64))
    }

    @Test(arguments: [2, 4, 8])
    func dctScaledDecodeMatchesADownsample(_ denominator: Int) throws {
        let full = try ImageDecoder().decode(fileAt: fixture("jpeg/baseline.jpg"), format: .rgb8).pixels
        let scaled = try ImageDecoder(scaleDenominator: denominator).decode(fileAt: fixture("jpeg/baseline.jpg")).pixels
        #expect(scaled.width == 256 / denominator && scaled.height == 192 / denominator)
        // Compare against a box-filtered full decode: the DCT scaling is a low-pass too.
        var box = PixelBuffer(width: scaled.width, height: scaled.height, format: .rgb8)
        for y in 0..<scaled.height {
            for x in 0..<scaled.width {
                for c in 0..<3 {
                    var sum = 0
                    for dy in 0..<denominator {
                        for dx in 0..<denominator {
                            sum += Int(full.bytes[((y * denominator + dy) * full.width + x * denominator + dx) * 3 + c])
                        }
                    }
                    box.bytes[(y * scaled.width + x) * 3 + c] = UInt8(sum / (denominator * denominator))
                }
            }
        }
        #expect(difference(scaled, box).mean < 6)
    }

    @Test func scaledDecodeAppliesOrientationToo() throws {
        let image = try ImageDecoder(scaleDenominator: 2).decode(fileAt: fixture("exif/orientation-6.jpg"))
        #expect(image.pixels.width == 32 && image.pixels.height == 24)
    }
}

@Suite struct EncodeTests {
    @Test func pngRoundTripIsExact() throws {
        let source = try ImageDecoder().decode(fileAt: fixture("pngsuite/basn6a08.png")).pixels
        for level in [0, 6, 9] {
            let png = try ImageEncoder(pngCompressionLevel: level).encode(source, as: .png)
            #expect(try ImageDecoder().decode(png).pixels == source)
        }
        let grey = source.converted(to: .gray8)
        #expect(try ImageDecoder().decode(ImageEncoder().encode(grey, as: .png), format: .gray8).pixels == grey)
    }

    @Test func jpegQualityTradesSizeForError() throws {
        let source = try ImageDecoder().decode(fileAt: fixture("jpeg/baseline.pillow.png"), format: .rgb8).pixels
        let low = try ImageEncoder(jpegQuality: 30).encode(source, as: .jpeg)
        let high = try ImageEncoder(jpegQuality: 95).encode(source, as: .jpeg)
        #expect(low.count < high.count)
        let lowError = difference(try ImageDecoder().decode(low).pixels, source).mean
        let highError = difference(try ImageDecoder().decode(high).pixels, source).mean
        #expect(highError < lowError)
        #expect(highError < 2)
    }

    @Test func writeIsAtomicAndReadable() throws {
        let scratch = ScratchDirectory()
        let pixels = PixelBuffer(width: 3, height: 2, format: .rgb8, filledWith: 7)
        try ImageEncoder().write(pixels, as: .png, to: scratch.file("a.png"))
        #expect(try ImageDecoder().decode(fileAt: scratch.file("a.png")).pixels == pixels)
        #expect(throws: ImagingError.self) {
            try ImageEncoder().write(pixels, as: .png, to: scratch.path + "/missing/dir/a.png/")
        }
        #expect(throws: ImagingError.self) {
            try ImageEncoder().encode(PixelBuffer(width: 0, height: 0, format: .rgb8), as: .png)
        }
    }
}
