import ArgumentParser
import CurateAugment
import CurateCommands
import CurateCore
import CurateImaging
import CurateQuality
import CurateRouting
import CurateSelection
import CurateTerminal
import CurateVersioning
import Foundation

/// `curate-bench`: in-process throughput of Curate's hot paths, for the scripts in `benchmarks/`. A separate
/// executable, not part of the `curate` product users install.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curate-bench",
        abstract: "Measure in-process throughput (used by the scripts in benchmarks/).",
        subcommands: [Decode.self, AugmentBench.self, QualityBench.self, SelectionBench.self, RoutingBench.self, QueueWorker.self, StoreBench.self, WatchBench.self, VettingBench.self, ScaleBench.self])
}

extension Bench {
    struct Decode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode files from memory repeatedly on one thread and print images per second as JSON.",
            discussion: """
                Files are read into memory first, so only decoding is timed (as the Pillow and OpenCV \
                loops in benchmarks/imaging/peers.py do).

                Example:
                  curate-bench decode --repeat 20 --scale 4 .build/bench-imaging/jpeg/*.jpg
                """)

        @Argument(help: "PNG or JPEG files.")
        var files: [String]

        @Option(name: .customLong("repeat"), help: "Decode every file this many times.")
        var repetitions: Int = 10

        @Option(help: "JPEG DCT scale denominator (1, 2, 4, 8).")
        var scale: Int = 1

        @Option(help: "Output layout: rgb or rgba.")
        var format: String = "rgb"

        func validate() throws {
            guard repetitions > 0 else { throw ValidationError("--repeat must be positive") }
            guard [1, 2, 4, 8].contains(scale) else { throw ValidationError("--scale must be 1, 2, 4 or 8") }
            guard ["rgb", "rgba"].contains(format) else { throw ValidationError("--format must be rgb or rgba") }
        }

        func run() async throws {
            try await reportingErrors {
                let decoder = ImageDecoder(scaleDenominator: scale)
                let layout: PixelFormat = format == "rgba" ? .rgba8 : .rgb8
                var inputs: [(String, [UInt8])] = []
                for path in files {
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw CommandFailure(message: "\(path): no such file", kind: .notFound)
                    }
                    inputs.append((path, Array(data)))
                }
                // One untimed pass: warms caches and checks every file decodes.
                var pixels = 0
                for (path, bytes) in inputs { pixels += try decoder.decode(bytes, format: layout, source: path).pixels.bytes.count }
                let start = ContinuousClock.now
                var checksum = 0
                for _ in 0..<repetitions {
                    for (path, bytes) in inputs {
                        checksum &+= Int(try decoder.decode(bytes, format: layout, source: path).pixels.bytes.last ?? 0)
                    }
                }
                let elapsed = ContinuousClock.now - start
                let seconds = elapsed.seconds
                let images = inputs.count * repetitions
                Console.out(#"{"images": \#(images), "seconds": \#(seconds), "images_per_second": \#(Double(images) / seconds), "bytes_per_pass": \#(pixels), "checksum": \#(checksum)}"#)
            }
        }
    }
}

