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
