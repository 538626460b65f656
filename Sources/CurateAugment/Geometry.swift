import CurateCore
import CurateImaging
import Foundation

/// A geometric change of the image: where a point (in pixel-edge coordinates) goes, the new size, and the
/// pixel operation (applied to the image, and with nearest sampling to masks).
struct GeometricMap {
    var width: Int
    var height: Int
    var point: (Double, Double) -> (Double, Double)
    var pixels: (PixelBuffer) -> PixelBuffer
    var maskPixels: (PixelBuffer) -> PixelBuffer
}

extension AugmentSample {
    /// Applies a geometric map to the image and every label; boxes are recomputed, clipped and filtered by `rules`.
    func applying(_ map: GeometricMap, rules: BoxRules) -> AugmentSample {
        var result = AugmentSample(image: map.pixels(image), annotations: [])
        let w = Double(map.width), h = Double(map.height)
        for annotation in annotations {
            guard case .object(var object) = annotation.label else {
                result.annotations.append(annotation)
                continue
            }
            var tightPoints: [(Double, Double)] = []
            if let mask = object.mask {
                let moved = map.maskPixels(maskImage(mask))
                object.mask = rle(moved)
                if let box = object.mask?.boundingBox { tightPoints = [(box.x, box.y), (box.maxX, box.maxY)] } else { tightPoints = [] }
            }
            if !object.polygons.isEmpty {
                object.polygons = object.polygons.map { polygon in
                    var out: [Double] = []
                    out.reserveCapacity(polygon.count)
                    for i in stride(from: 0, to: polygon.count - 1, by: 2) {
                        let (x, y) = map.point(polygon[i], polygon[i + 1])
                        out.append(min(max(x, 0), w)); out.append(min(max(y, 0), h))
                        if object.mask == nil { tightPoints.append((x, y)) }
                    }
                    return out
                }
            }
            object.keypoints = object.keypoints.map { k in
                let (x, y) = map.point(k.x + 0.5, k.y + 0.5)
                var moved = Keypoint(x: x - 0.5, y: y - 0.5, visibility: k.visibility)
                if moved.x < 0 || moved.y < 0 || moved.x > w - 1 || moved.y > h - 1 { moved.visibility = 0 }
                return moved
            }
            if let box = object.box {
                if tightPoints.isEmpty {
                    tightPoints = [(box.x, box.y), (box.maxX, box.y), (box.x, box.maxY), (box.maxX, box.maxY)].map(map.point)
                }
                let xs = tightPoints.map(\.0), ys = tightPoints.map(\.1)
                let x0 = xs.min()!, x1 = xs.max()!, y0 = ys.min()!, y1 = ys.max()!
                let area = (x1 - x0) * (y1 - y0)
                let cx0 = min(max(x0, 0), w), cx1 = min(max(x1, 0), w), cy0 = min(max(y0, 0), h), cy1 = min(max(y1, 0), h)
                let clipped = (cx1 - cx0) * (cy1 - cy0)
                let visibility = area > 0 ? clipped / area : 0
                guard clipped > 0, clipped >= rules.minArea, visibility >= rules.minVisibility else { continue }
                object.box = BoundingBox(x: cx0, y: cy0, width: cx1 - cx0, height: cy1 - cy0)
                if object.area != nil { object.area = object.mask.map { Double($0.area) } ?? object.box!.area }
            }
            var copy = annotation
            copy.label = .object(object)
            result.annotations.append(copy)
        }
        return result
    }
}

/// A COCO RLE mask as a grey image (255 = foreground).
func maskImage(_ mask: RLEMask) -> PixelBuffer {
    var out = PixelBuffer(width: mask.width, height: mask.height, format: .gray8)
    var position = 0
    for (i, run) in mask.counts.enumerated() {
        if i % 2 == 1 {
            for p in position..<(position + run) {
                let x = p / mask.height, y = p % mask.height
                if x < mask.width { out.bytes[y * mask.width + x] = 255 }
            }
        }
        position += run
    }
    return out
}

/// A grey image (≥ 128 = foreground) as a COCO RLE mask (column-major runs, starting with background).
func rle(_ image: PixelBuffer) -> RLEMask {
    var counts: [Int] = []
    var current = false, run = 0
    for x in 0..<image.width {
        for y in 0..<image.height {
            let on = image.bytes[(y * image.width + x) * image.format.channels] >= 128
            if on != current {
                counts.append(run)
                run = 0
                current = on
            }
            run += 1
        }
    }
    counts.append(run)
    return RLEMask(height: image.height, width: image.width, counts: counts)
}