extension Bench {
    struct AugmentBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "augment",
            abstract: "Run a pipeline over decoded images on one thread and print images per second as JSON.",
            discussion: "Example:\n  curate-bench augment --pipeline flip.yaml --repeat 20 .build/bench-augment/*.png")

        @Option(help: "The pipeline YAML.")
        var pipeline: String

        @Option(name: .customLong("repeat"), help: "Passes over the images.")
        var repetitions: Int = 10

        @Option(help: "Boxes per image (random, inside the image), to measure label handling.")
        var boxes: Int = 0

        @Flag(help: "Decode from encoded bytes inside the timed loop (the whole path from JPEG bytes).")
        var fromBytes = false

        @Argument(help: "Images.")
        var files: [String]

        func run() async throws {
            try await reportingErrors {
                try CPUPath.configure(environment: ProcessInfo.processInfo.environment)
                let pipeline = try Pipeline(contentsOf: self.pipeline)
                let augmenter = Augmenter(pipeline: pipeline, seed: 0, copies: 1)
                var rng = SplitMix64(seed: 1)
                var samples: [AugmentSample] = []
                var encoded: [[UInt8]] = []
                for path in files {
                    let bytes = Array(FileManager.default.contents(atPath: path) ?? Data())
                    encoded.append(bytes)
                    let image = try ImageDecoder().decode(bytes, format: .rgb8, source: path).pixels
                    var annotations: [Annotation] = []
                    for i in 0..<boxes {
                        let w = Double(image.width), h = Double(image.height)
                        let x = Double(rng.next() % UInt64(w / 2)), y = Double(rng.next() % UInt64(h / 2))
                        annotations.append(Annotation(item: path, label: .object(ObjectLabel(classID: i, box: BoundingBox(x: x, y: y, width: w / 4, height: h / 4)))))
                    }
                    samples.append(AugmentSample(image: image, annotations: annotations))
                }
                var checksum = 0
                // One untimed pass first, as the peers' scripts do (tables built, pages touched).
                for (i, sample) in samples.enumerated() {
                    if fromBytes {
                        let source = AugmentSource(path: files[i], contentHash: nil, bytes: encoded[i], annotations: sample.annotations)
                        checksum &+= try augmenter.run(source, itemSeed: UInt64(i)).0.image.width
                    } else {
                        checksum &+= pipeline.run(sample, seed: UInt64(i)).0.image.width
                    }
                }
                let start = ContinuousClock.now
                for pass in 0..<repetitions {
                    for (i, sample) in samples.enumerated() {
                        let seed = UInt64(pass * samples.count + i)
                        let out: AugmentSample
                        if fromBytes {
                            // As `curate augment` does: header, DCT-scaled decode when the first step allows, pipeline.
                            let source = AugmentSource(path: files[i], contentHash: nil, bytes: encoded[i], annotations: sample.annotations)
                            out = try augmenter.run(source, itemSeed: seed).0
                        } else {
                            out = pipeline.run(sample, seed: seed).0
                        }
                        checksum &+= out.normalized.map { Int($0.values[$0.values.count / 2] * 1000) } ?? Int(out.image.bytes[out.image.bytes.count / 2])
                    }
                }
                let elapsed = ContinuousClock.now - start
                let seconds = elapsed.seconds
                let images = samples.count * repetitions
                Console.out(#"{"path": "\#(CPUPath.current.rawValue)", "images": \#(images), "seconds": \#(seconds), "images_per_second": \#(Double(images) / seconds), "checksum": \#(checksum)}"#)
            }
        }
    }
}

extension Bench {
    struct QualityBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "quality",
            abstract: "Time one quality computation on arrays from .npy files and print seconds and peak memory as JSON.",
            discussion: """
                Tasks (inputs):
                  issues        --probs N×K.npy --labels N.npy (integer classes): find_label_issues, default filter
                  dawid-skene   --crowd T×A×2.npy (worker, label per answer): Dawid-Skene
                  mace          --crowd T×A×2.npy: MACE
                  alpha         --ratings R×N.npy (NaN for missing): Krippendorff's alpha, nominal
                Loading is not timed; "seconds" is wall time of the computation, "cpu_seconds" user+system, \
                "rss_growth_mb" how far the computation raised the peak resident memory above the loaded inputs.
                """)

        @Argument(help: "issues, dawid-skene, mace or alpha.")
        var task: String

        @Option var probs: String?
        @Option var labels: String?
        @Option var crowd: String?
        @Option var ratings: String?

        func run() async throws {
            try await reportingErrors {
                func load(_ path: String?, _ name: String) throws -> NumpyArray {
                    guard let path else { throw ValidationError("\(task) needs --\(name)") }
                    return try NumpyArray(contentsOf: path)
                }
                var summary: [String: Any] = [:]
                let measure: () throws -> Void
                switch task {
                case "issues":
                    let p = try load(probs, "probs"), l = try load(labels, "labels")
                    let learner = ConfidentLearning(labels: l.values.map { Int($0) }, probabilities: p.values, classes: p.shape[1])
                    measure = { summary["flagged"] = learner.issues().filter { $0 }.count }
                case "dawid-skene", "mace":
                    let c = try load(crowd, "crowd")
                    var model = Crowd(tasks: c.shape[0], classes: Int(c.values.enumerated().filter { $0.offset % 2 == 1 }.map(\.element).max() ?? 1) + 1)
                    for t in 0..<c.shape[0] {
                        for s in 0..<c.shape[1] {
                            let base = (t * c.shape[1] + s) * 2
                            model.add(task: t, worker: Int(c.values[base]), label: Int(c.values[base + 1]))
                        }
                    }
                    let mace = task == "mace"
                    measure = {
                        let result = mace ? model.mace() : model.dawidSkene()
                        summary["iterations"] = result.iterations
                        summary["labels"] = result.labels
                    }
                case "alpha":
                    let r = try load(ratings, "ratings")
                    let values = (0..<r.shape[0]).map { i in (0..<r.shape[1]).map { j -> Double? in let v = r.values[i * r.shape[1] + j]; return v.isNaN ? nil : v } }
                    let model = Ratings(values: values)
                    measure = { summary["alpha"] = model.krippendorffAlpha(.nominal) as Any }
                default:
                    throw ValidationError("unknown task '\(task)' (issues, dawid-skene, mace, alpha)")
                }
                let rssBefore = maxResidentMegabytes()
                let cpuBefore = cpuSeconds()
                let start = ContinuousClock.now
                try measure()
                let seconds = (ContinuousClock.now - start).seconds
                summary["task"] = task
                summary["seconds"] = seconds
                summary["cpu_seconds"] = cpuSeconds() - cpuBefore
                summary["max_rss_mb"] = maxResidentMegabytes()
                summary["rss_growth_mb"] = maxResidentMegabytes() - rssBefore
                Console.out(try jsonText(summary))
            }
        }
    }
}

