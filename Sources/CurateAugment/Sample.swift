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

    public init(image: PixelBuffer, annotations: [Annotation]) {
        self.image = image
        self.annotations = annotations
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
