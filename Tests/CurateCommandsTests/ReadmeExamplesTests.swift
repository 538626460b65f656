import CurateTestSupport
import Foundation
import Testing

/// The README's examples run as written: in a copy of the repository's data (datasets/, examples/, workflows/,
/// scripts/) after scripts/demo (what scripts/bootstrap runs after building) made its outputs, every ```sh and
/// ```bash block runs with `sh -e` from the repository root, in order, with `curate` on PATH and `/tmp/` a fresh
/// folder. A block that cannot run here says why in a `<!-- example: not run: REASON -->` line above it; its
/// verbs must still exist.
@Suite struct ReadmeExamplesTests {
    struct Block { var line: Int; var text: String; var notRun: String? }

    static func blocks(_ readme: String) -> [Block] {
        var blocks: [Block] = []
        let lines = readme.components(separatedBy: "\n")
        var i = 0
        while i < lines.count {
            let fence = lines[i].trimmingCharacters(in: .whitespaces)
            guard fence == "```sh" || fence == "```bash" else { i += 1; continue }
            let previous = i > 0 ? lines[i - 1] : ""
            var reason: String?
            if let r = previous.range(of: "<!-- example: not run: "), let end = previous.range(of: " -->") { reason = String(previous[r.upperBound..<end.lowerBound]) }
            var body: [String] = []
            var j = i + 1
            while j < lines.count, lines[j].trimmingCharacters(in: .whitespaces) != "```" { body.append(lines[j]); j += 1 }
            blocks.append(Block(line: i + 1, text: body.joined(separator: "\n"), notRun: reason))
            i = j + 1
        }
        return blocks
    }

    static func shell(_ script: String, in directory: String, path: String) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-e", "-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = path
        environment["CI"] = "1"
        environment["NO_COLOR"] = "1"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        // Output to files (a full pipe would stall a chatty example).
        let base = NSTemporaryDirectory() + "curate-readme-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer { try? FileManager.default.removeItem(atPath: base + ".out"); try? FileManager.default.removeItem(atPath: base + ".err") }
        process.standardOutput = FileHandle(forWritingAtPath: base + ".out")
        process.standardError = FileHandle(forWritingAtPath: base + ".err")
        try process.run()
        process.waitUntilExit()
        let outData = FileManager.default.contents(atPath: base + ".out") ?? Data(), errData = FileManager.default.contents(atPath: base + ".err") ?? Data()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    @Test func everyExampleRunsAsWritten() throws {
        let root = TestFixtures.repoPath("")
        let clone = ScratchDirectory()
        for folder in ["datasets", "examples", "workflows", "scripts", "README.md"] {
            try FileManager.default.copyItem(atPath: root + "/" + folder, toPath: clone.path + "/" + folder)
        }
        try? FileManager.default.removeItem(atPath: clone.path + "/examples/.venv")
        let tmp = clone.path + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let bin = (CLI.executable as NSString).deletingLastPathComponent
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let demo = try Self.shell("CURATE='\(CLI.executable)' scripts/demo", in: clone.path, path: path)
        #expect(demo.status == 0, "scripts/demo: \(demo.err.suffix(2000))")
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        let blocks = Self.blocks(readme)
        #expect(blocks.filter { $0.notRun == nil }.count >= 9 && blocks.count >= 14, "\(blocks.map(\.line))")
        for block in blocks {
            if let reason = block.notRun {
                #expect(reason.count > 10, "README line \(block.line): say why the example does not run")
                // Its verbs still exist.
                for line in block.text.split(separator: "\n") {
                    let words = line.split(separator: " ").drop { $0.contains("=") }   // PGUSER=ana …
                    guard words.first == "curate", let verb = words.dropFirst().first else { continue }
                    let help = try Self.shell("curate \(verb) --help > /dev/null", in: clone.path, path: path)
                    #expect(help.status == 0, "README line \(block.line): curate \(verb) is not a command")
                }
                continue
            }
            let script = block.text.replacingOccurrences(of: "/tmp/", with: tmp + "/")
            let run = try Self.shell(script, in: clone.path, path: path)
            // One line: the runner shows only a message's first line.
            #expect(run.status == 0, "README line \(block.line) failed (exit \(run.status)): \(run.err.suffix(1500).replacingOccurrences(of: "\n", with: " | "))")
            #expect(!run.out.isEmpty, "README line \(block.line): the example printed nothing")
        }
    }
}