/// User + system CPU seconds of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Peak resident memory of this process, in MiB.
func maxResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

extension Bench {
    struct SelectionBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "selection",
            abstract: "Time one selection on arrays from .npy files and print seconds and peak memory as JSON.",
            discussion: """
                Tasks: entropy (--probs N×K, top --budget), k-center (--embeddings N×D, --budget centers, nothing \
                labeled: a seeded first center), badge (--probs and --embeddings). Loading is not timed.
                """)

        @Argument(help: "entropy, k-center or badge.")
        var task: String

        @Option var probs: String?
        @Option var embeddings: String?
        @Option var budget: Int = 1000

        func run() async throws {
            try await reportingErrors {
                let p = try probs.map { try NumpyArray(contentsOf: $0) }
                let e = try embeddings.map { try NumpyArray(contentsOf: $0) }
                let n = p?.shape[0] ?? e?.shape[0] ?? 0
                let pool = Pool(count: n, classes: p?.shape[1] ?? 1, probabilities: p?.values ?? [Double](repeating: 1, count: n),
                                embeddings: e?.values, dimensions: e?.shape[1] ?? 0)
                guard let strategy = ["entropy": Strategy.entropy, "k-center": .kCenter, "badge": .badge][task] else {
                    throw ValidationError("unknown task '\(task)' (entropy, k-center, badge)")
                }
                let rssBefore = maxResidentMegabytes(), cpuBefore = cpuSeconds()
                let start = ContinuousClock.now
                let picks = try Selector.select(strategy, pool: pool, candidates: Array(0..<n), budget: budget, seed: 1)
                let seconds = (ContinuousClock.now - start).seconds
                Console.out(try jsonText(["task": task, "seconds": seconds, "cpu_seconds": cpuSeconds() - cpuBefore, "picked": picks.count,
                                          "rows": picks.prefix(20).map(\.row), "rss_growth_mb": maxResidentMegabytes() - rssBefore]))
            }
        }
    }
}

