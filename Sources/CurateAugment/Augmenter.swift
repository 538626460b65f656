import CurateCore
import CurateImaging
import CurateVersioning
import Foundation
import Synchronization

/// One image to augment: where it came from, its bytes and its labels (item paths relative to the source root).
public struct AugmentSource: Sendable {
    public var path: String
    public var contentHash: String?
    /// The encoded image; empty when `load` reads it when its turn comes (so a run holds one image per worker).
    public var bytes: [UInt8]
    public var annotations: [Annotation]
    /// Reads the encoded image; its error's description names the file and the problem.
    public var load: (@Sendable () throws -> [UInt8])?

    public init(path: String, contentHash: String?, bytes: [UInt8], annotations: [Annotation]) {
        self.path = path
        self.contentHash = contentHash
        self.bytes = bytes
        self.annotations = annotations
    }

    /// This source with its bytes read (itself when they are).
    public func loaded() throws(AugmentError) -> AugmentSource {
        guard bytes.isEmpty, let load else { return self }
        var copy = self
        do { copy.bytes = try load() } catch let error as AugmentError { throw error } catch {
            throw AugmentError(.input, "\(path): \(error)")
        }
        return copy
    }

    /// A source read by `load` only when a worker augments it.
    public init(path: String, contentHash: String?, annotations: [Annotation], load: @escaping @Sendable () throws -> [UInt8]) {
        self.init(path: path, contentHash: contentHash, bytes: [], annotations: annotations)
        self.load = load
    }
}

/// How one output was made: enough to make it again, bit for bit.
public struct Lineage: Sendable, Codable, Equatable {
    public var output: String
    public var source: String
    public var sourceHash: String?
    public var pipelineHash: String
    public var seed: UInt64
    public var copy: Int
    public var itemSeed: UInt64
    public var applied: [AppliedStep]
    /// The program that made the output (e.g. `curate 0.1.0`): bit-for-bit replay holds within one version.
    public var tool: String?

    enum CodingKeys: String, CodingKey {
        case output, source, copy, seed, applied, tool
        case sourceHash = "source_hash", pipelineHash = "pipeline_hash", itemSeed = "item_seed"
    }
}

/// Runs a pipeline over sources on every core; outputs depend only on the seed, never on the thread count.
public struct Augmenter: Sendable {
    public var pipeline: Pipeline
    public var seed: UInt64
    public var copies: Int
    public var jpegQuality: Int
    /// Recorded in lineage as the maker of each output.
    public var tool: String

    public init(pipeline: Pipeline, seed: UInt64, copies: Int, jpegQuality: Int = 95, tool: String = "curate") {
        self.pipeline = pipeline
        self.seed = seed
        self.copies = copies
        self.jpegQuality = jpegQuality
        self.tool = tool
    }

    /// The SHA-256 of the pipeline's canonical YAML, as recorded in lineage.
    public var pipelineHash: String { ContentHash.of(Data(pipeline.yaml().utf8)).hex }

    /// The seed of one output: a function of the run seed, the source path and the copy number only.
    public static func itemSeed(seed: UInt64, path: String, copy: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var rng = SplitMix64(seed: seed ^ hash)
        var value = rng.next()
        for _ in 0..<copy { value = rng.next() }
        return value
    }

    /// One finished output.
    public struct Output: Sendable {
        public var path: String
        public var bytes: [UInt8]
        public var width: Int
        public var height: Int
        public var annotations: [Annotation]
        public var lineage: Lineage
    }

    /// Outcome per source: outputs, or the reason it was skipped.
    public enum Result: Sendable {
        case outputs([Output])
        case failed(String)
    }

