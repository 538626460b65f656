import CurateCore
import CurateImaging
import Foundation

/// An image and its labels, in pixel coordinates, as transforms see them.
///
/// Coordinates: boxes and polygons use pixel *edges* (the image spans [0, W] × [0, H], COCO's convention);
/// keypoints use pixel *centres* (pixel (i, j) is at x = i, y = j, as albumentations and OpenCV treat them).
public struct AugmentSample: Sendable, Equatable {
    public var image: PixelBuffer
    public var annotations: [Annotation]
    /// The float image a final `Normalize` step made (nil before it); outputs are then written as `.npy`.
    public var normalized: NormalizedImage?

    public init(image: PixelBuffer, annotations: [Annotation], normalized: NormalizedImage? = nil) {
        self.image = image
        self.annotations = annotations
        self.normalized = normalized
    }

    public var width: Int { image.width }
    public var height: Int { image.height }
}

/// How boxes that leave the image are kept or dropped after a geometric transform.
///
/// A box is clipped to the image, then kept if and only if its clipped area is positive, its clipped area is
/// **at least** `minArea` (pixels²) and its visibility — clipped area ÷ area before clipping — is **at least**
/// `minVisibility`. A box exactly at either threshold is kept (albumentations drops `<`, keeps `>=`, the same).
public struct BoxRules: Sendable, Hashable, Codable {
    public var minArea: Double
    public var minVisibility: Double

    public init(minArea: Double = 0, minVisibility: Double = 0) {
        self.minArea = minArea
        self.minVisibility = minVisibility
    }
}

/// A float32 image, height × width × channels, interleaved (what `Normalize` produces for a training loader).
public struct NormalizedImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var values: [Float]

    public init(width: Int, height: Int, channels: Int, values: [Float]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.values = values
    }

    /// The image as a NumPy `.npy` file (little-endian float32, C order, shape (H, W, C)), which `numpy.load`
    /// reads as is.
    public func npy() -> [UInt8] {
        NumpyArray(shape: [height, width, channels], values: values.map(Double.init)).npyBytes(float32: true)
    }
}
