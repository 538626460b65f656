import CurateTestSupport
import Foundation
import Testing

@Suite struct QueueCommandTests {
    /// A repository of 60 digits (20 labeled): select a batch, queue it with overlap 2 and gold, answer from two
    /// annotators by script, export the answers and validate them.
    @Test func queueFromABatchAnswerAndExport() throws {
        let scratch = ScratchDirectory()
        let digits = try scratch.copyDigits(60)
        let rows = digits.map { "\($0.path),\($0.label)" }
        let truth = Dictionary(uniqueKeysWithValues: digits.map { ($0.path, $0.label) })
        let csv = "path,label\n" + rows.prefix(20).joined(separator: "\n") + "\n"
        scratch.write("labels.csv", csv)
        #expect(try CLI.run(["init"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["add", "images", "--labels", "labels.csv", "--format", "csv"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["commit", "-m", "digits", "--author", "t"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["select", "--strategy", "margin", "--budget", "10", "--out", "batch.jsonl"], in: scratch.path).exitCode == 0)
        let goldPath = digits[0].path
        scratch.write("gold.csv", "path,label\n\(goldPath),\(truth[goldPath]!)\n")
        let create = try CLI.run(["queue", "create", "round1", "--from", "batch.jsonl", "--overlap", "2", "--gold", "gold.csv", "--gold-rate", "0.2"], in: scratch.path)
        #expect(create.exitCode == 0, "\(create.stderr)")
        #expect(create.stdout == "queue round1: 10 items + 1 gold, task classify, overlap 2\n")
        // Two annotators answer everything they are served, truthfully.
        for annotator in ["ana", "ben"] {
            while true {
                let next = try CLI.run(["queue", "next", "round1", "--annotator", annotator], in: scratch.path)
                if next.exitCode != 0 { #expect(next.stdout.hasPrefix("nothing left for \(annotator)")); break }
                let item = next.stdout.trimmingCharacters(in: .newlines)
                let stored = try CLI.run(["queue", "answer", "round1", "--annotator", annotator, "--item", item, "--label", truth[item]!, "--seconds", "2"], in: scratch.path)
                #expect(stored.exitCode == 0, "\(stored.stderr)")
            }
        }
        let show = try CLI.run(["queue", "show", "round1"], in: scratch.path)
        #expect(show.stdout.contains("11 of 11 items done (1 gold), 22 answers, 0 leased now"))
        #expect(show.stdout.contains("annotators: ana, ben"))
        #expect(try CLI.run(["queue", "list"], in: scratch.path).stdout.contains("round1  classify"))
        let export = try CLI.run(["queue", "export", "round1", "--out", "answers.jsonl"], in: scratch.path)
        #expect(export.stdout.hasPrefix("22 answers on 11 items written to answers.jsonl"))
        let validate = try CLI.run(["validate", "--labels", "answers.jsonl", "--format", "jsonl", "--images", "."], in: scratch.path)
        #expect(validate.exitCode == 0 && validate.stdout.contains("agreement of 2 annotators on 11 items: alpha 1.000"), "\(validate.stdout)\(validate.stderr)")
        // Errors: an unknown queue, a class outside the schema, an untracked item, a closed queue.
        #expect(try CLI.run(["queue", "next", "nope", "--annotator", "ana"], in: scratch.path).stderr.contains("no queue named nope (queues: round1)"))
        #expect(try CLI.run(["queue", "answer", "round1", "--annotator", "ana", "--item", goldPath, "--label", "eleven"], in: scratch.path).exitCode == 65)
        scratch.write("bad.jsonl", #"{"item": "images/none.png"}"# + "\n")
        #expect(try CLI.run(["queue", "create", "r2", "--from", "bad.jsonl"], in: scratch.path).stderr.contains("images/none.png: not a tracked file at HEAD"))
        #expect(try CLI.run(["queue", "close", "round1"], in: scratch.path).exitCode == 0)
        #expect(try CLI.run(["queue", "next", "round1", "--annotator", "cleo"], in: scratch.path).stderr.contains("queue round1 is closed"))
    }

    /// Box queues check the batch's suggested boxes when they are created, not mid-session.
    @Test func badBoxSuggestionsAreRefusedAtCreate() throws {
        let scratch = ScratchDirectory()
        let digit = try scratch.copyDigits(1)[0]
        scratch.write("labels.csv", "path,label\n\(digit.path),\(digit.label)\n")
        for args in [["init"], ["add", "images", "--labels", "labels.csv", "--format", "csv"], ["commit", "-m", "d", "--author", "t"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        scratch.write("a.jsonl", #"{"item": "\#(digit.path)", "suggestion": {"boxes": [{"class": "dragon", "x": 1, "y": 1, "w": 2, "h": 2}]}}"# + "\n")
        let unknown = try CLI.run(["queue", "create", "b", "--task", "boxes", "--from", "a.jsonl"], in: scratch.path)
        #expect(unknown.exitCode == 65 && unknown.stderr.contains("\(digit.path): suggested box with class dragon, not a class of the schema"), "\(unknown.stderr)")
        scratch.write("b.jsonl", #"{"item": "\#(digit.path)", "suggestion": {"boxes": [{"class": "\#(digit.label)", "x": 1, "y": 1, "w": -2, "h": 2}]}}"# + "\n")
        let negative = try CLI.run(["queue", "create", "b", "--task", "boxes", "--from", "b.jsonl"], in: scratch.path)
        #expect(negative.exitCode == 65 && negative.stderr.contains("\(digit.path): suggested box needs finite x, y and positive w, h"))
        #expect(try CLI.run(["queue", "list"], in: scratch.path).stdout.contains("no queues"))
    }
}