    /// Augments every source `copies` times on every core. `progress` is called (from any thread) after each
    /// source. With `write`, each output is handed to it by the worker that made it (from any thread) and kept
    /// without its bytes, and sources with a `load` are read when their turn comes: memory holds one image per
    /// worker, not the dataset. An output `write` throws for makes its source `.failed`.
    public func run(_ sources: [AugmentSource], write: (@Sendable (Output) throws -> Void)? = nil,
                    progress: @Sendable (Int) -> Void = { _ in }) -> [Result] {
        let results = Mutex<[Int: Result]>([:])
        let done = Atomic<Int>(0)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, sources.count))
        let hash = pipelineHash
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for index in stride(from: worker, to: sources.count, by: workers) {
                var result = augment(sources[index], pipelineHash: hash)
                if let write, case .outputs(var outputs) = result {
                    do {
                        for i in outputs.indices {
                            try write(outputs[i])
                            outputs[i].bytes = []
                        }
                        result = .outputs(outputs)
                    } catch {
                        result = .failed("\(error)")
                    }
                }
                results.withLock { $0[index] = result }
                progress(done.add(1, ordering: .relaxed).newValue)
            }
        }
        return results.withLock { dict in (0..<sources.count).map { dict[$0]! } }
    }

    /// The DCT scale denominator for a JPEG whose upright size is `width`×`height`: when the pipeline's first step
    /// always shrinks the image to half or less — Resize and LongestMaxSize by their parameters, RandomResizedCrop by
    /// the crop it drew for this output (`draw`, from ``Pipeline/firstDraw``) — decode at 1/2, 1/4 or 1/8, the
    /// largest reduction that still leaves at least the target size, and let the step resize the rest.
    public func dctDenominator(width: Int, height: Int, draw: [String: Double]? = nil) -> Int {
        guard let first = pipeline.steps.first, first.probability >= 1 else { return 1 }
        var region = (Double(width), Double(height))
        let target: (Double, Double)
        switch first.name {
        case "Resize": target = (first.number("width", Double(width)), first.number("height", Double(height)))
        case "LongestMaxSize":
            let scale = first.number("max_size", 1024) / Double(max(width, height))
            target = (Double(width) * scale, Double(height) * scale)
        case "RandomResizedCrop":
            guard case .list(let size)? = first.parameters["size"], let cw = draw?["width"], let ch = draw?["height"] else { return 1 }
            region = (cw, ch)
            target = (size[1], size[0])
        default: return 1
        }
        for d in [8, 4, 2] {
            // The region as the reduced image holds it (rounded down, to stay on the safe side of the target).
            let w = (region.0 * Double((width + d - 1) / d) / Double(width)).rounded(.down)
            let h = (region.1 * Double((height + d - 1) / d) / Double(height)).rounded(.down)
            if w >= target.0 && h >= target.1 { return d }
        }
        return 1
    }

    /// Decodes a source (at reduced scale when `dctDenominator` allows, for the output whose seed is `itemSeed`)
    /// and scales its labels to the decoded size.
    public func prepare(_ source: AugmentSource, itemSeed: UInt64 = 0) throws(ImagingError) -> (AugmentSample, ImageFormat) {
        var cache: [Int: AugmentSample] = [:]
        let prepared = try prepare(source, itemSeed: itemSeed, cache: &cache)
        return (prepared.sample, prepared.format)
    }

    struct Prepared {
        var sample: AugmentSample
        var format: ImageFormat
        /// The full upright size when the image was decoded smaller, else nil.
        var drawSize: (width: Int, height: Int)?
    }

    func prepare(_ source: AugmentSource, itemSeed: UInt64, cache: inout [Int: AugmentSample]) throws(ImagingError) -> Prepared {
        let info = try ImageDecoder().info(of: source.bytes, source: source.path)
        let upright = info.displaySize
        var denominator = 1
        if info.format == .jpeg {
            let draw = pipeline.firstDraw(seed: itemSeed, width: upright.width, height: upright.height)
            denominator = dctDenominator(width: upright.width, height: upright.height, draw: draw)
        }
        let drawSize = denominator > 1 ? (width: upright.width, height: upright.height) : nil
        if let cached = cache[denominator] { return Prepared(sample: cached, format: info.format, drawSize: drawSize) }
        let decoded = try ImageDecoder(scaleDenominator: denominator).decode(source.bytes, source: source.path)
        var sample = AugmentSample(image: decoded.pixels, annotations: source.annotations)
        if decoded.pixels.width != upright.width || decoded.pixels.height != upright.height {
            let sx = Double(decoded.pixels.width) / Double(upright.width), sy = Double(decoded.pixels.height) / Double(upright.height)
            let w = decoded.pixels.width, h = decoded.pixels.height
            let labelsOnly = GeometricMap(width: w, height: h, point: { ($0 * sx, $1 * sy) }, pixels: { $0 },
                                          maskPixels: { PixelOps.resize($0, width: w, height: h, interpolation: .nearest) })
            // The pixels are already at the decoded size: only the labels move.
            sample = sample.applying(labelsOnly, rules: BoxRules())
        }
        cache[denominator] = sample
        return Prepared(sample: sample, format: info.format, drawSize: drawSize)
    }

    /// Decodes `source` as `augment` would for the output seeded `itemSeed` and runs the pipeline on it.
    public func run(_ source: AugmentSource, itemSeed: UInt64) throws(ImagingError) -> (AugmentSample, [AppliedStep]) {
        var cache: [Int: AugmentSample] = [:]
        let prepared = try prepare(source, itemSeed: itemSeed, cache: &cache)
        return pipeline.run(prepared.sample, seed: itemSeed, drawSize: prepared.drawSize)
    }

    func augment(_ original: AugmentSource, pipelineHash: String) -> Result {
        let source: AugmentSource
        do { source = try original.loaded() } catch { return .failed("\(error)") }
        var outputs: [Output] = []
        var cache: [Int: AugmentSample] = [:]
        let stem = (source.path as NSString).deletingPathExtension
        for copy in 0..<copies {
            let itemSeed = Self.itemSeed(seed: seed, path: source.path, copy: copy)
            let prepared: Prepared
            do { prepared = try prepare(source, itemSeed: itemSeed, cache: &cache) } catch { return .failed(error.description) }
            let (out, applied) = pipeline.run(prepared.sample, seed: itemSeed, drawSize: prepared.drawSize)
            let format = prepared.format
            let path = "\(stem)-aug\(copy).\(out.normalized != nil ? "npy" : format == .png ? "png" : "jpg")"
            let bytes: [UInt8]
            do { bytes = try encode(out, format) } catch { return .failed("\(source.path): cannot encode: \(error)") }
            let annotations = out.annotations.map { a -> Annotation in
                var copy = a
                copy.item = path
                return copy
            }
            outputs.append(Output(path: path, bytes: bytes, width: out.width, height: out.height, annotations: annotations,
                                  lineage: Lineage(output: path, source: source.path, sourceHash: source.contentHash, pipelineHash: pipelineHash,
                                                   seed: seed, copy: copy, itemSeed: itemSeed, applied: applied, tool: tool)))
        }
        return .outputs(outputs)
    }

    /// The output file's bytes: the image in the source's format, or a `.npy` of floats after `Normalize`.
    func encode(_ sample: AugmentSample, _ format: ImageFormat) throws(ImagingError) -> [UInt8] {
        if let normalized = sample.normalized { return normalized.npy() }
        return try ImageEncoder(pngCompressionLevel: 6, jpegQuality: jpegQuality).encode(sample.image, as: format)
    }

    /// Makes one output again from its lineage and source bytes: the bytes it should have.
    public func replay(_ lineage: Lineage, source: AugmentSource) throws(AugmentError) -> [UInt8] {
        guard lineage.pipelineHash == pipelineHash else {
            throw AugmentError(.replay, "\(lineage.output): made by pipeline \(lineage.pipelineHash.prefix(12)), but pipeline.yaml is \(pipelineHash.prefix(12)) now")
        }
        let sample: AugmentSample, format: ImageFormat
        do { (sample, format) = try prepare(source, itemSeed: lineage.itemSeed) } catch { throw AugmentError(.input, error.description) }
        let out = try pipeline.replay(sample, lineage.applied)
        do { return try encode(out, format) } catch { throw AugmentError(.input, error.description) }
    }
}
