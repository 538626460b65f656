import CurateCore
import CurateTestSupport
import Foundation
import Testing

@Suite struct ShardingTests {
    static let paths = (0..<20_000).map { "images/\($0 % 10)/\(String(format: "%05d", $0)).png" }

    /// Every item is in exactly one shard, the shards are within 10% of even, and the assignment is a function of
    /// the path and the count alone (pinned values guard it across releases: parts from two versions must agree).
    @Test func assignsEachPathToOneShardStably() {
        for count in [1, 2, 3, 7, 16] {
            var sizes = [Int](repeating: 0, count: count)
            for path in Self.paths {
                let bucket = Shard.bucket(path, count: count)
                #expect((0..<count).contains(bucket))
                sizes[bucket] += 1
                #expect((0..<count).filter { Shard(index: $0, count: count).owns(path) } == [bucket])
            }
            let even = Double(Self.paths.count) / Double(count)
            #expect(sizes.allSatisfy { abs(Double($0) - even) < 0.1 * even }, "\(count) shards: \(sizes)")
        }
        let pinned: [Int] = [Shard.bucket("a.png", count: 7), Shard.bucket("images/3/0003.png", count: 7), Shard.bucket("images/3/0003.png", count: 2)]
        #expect(pinned == [4, 2, 0])
    }

    /// Jump consistent hashing: from N to N + 1 shards, an item either stays or moves to the new shard.
    @Test func growingTheCountOnlyMovesItemsToTheNewShard() {
        for count in 1..<9 {
            for path in Self.paths.prefix(3000) {
                let before = Shard.bucket(path, count: count), after = Shard.bucket(path, count: count + 1)
                #expect(after == before || after == count)
            }
        }
    }

    @Test func readsTheFlagAndTheSchedulersVariables() throws {
        #expect(try Shard.resolve(flag: "2/7", shards: nil, environment: ["JOB_COMPLETION_INDEX": "5"]) == Shard(index: 2, count: 7))
        #expect(try Shard.resolve(flag: nil, shards: 4, environment: ["JOB_COMPLETION_INDEX": "3"]) == Shard(index: 3, count: 4))
        #expect(try Shard.resolve(flag: nil, shards: nil, environment: ["JOB_COMPLETION_INDEX": "0", "CURATE_SHARDS": "2"]) == Shard(index: 0, count: 2))
        let slurm = ["SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_COUNT": "3"]
        #expect(try Shard.resolve(flag: nil, shards: nil, environment: slurm) == Shard(index: 2, count: 3))
        #expect(try Shard.resolve(flag: nil, shards: nil, environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"]) == Shard(index: 1, count: 2))

        func refusal(_ flag: String?, _ shards: Int?, _ environment: [String: String]) -> String? {
            do { _ = try Shard.resolve(flag: flag, shards: shards, environment: environment); return nil } catch {
                #expect(error.kind == .usage)
                return error.message
            }
        }
        #expect(refusal("3/3", nil, [:])?.contains("expected I/N with 0 ≤ I < N") == true)
        #expect(refusal("1/0", nil, [:]) != nil)
        #expect(refusal("x", nil, [:]) != nil)
        #expect(refusal("1/4", 3, [:])?.contains("disagree") == true)
        #expect(refusal(nil, nil, ["JOB_COMPLETION_INDEX": "1"])?.contains("pass --shards N or set CURATE_SHARDS") == true)
        #expect(refusal(nil, 2, ["JOB_COMPLETION_INDEX": "2"])?.contains("not below the shard count 2") == true)
        #expect(refusal(nil, nil, ["JOB_COMPLETION_INDEX": "-1", "CURATE_SHARDS": "2"])?.contains("JOB_COMPLETION_INDEX=-1") == true)
        #expect(refusal(nil, nil, ["SLURM_ARRAY_TASK_ID": "3"])?.contains("SLURM_ARRAY_TASK_COUNT") == true)
        #expect(refusal(nil, nil, slurm.merging(["SLURM_ARRAY_TASK_ID": "13"]) { $1 })?.contains("outside the array") == true)
        #expect(refusal(nil, nil, slurm.merging(["SLURM_ARRAY_TASK_STEP": "2"]) { $1 })?.contains("consecutive") == true)
        #expect(refusal(nil, nil, [:])?.contains("needs its shard") == true)
    }

    func writeRun(_ root: String, count: Int, inputs: String = "in", parameters: String = "p", tool: String = "curate 0.1.0", verb: String = "issues") throws {
        for i in 0..<count {
            let manifest = ShardManifest(verb: verb, shard: Shard(index: i, count: count), inputs: inputs, parameters: parameters, tool: tool, items: i)
            try ShardParts.write(manifest, to: root) { _ in ShardOutput(items: i, files: ["part.json": Data("{\"shard\": \(i)}".utf8)]) }
        }
    }

    func refusal(_ paths: [String]) -> ShardError? {
        do { _ = try ShardParts.collect(paths); return nil } catch { return error }
    }

