import CurateCore
import CurateImaging
import CurateTestSupport
import Foundation
import Testing

@Suite struct ValidateCommandTests {
    static let crowd = ["--labels", TestFixtures.repoPath("datasets/digits/crowd.jsonl"), "--format", "jsonl",
                        "--images", TestFixtures.repoPath("datasets/digits"), "--gold", TestFixtures.repoPath("datasets/digits/gold.csv")]

    /// The bundled simulated crowd: the three fraudulent annotators are likely spam, the one who reads 3 as 8 is
    /// for review with that evidence, the careful ones are trusted.
    @Test func annotatorsOnTheBundledCrowd() throws {
        let run = try CLI.run(["annotators"] + Self.crowd)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "8 annotators, 1200 answers on 400 items, consensus dawid-skene")
        func row(_ name: String) -> String { lines.first { $0.hasPrefix(name + " ") } ?? "" }
        for name in ["ana", "ben", "cleo", "dev"] { #expect(row(name).contains("trusted"), "\(row(name))") }
        #expect(row("eli").contains("review") && row("eli").contains("reads class 3 as 8"))
        for name in ["fay", "gus", "hal"] { #expect(row(name).contains("likely spam"), "\(row(name))") }
        let json = try CLI.run(["annotators", "--json", "--consensus", "mace"] + Self.crowd)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let annotators = try #require(object["annotators"] as? [[String: Any]])
        #expect(annotators.count == 8)
        let hal = try #require(annotators.first { $0["annotator"] as? String == "hal" })
        #expect((hal["evidence"] as? [String])?.contains { $0.hasPrefix("median 0.40 s per item") } == true)
        let gated = try CLI.run(["annotators", "--fail-on", "spam>0"] + Self.crowd)
        #expect(gated.exitCode == 65 && gated.stderr.contains("gate failed: spam is 3, the gate fails at spam>0"))
    }

    @Test func validateReportsAgreementConsensusAndWritesIt() throws {
        let scratch = ScratchDirectory()
        let run = try CLI.run(["validate", "--decode", "--consensus-out", scratch.path + "/consensus.jsonl"] + Self.crowd)
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("400 items, 1200 labels: 0 findings\nagreement of 8 annotators on 400 items: alpha "))
        #expect(run.stdout.contains("likely spam: fay, gus, hal"))
        let written = try String(contentsOfFile: scratch.path + "/consensus.jsonl", encoding: .utf8)
        #expect(written.components(separatedBy: "\"source\":\"consensus\"").count - 1 == 400)
        // The HTML report: self-contained, with its charts and thumbnails inline.
        let page = try CLI.run(["validate", "--report", scratch.path + "/report.html"] + Self.crowd)
        #expect(page.exitCode == 0 && page.stdout.hasSuffix("report: \(scratch.path)/report.html\n"))
        let html = try String(contentsOfFile: scratch.path + "/report.html", encoding: .utf8)
        for section in ["Class balance", "Agreement per class", "Answers against the consensus", "Annotator speed and agreement", "Least certain consensus"] {
            #expect(html.contains("<h2>\(section)</h2>"), "no \(section)")
        }
        #expect(html.components(separatedBy: "<svg").count - 1 == 4)
        #expect(html.contains("src=\"data:image/jpeg;base64,"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http"))
        #expect(html.contains("reads class 3 as 8"))
        let gated = try CLI.run(["validate", "--fail-on", "alpha<0.6,issues>5%"] + Self.crowd)
        #expect(gated.exitCode == 65)
        #expect(gated.stderr.hasPrefix("error: gate failed: alpha is 0.29"))
        #expect(!gated.stderr.contains("issues"))
    }

    /// Boxes: empty, degenerate, out of bounds, duplicate, an unlabeled item; box agreement between annotators.
    @Test func geometryFindings() throws {
        let scratch = ScratchDirectory()
        scratch.write("l.jsonl", """
            {"schema": {"classes": [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}]}}
            {"path": "a.png", "width": 100, "height": 80, "labels": [{"class": "cat", "box": [10, 10, 0, 20], "source": "annotator:a"}, {"class": "dog", "box": [5, 5, 0.5, 9], "source": "annotator:a"}]}
            {"path": "d.png", "width": 100, "height": 80, "labels": [{"class": "cat", "box": [90, 70, 30, 30], "source": "annotator:a"}]}
            {"path": "b.png", "width": 100, "height": 80, "labels": [{"class": "dog", "box": [10, 10, 40, 40], "source": "annotator:a"}, {"class": "dog", "box": [10, 10, 40, 40.5], "source": "annotator:a"}, {"class": "dog", "box": [12, 10, 40, 40], "source": "annotator:b"}]}
            {"path": "c.png", "width": 100, "height": 80, "labels": []}

            """)
        for name in ["a.png", "b.png", "d.png"] { scratch.write(name, "") }
        let run = try CLI.run(["validate", "--labels", "l.jsonl", "--format", "jsonl", "--json"], in: scratch.path)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let kinds = ((object["findings"] as? [[String: Any]]) ?? []).compactMap { $0["kind"] as? String }
        // The reader rejects the box leaving the image and the missing c.png; the checks see the rest.
        #expect(kinds.sorted() == ["degenerate box", "duplicate box", "empty box", "invalid record", "invalid record"], "\(kinds)")
        let messages = ((object["findings"] as? [[String: Any]]) ?? []).compactMap { $0["message"] as? String }
        #expect(messages.contains { $0.contains("extends outside the 100x80 image") } && messages.contains { $0.contains("missing image 'c.png'") })
        let box = try #require(object["box_agreement"] as? [String: Any])
        #expect(box["pairs"] as? Int == 1)
        #expect((box["f1_at_0.5"] as? Double).map { abs($0 - 2.0 / 3.0) < 1e-9 } == true)
        let bad = try CLI.run(["validate", "--labels", "l.jsonl", "--format", "jsonl", "--fail-on", "issues>10%"], in: scratch.path)
        #expect(bad.exitCode == 65 && bad.stderr.contains("issues is 250%"), "\(bad.stderr)")
    }

