import CurateCore
import CurateTestSupport
import Foundation
import Testing

@Suite struct IssuesCommandTests {
    static let fixtures = TestFixtures.path("CurateQuality", "digits-noisy")

    func run(_ extra: [String], predictions: String = fixtures + "/predictions.npy", ids: String? = fixtures + "/ids.txt", in dir: String? = nil) throws -> CLIResult {
        var args = ["issues", "--predictions", predictions, "--labels", Self.fixtures + "/labels.csv", "--format", "csv",
                    "--images", TestFixtures.repoPath("datasets/digits")]
        if let ids { args += ["--ids", ids] }
        return try CLI.run(args + extra, in: dir)
    }

    @Test func findsTheFlippedDigitsAndGates() throws {
        let table = try run(["--top", "5"])
        #expect(table.exitCode == 0, "\(table.stderr)")
        #expect(table.stdout.hasPrefix("183 likely label errors in 1797 items (10.2%), filter prune_by_noise_rate, ranked by normalized_margin"))
        // The worst-ranked item: labeled 3, lives in images/2/, and the model says 2.
        #expect(table.stdout.contains("images/2/1111.png      3          2"))
        let json = try run(["--json", "--filter", "confident_learning"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["filter"] as? String == "confident_learning")
        #expect((object["issues"] as? [[String: Any]])?.count == object["flagged"] as? Int)
        #expect(try run(["--fail-on", "issues>20%"]).exitCode == 0)
        let gated = try run(["--fail-on", "issues>5%"])
        #expect(gated.exitCode == 65)
        #expect(gated.stderr.contains("gate failed: issues is 10.1836%, the gate fails at issues>5%"))
        #expect(try run(["--fail-on", "alpha<0.5"]).stderr.contains("this command does not measure 'alpha'"))
    }

    /// Bad predictions: a one-line error naming the file, the row and the problem; exit 65.
    @Test(arguments: [
        ("nan", "row 3 (images/2/0002.png): probability of class 1 is nan"),
        ("negative", "row 3 (images/2/0002.png): probability of class 1 is -0.5, outside [0, 1]"),
        ("sum", "row 3 (images/2/0002.png): probabilities sum to 1.5, not 1 (tolerance 0.001)"),
        ("rows", "p.npy: 3 rows but "),
        ("shape", "shape [4] is not N × K with K ≥ 2 classes"),
        ("classes", "p.npy: 2 columns, but the schema has 10 classes (columns are in class-id order)"),
        ("unknown", "p.npy: row 1: elsewhere/images/0/0000.png is not an item of the dataset"),
        ("duplicate", "row 2: images/0/0000.png already has row 1"),
    ])
    func badPredictionsAreRefused(_ kind: String, _ message: String) throws {
        let scratch = ScratchDirectory()
        var ids = ["images/0/0000.png", "images/0/0000.png", "images/2/0002.png", "images/3/0003.png"]
        if kind != "duplicate" { ids[1] = "images/1/0001.png" }
        if kind == "unknown" { ids = ids.map { "elsewhere/" + $0 } }
        var rows = (0..<4).map { i -> [Double] in (0..<10).map { $0 == i ? 0.91 : 0.01 } }
        var shape = [4, 10]
        switch kind {
        case "nan": rows[2][1] = .nan
        case "negative": rows[2][1] = -0.5; rows[2][2] += 0.5
        case "sum": rows[2][1] = 0.51
        case "rows": rows.removeLast(); shape = [3, 10]
        case "shape": shape = [4]; rows = [[0.1, 0.2, 0.3, 0.4]]
        case "classes": rows = rows.map { _ in [0.5, 0.5] }; shape = [4, 2]
        default: break
        }
        let values = rows.flatMap { $0 }
        if kind == "classes" {
            // Labels 0…3 but only 2 columns: the first item is fine, so use items labeled 2 and 3 first.
            ids = ["images/2/0002.png", "images/3/0003.png", "images/0/0000.png", "images/1/0001.png"]
        }
        scratch.write("ids.txt", ids.joined(separator: "\n") + "\n")
        _ = FileManager.default.createFile(atPath: scratch.path + "/p.npy", contents: Data(NumpyArray(shape: shape, values: values).npyBytes(float32: false)))
        let result = try run([], predictions: scratch.path + "/p.npy", ids: scratch.path + "/ids.txt")
        #expect(result.exitCode == 65, "\(kind): exit \(result.exitCode)")
        #expect(result.stderr.contains(message), "\(kind): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(kind): one line, got \(result.stderr)")
    }

    @Test func jsonlPredictionsAndTheirErrors() throws {
        let scratch = ScratchDirectory()
        let good = (0..<4).map { i in #"{"item": "images/\#(i)/000\#(i).png", "probs": [\#((0..<10).map { $0 == i ? "0.91" : "0.01" }.joined(separator: ", "))]}"# }
        scratch.write("p.jsonl", good.joined(separator: "\n") + "\n")
        let ok = try run(["--json"], predictions: scratch.path + "/p.jsonl", ids: nil)
        #expect(ok.exitCode == 0, "\(ok.stderr)")
        #expect(ok.stderr.contains("1793 labeled items have no prediction"))
        scratch.write("bad.jsonl", good[0] + "\n" + #"{"item": "images/1/0001.png", "probs": [0.5, 0.5]}"# + "\n")
        let bad = try run([], predictions: scratch.path + "/bad.jsonl", ids: nil)
        #expect(bad.exitCode == 65)
        #expect(bad.stderr.contains("bad.jsonl:2: 2 probabilities, earlier rows have 10"))
        _ = FileManager.default.createFile(atPath: scratch.path + "/x.npy", contents: Data("not numpy".utf8))
        let notNumpy = try run([], predictions: scratch.path + "/x.npy")
        #expect(notNumpy.exitCode == 65 && notNumpy.stderr.contains("x.npy: not a .npy file"))
    }
}

@Suite struct BoxIssuesCommandTests {
    /// Detections on two bundled photos: a supported box, a box the model calls another class, a labeled box the
    /// model does not see (the rocket, the spoon), a model box nobody labeled, and a low-score box that is ignored.
    @Test func flagsUnsupportedWrongClassAndMissingBoxes() throws {
        let scratch = ScratchDirectory()
        scratch.write("det.jsonl", """
            {"item": "images/astronaut.jpg", "boxes": [{"class": "person", "box": [24, 16, 340, 490], "score": 0.98}, {"class": "cup", "box": [276, 342, 224, 170], "score": 0.81}, {"class": "cat", "box": [0, 0, 50, 50], "score": 0.3}]}
            {"item": "images/coffee.jpg", "boxes": [{"class": "cup", "box": [172, 18, 240, 278], "score": 0.95}, {"class": "cat", "box": [10, 300, 80, 80], "score": 0.77}]}

            """)
        let args = ["issues", "--predictions", scratch.path + "/det.jsonl", "--labels", TestFixtures.repoPath("datasets/photos/labels.coco.json"),
                    "--format", "coco", "--images", TestFixtures.repoPath("datasets/photos")]
        let run = try CLI.run(args)
        #expect(run.exitCode == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "4 box issues in 2 items (5 labeled boxes)")
        #expect(lines.contains { $0.hasPrefix("wrong class") && $0.contains("images/astronaut.jpg") && $0.contains("helmet → cup") && $0.hasSuffix("0.81") })
        #expect(lines.contains { $0.hasPrefix("missing label") && $0.contains("images/coffee.jpg") && $0.contains("cat") })
        #expect(lines.contains { $0.hasPrefix("unsupported box") && $0.contains("rocket") })
        let json = try CLI.run(args + ["--json", "--min-score", "0.2"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["flagged"] as? Int == 5)  // the 0.3 cat counts now
        scratch.write("bad.jsonl", #"{"item": "images/coffee.jpg", "boxes": [{"class": "dragon", "box": [1, 2, 3, 4], "score": 0.5}]}"# + "\n")
        let bad = try CLI.run(["issues", "--predictions", scratch.path + "/bad.jsonl"] + args.dropFirst(3))
        #expect(bad.exitCode == 65 && bad.stderr.contains("bad.jsonl:1: boxes[0]: unknown class 'dragon'"))
    }
}