    @Test func collectsACompleteRunAndChecksEachFile() throws {
        let scratch = ScratchDirectory()
        try writeRun(scratch.path + "/parts", count: 3)
        let parts = try ShardParts.collect([scratch.path + "/parts"])
        #expect(parts.map(\.manifest.shard) == [0, 1, 2])
        #expect(try parts[2].data("part.json") == Data("{\"shard\": 2}".utf8))
        // A rerun of a shard replaces its part whole.
        try writeRun(scratch.path + "/parts", count: 3)
        #expect(try ShardParts.collect([scratch.path + "/parts"]).count == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/parts").sorted() == ["shard-0-of-3", "shard-1-of-3", "shard-2-of-3"])
        // A damaged file is named.
        scratch.write("parts/shard-1-of-3/part.json", "{\"shard\": 9}")
        #expect(throws: ShardError.self) { try parts[1].data("part.json") }
        do { _ = try parts[1].data("part.json") } catch { #expect(error.message.contains("shard-1-of-3/part.json: its contents do not match the manifest's digest")) }
    }

    @Test func refusesMissingDuplicatedAndMismatchedShards() throws {
        let scratch = ScratchDirectory()
        let root = scratch.path
        try writeRun(root + "/a", count: 3)
        try FileManager.default.removeItem(atPath: root + "/a/shard-1-of-3")
        let missing = refusal([root + "/a"])
        #expect(missing?.kind == .notFound)
        #expect(missing?.message.contains("shard 1 of 3 missing (2 of 3 parts found)") == true)

        try writeRun(root + "/b", count: 3)
        #expect(refusal([root + "/a", root + "/b"])?.message.contains("appears twice") == true)
        #expect(refusal([root + "/a", root + "/b/shard-1-of-3"]) == nil)

        for (name, change) in [("inputs", { try self.writeRun(root + "/c", count: 3, inputs: "other") }),
                               ("parameters", { try self.writeRun(root + "/c", count: 3, parameters: "other") }),
                               ("tool", { try self.writeRun(root + "/c", count: 3, tool: "curate 9") }),
                               ("verb", { try self.writeRun(root + "/c", count: 3, verb: "select") }),
                               ("count", { try self.writeRun(root + "/c", count: 4) })] as [(String, () throws -> Void)] {
            try? FileManager.default.removeItem(atPath: root + "/c")
            try change()
            let error = refusal([root + "/a", root + "/c/shard-1-of-\(name == "count" ? 4 : 3)"])
            #expect(error?.kind == .invalidData, "\(name)")
            #expect(error?.message.contains("shard-1-of-") == true, "\(name): \(error?.message ?? "")")
        }
        #expect(refusal([root + "/nothing"])?.kind == .notFound)
        scratch.write("empty/readme.txt", "x")
        #expect(refusal([root + "/empty"])?.message.contains("holds no part") == true)
    }
}

/// A shard's reader of a CSV label file skips the other shards' records but numbers classes as a whole read does.
@Suite struct ShardReadingTests {
    @Test func csvReaderSkipsOtherShardsButKeepsTheClassNumbering() throws {
        let scratch = ScratchDirectory()
        // Each class name first appears on a different item, and only "zebra" is multi-label; the skipped rows'
        // images do not exist (a shard never looks at them).
        var csv = "path,label\n"
        let names = ["zebra|ant", "bee", "cat", "dog", "eel", "fox", "gnu"]
        for (i, name) in names.enumerated() { csv += "img/\(i).png,\(name)\n" }
        for i in names.count..<200 { csv += "img/\(i).png,\(["ant", "bee", "cat"][i % 3])\n" }
        try csv.write(toFile: scratch.path + "/labels.csv", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: scratch.path + "/img", withIntermediateDirectories: true)
        for i in 0..<200 { _ = FileManager.default.createFile(atPath: scratch.path + "/img/\(i).png", contents: Data()) }
        let whole = try LabelFormat.csv.read(from: scratch.path + "/labels.csv", options: LabelReadOptions(imagesRoot: scratch.path)).labelSet
        var seen = 0
        for index in 0..<3 {
            let shard = Shard(index: index, count: 3)
            // The shard's own images exist; remove the others' to show they are not checked.
            let readerRoot = scratch.path + "/shard-\(index)"
            try FileManager.default.createDirectory(atPath: readerRoot + "/img", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: scratch.path + "/labels.csv", toPath: readerRoot + "/labels.csv")
            for i in 0..<200 where shard.owns("img/\(i).png") { _ = FileManager.default.createFile(atPath: readerRoot + "/img/\(i).png", contents: Data()) }
            var options = LabelReadOptions(imagesRoot: readerRoot)
            options.keep = { shard.owns($0) }
            let part = try LabelFormat.csv.read(from: readerRoot + "/labels.csv", options: options).labelSet
            #expect(part.schema == whole.schema)
            #expect(part.items.map(\.path) == whole.items.map(\.path).filter { shard.owns($0) })
            #expect(part.annotations == whole.annotations.filter { shard.owns($0.item) })
            seen += part.items.count
            // Lenient reads every record (a skipped invalid one must not name a class): the others' images are missing.
            options.lenient = true
            let lenient = try LabelFormat.csv.read(from: readerRoot + "/labels.csv", options: options)
            #expect(lenient.skipped.count == 200 - part.items.count)
        }
        #expect(seen == 200)
    }
}

@Suite struct TextTests {
    /// The readers' trim is Foundation's `.whitespaces` trim: tabs and space separators, not newlines.
    @Test func trimmingWhitespaceMatchesFoundation() {
        let samples = ["", " ", "\t\t", "a", " a ", "\ta b\t", "\u{00A0}cat\u{3000}", "\u{2003} x", "dog\n", "\n dog \n", " é ", "a\u{200B}"]
        for s in samples { #expect(s.trimmingWhitespace() == s.trimmingCharacters(in: .whitespaces), "\(s.unicodeScalars.map(\.value))") }
        #expect("  x|y ".split(separator: "|").map { $0.trimmingWhitespace() } == ["x", "y"])
        // Every scalar Foundation calls whitespace, and no other, is trimmed.
        let differing = (0...0x10FFFF as ClosedRange<UInt32>).compactMap(Unicode.Scalar.init).filter { scalar in
            let s = "a" + String(scalar) + "b", padded = String(scalar) + "ab"
            return (padded.trimmingWhitespace() == "ab") != CharacterSet.whitespaces.contains(scalar) || s.trimmingWhitespace() != s
        }
        #expect(differing.isEmpty, "\(differing.map(\.value))")
    }
}