    @Test func badInputsAreRefused() throws {
        let scratch = ScratchDirectory()
        scratch.write("gold.csv", "path,label\nimages/0/0000.png,eleven\n")
        let gold = try CLI.run(["annotators", "--labels", TestFixtures.repoPath("datasets/digits/crowd.jsonl"), "--format", "jsonl",
                                "--images", TestFixtures.repoPath("datasets/digits"), "--gold", scratch.path + "/gold.csv"])
        #expect(gold.exitCode == 65 && gold.stderr.contains("gold.csv:2: unknown class 'eleven'"))
        let noCrowd = try CLI.run(["annotators", "--labels", TestFixtures.repoPath("datasets/digits/labels.csv"), "--format", "csv",
                                   "--images", TestFixtures.repoPath("datasets/digits")])
        #expect(noCrowd.exitCode == 65 && noCrowd.stderr.contains("no classification labels with an annotator:ID source"))
        let gate = try CLI.run(["validate", "--fail-on", "alpha=0.5"] + Self.crowd)
        #expect(gate.exitCode == 65 && gate.stderr.contains("--fail-on: 'alpha=0.5' is not metric<value or metric>value"))
    }
}

@Suite struct DuplicateFindingTests {
    /// 20 digits, an exact copy of one under another label, a near copy (one pixel changed) of another, and
    /// embeddings with a near-identical pair and one far-away row.
    @Test func exactNearConflictingAndOutliers() throws {
        let scratch = ScratchDirectory()
        let labels = try String(contentsOfFile: TestFixtures.repoPath("datasets/digits/labels.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().prefix(20).map { $0.split(separator: ",").map(String.init) }
        var csv = "path,label\n"
        for row in labels {
            try FileManager.default.createDirectory(atPath: scratch.path + "/" + (row[0] as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: TestFixtures.repoPath("datasets/digits/" + row[0]), toPath: scratch.path + "/" + row[0])
            csv += "\(row[0]),\(row[1])\n"
        }
        try FileManager.default.copyItem(atPath: scratch.path + "/" + labels[3][0], toPath: scratch.path + "/copy.png")
        csv += "copy.png,7\n"
        var near = try ImageDecoder().decode(fileAt: scratch.path + "/" + labels[5][0], format: .gray8).pixels
        near.bytes[0] = near.bytes[0] &+ 3
        try Data(try ImageEncoder().encode(near, as: .png)).write(to: URL(fileURLWithPath: scratch.path + "/near.png"))
        csv += "near.png,\(labels[5][1])\n"
        scratch.write("labels.csv", csv)
        let run = try CLI.run(["validate", "--labels", "labels.csv", "--format", "csv", "--duplicates", "--json"], in: scratch.path)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let findings = (object["findings"] as? [[String: Any]]) ?? []
        func has(_ kind: String, _ item: String) -> Bool { findings.contains { $0["kind"] as? String == kind && $0["item"] as? String == item } }
        #expect(has("exact duplicate", "copy.png"))
        #expect(has("conflicting duplicate", "copy.png"))
        #expect(has("near duplicate", "near.png"))
        #expect(!has("conflicting duplicate", "near.png"))

        // Embeddings: rows 0…21 near a common direction, row 5 and 6 almost equal, row 21 pointing elsewhere.
        var rng = SplitMix64(seed: 3)
        var rows: [[Double]] = (0..<22).map { _ in (0..<8).map { _ in 1 + Double(rng.next() % 1000) / 1000 } }
        rows[6] = rows[5].map { $0 + 1e-4 }
        rows[21] = [-1, 1, -1, 1, -1, 1, -1, 1]
        _ = FileManager.default.createFile(atPath: scratch.path + "/e.npy", contents: Data(NumpyArray(shape: [22, 8], values: rows.flatMap { $0 }).npyBytes()))
        let ids = labels.map { $0[0] } + ["copy.png", "near.png"]
        scratch.write("ids.txt", ids.joined(separator: "\n") + "\n")
        let embedded = try CLI.run(["validate", "--labels", "labels.csv", "--format", "csv", "--embeddings", "e.npy", "--embedding-ids", "ids.txt", "--json"], in: scratch.path)
        let found = ((try JSONSerialization.jsonObject(with: Data(embedded.stdout.utf8)) as? [String: Any])?["findings"] as? [[String: Any]]) ?? []
        #expect(found.contains { $0["kind"] as? String == "near duplicate" && $0["item"] as? String == ids[6] })
        #expect(found.contains { $0["kind"] as? String == "outlier" && $0["item"] as? String == "near.png" })
        #expect(found.filter { $0["kind"] as? String == "outlier" }.count == 1)
        scratch.write("short.txt", "a\n")
        let bad = try CLI.run(["validate", "--labels", "labels.csv", "--format", "csv", "--embeddings", "e.npy", "--embedding-ids", "short.txt"], in: scratch.path)
        #expect(bad.exitCode == 65 && bad.stderr.contains("e.npy: 22 rows but short.txt lists 1 ids"))
    }
}