extension Bench {
    struct RoutingBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "routing",
            abstract: "Time routing of synthetic predictions, or simulate routing rounds on a labeled image set with the built-in learner.",
            discussion: """
                plan: --count N synthetic predictions over --classes K (Dirichlet-like, seeded) with --validation V \
                human-labeled among them; times threshold choice and the routing of every item (generation not timed).
                simulate: --labels/--format/--images of a fully labeled image set; --seeds × --rounds batches routed \
                at --target; prints each round's threshold, auto-accepted count and true accuracy, and the count an \
                oracle threshold would allow.
                """)

        @Argument(help: "plan or simulate.")
        var task: String
        @Option var count = 1_000_000
        @Option var classes = 10
        @Option var validation = 10_000
        @Option var seeds = 3
        @Option var rounds = 5
        @Option var target = 0.95
        @Option(help: "simulate: items of each batch people label for validation.") var validationPerBatch = 60
        @Option(help: "simulate: the penalty c.") var penalty = RoutingPolicy().penalty
        @OptionGroup var source: LabelSourceOptions

        func run() async throws {
            try await reportingErrors {
                var policy = RoutingPolicy()
                policy.targetAccuracy = target
                policy.uncertainMargin = 0.2
                switch task {
                case "plan":
                    var rng = SplitMix64(seed: 7)
                    var probs = [Double](repeating: 0, count: count * classes)
                    var ids: [String] = [], human: [String: Int] = [:]
                    ids.reserveCapacity(count)
                    for r in 0..<count {
                        var sum = 0.0
                        let hot = Int(rng.next() % UInt64(classes))
                        let sharpness = exp(Double(rng.next() >> 11) / Double(1 << 53) * 6)   // from unsure to very sure
                        for j in 0..<classes {
                            let u = Double(rng.next() >> 11) / Double(1 << 53)
                            let v = -log(max(u, 1e-12)) * (j == hot ? sharpness : 1)
                            probs[r * classes + j] = v; sum += v
                        }
                        for j in 0..<classes { probs[r * classes + j] /= sum }
                        ids.append("images/\(r).png")
                        if r < validation {   // a person's label drawn from the (calibrated) probabilities
                            var u = Double(rng.next() >> 11) / Double(1 << 53), j = 0
                            while j < classes - 1 && u >= probs[r * classes + j] { u -= probs[r * classes + j]; j += 1 }
                            human[ids[r]] = j
                        }
                    }
                    let cpu = cpuSeconds(), start = ContinuousClock.now
                    let plan = Router.plan(ids: ids, probabilities: probs, classes: classes, humanLabels: human, policy: policy)
                    let seconds = (ContinuousClock.now - start).seconds
                    Console.out(try jsonText(["items": count, "seconds": seconds, "cpu_seconds": cpuSeconds() - cpu, "accepted": plan.accepted.count,
                                              "human": plan.human.count, "threshold": plan.thresholds[0]??.value ?? -1, "max_rss_mb": maxResidentMegabytes()]))
                case "simulate":
                    let input = try source.input()
                    let set = input.labels
                    let table = try FeatureTable.load(embeddings: nil, ids: nil, input: input)
                    let classIndex = Dictionary(uniqueKeysWithValues: set.schema.classes.sorted { $0.id < $1.id }.enumerated().map { ($1.id, $0) })
                    var labelOf: [String: Int] = [:]
                    for a in set.annotations { if case .classification(let id) = a.label, let j = classIndex[id] { labelOf[a.item] = j } }
                    let labeled = table.paths.indices.filter { labelOf[table.paths[$0]] != nil }
                    let d = table.dimensions
                    policy.penalty = penalty
                    var simulation = RoutingSimulation(features: labeled.flatMap { Array(table.features[$0 * d..<($0 + 1) * d]) }, dimensions: d,
                                                       labels: labeled.map { labelOf[table.paths[$0]]! }, classes: classIndex.count, policy: policy)
                    simulation.validationPerBatch = validationPerBatch
                    var rows: [[String: Any]] = []
                    for seed in 1...seeds {
                        for r in simulation.run(rounds: rounds, seed: UInt64(seed)) {
                            rows.append(["seed": seed, "round": r.round, "threshold": r.threshold ?? -1, "validation": r.validation, "accepted": r.accepted,
                                         "accuracy": r.acceptedAccuracy ?? -1, "oracle": r.oracleAccepted, "human": r.human])
                        }
                    }
                    let accepted = rows.map { $0["accepted"] as! Int }.reduce(0, +), oracle = rows.map { $0["oracle"] as! Int }.reduce(0, +)
                    let worst = rows.compactMap { r -> Double? in let a = r["accuracy"] as! Double; return a < 0 ? nil : a }.min() ?? -1
                    Console.out(try jsonText(["rounds": rows, "accepted": accepted, "oracle": oracle, "share_of_oracle": oracle == 0 ? 0 : Double(accepted) / Double(oracle),
                                              "worst_round_accuracy": worst, "penalty": policy.penalty, "target": target]))
                default:
                    throw ValidationError("unknown task '\(task)' (plan, simulate)")
                }
            }
        }
    }
}
