import CurateTestSupport
@testable import CurateStore
@testable import CurateVersioning
import Foundation
import Testing

/// Attacks on `curate run`: outputs through symlinks, parameters that look like options, pid reuse, signals.
@Suite struct WorkflowSafetyTests {
    func repository() throws -> ScratchDirectory {
        let scratch = ScratchDirectory()
        _ = try scratch.copyDigits(1)
        for args in [["init"], ["add", "images"], ["commit", "-m", "one", "--author", "t"]] {
            #expect(try CLI.run(args, in: scratch.path).exitCode == 0)
        }
        return scratch
    }

    /// Attack 3: with `models -> /elsewhere`, a step's declared output `models/model.bin` deleted /elsewhere/model.bin.
    @Test func outputsThroughASymlinkLeavingTheRepositoryAreRefused() throws {
        let scratch = try repository()
        let elsewhere = ScratchDirectory()
        elsewhere.write("model.bin", "the user's model")
        #expect(symlink(elsewhere.path, scratch.path + "/models") == 0)
        scratch.write("flow.yaml", """
            name: train
            steps:
              - {name: train, run: shell, command: [sh, -c, "exit 3"], outputs: [models/model.bin]}
            """)
        let result = try CLI.run(["run", "flow.yaml"], in: scratch.path)
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("output models/model.bin: resolves to \(try canonical(elsewhere.path))/model.bin, outside the repository"), "\(result.stderr)")
        #expect(try String(contentsOfFile: elsewhere.path + "/model.bin", encoding: .utf8) == "the user's model")
        scratch.write("flow2.yaml", "steps:\n  - {name: a, run: shell, command: [\"true\"], outputs: [.curate/metadata.sqlite]}\n")
        #expect(try CLI.run(["run", "flow2.yaml"], in: scratch.path).stderr.contains("outside the repository"))
        #expect(try CLI.run(["fsck"], in: scratch.path).exitCode == 0)
    }

    /// A failed step never costs the previous output: it is put back; a step that succeeds replaces it.
    @Test func aFailedStepRestoresTheOldOutput() throws {
        let scratch = try repository()
        scratch.write("work/out.txt", "old")
        scratch.write("flow.yaml", """
            name: w
            params: {code: "3"}
            steps:
              - {name: make, run: shell, command: [sh, -c, "echo partial > work/out.txt; exit ${code}"], outputs: [work/out.txt]}
            """)
        let failed = try CLI.run(["run", "flow.yaml"], in: scratch.path)
        #expect(failed.exitCode == 1)
        #expect(failed.stderr.contains("step make failed: sh exited with 3"), "\(failed.stderr)")
        #expect(try String(contentsOfFile: scratch.path + "/work/out.txt", encoding: .utf8) == "old")
        let ok = try CLI.run(["run", "flow.yaml", "--set", "code=0"], in: scratch.path)
        #expect(ok.exitCode == 0, "\(ok.stderr)")
        #expect(try String(contentsOfFile: scratch.path + "/work/out.txt", encoding: .utf8) == "partial\n")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch.path + "/.curate/aside")) ?? []).isEmpty)
    }

    /// Attack 17: a step killed by a signal was reported as "exited with 9".
    @Test func aStepKilledByASignalSaysSo() throws {
        let scratch = try repository()
        scratch.write("flow.yaml", "steps:\n  - {name: a, run: shell, command: [sh, -c, \"kill -9 $$\"]}\n")
        let result = try CLI.run(["run", "flow.yaml"], in: scratch.path)
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("step a failed: sh was killed by signal 9"), "\(result.stderr)")
    }

    /// Attack 12: `--set "trainer=-S touch FILE"` ran touch through /usr/bin/env; `-u` dumped the environment.
    @Test(arguments: ["-S touch PWNED", "-u", "--split-string=touch PWNED"])
    func parametersAreNeverOptionsOfAnotherProgram(_ value: String) throws {
        let scratch = try repository()
        scratch.write("flow.yaml", """
            name: t
            params: {trainer: "true"}
            steps:
              - {name: train, run: shell, command: ["${trainer}", "x"]}
            """)
        let result = try CLI.run(["run", "flow.yaml", "--set", "trainer=\(value)"], in: scratch.path)
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("cannot run '\(value)': no such program on PATH"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/PWNED"))
        #expect(!result.stdout.contains("PATH="))
        #expect(try CLI.run(["run", "flow.yaml"], in: scratch.path).exitCode == 0)
    }

    /// Attack 11: `run --resume` signalled whatever process had the recorded pid.
    /// Ctrl-C during a step: the run is recorded as paused (not left running), the step's process is stopped, and
    /// the resume hint, pasted as printed from another folder, works (it names the repository).
    @Test(arguments: [SIGINT, SIGTERM])
    func anInterruptedRunIsPausedWithAHintThatWorks(_ signal: Int32) throws {
        let scratch = try repository()
        scratch.write("flow.yaml", """
            name: stoppable
            params: {note: x}
            steps:
              - name: slow
                run: shell
                command: [sh, -c, "printf half > work/slow.txt; if [ ! -e fast ]; then sleep 60; fi; echo full > work/slow.txt; : stoppable-\(signal)"]
                outputs: [work/slow.txt]
            """)
        let elsewhere = ScratchDirectory()
        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: CLI.executable)
        runner.arguments = ["run", scratch.path + "/flow.yaml", "--repo", scratch.path, "--set", "note=a b"]
        runner.currentDirectoryURL = URL(fileURLWithPath: elsewhere.path)
        let errors = Pipe()
        runner.standardOutput = FileHandle.nullDevice
        runner.standardError = errors
        try runner.run()
        for _ in 0..<300 where (try? String(contentsOfFile: scratch.path + "/work/slow.txt", encoding: .utf8)) != "half" { Thread.sleep(forTimeInterval: 0.05) }
        kill(runner.processIdentifier, signal)
        runner.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(runner.terminationStatus == 128 + signal, "\(stderr)")
        let hint = "curate run \(scratch.path)/flow.yaml --resume --repo \(scratch.path) --set 'note=a b'"
        #expect(stderr.contains((signal == SIGINT ? "interrupted (Ctrl-C)" : "stopped (SIGTERM)") + " during step slow; to continue: " + hint), "\(stderr)")
        let runs = try CLI.run(["runs", "--json"], in: scratch.path).stdout
        #expect(runs.contains(#""status":"paused""#) && !runs.contains(#""status":"running""#), "\(runs)")
        // The step's sleep was stopped with it.
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        pgrep.arguments = ["-f", "stoppable-\(signal)"]
        try pgrep.run()
        pgrep.waitUntilExit()
        #expect(pgrep.terminationStatus == 1, "the step's process outlived the run")
        // The hint as printed, from the same folder: the run resumes and finishes.
        scratch.write("fast", "")
        let args = ["run", scratch.path + "/flow.yaml", "--resume", "--repo", scratch.path, "--set", "note=a b"]
        let resumed = try CLI.run(args, in: elsewhere.path)
        #expect(resumed.exitCode == 0 && resumed.stdout.contains("resuming run"), "\(resumed.stderr)")
        #expect((try? String(contentsOfFile: scratch.path + "/work/slow.txt", encoding: .utf8)) == "full\n")
    }

    @Test func resumeNeverSignalsAProcessThatReusedThePid() throws {
        let scratch = try repository()
        scratch.write("flow.yaml", """
            name: killable
            steps:
              - name: slow
                run: shell
                command: [sh, -c, "printf half > work/slow.txt; if [ ! -e fast ]; then sleep 60; fi; echo full > work/slow.txt"]
                outputs: [work/slow.txt]
            """)
        // An unrelated process, started well before (start times count in clock ticks of 10 ms).
        let bystander = Process()
        bystander.executableURL = URL(fileURLWithPath: "/bin/sleep")
        bystander.arguments = ["30"]
        try bystander.run()
        defer { bystander.terminate() }
        Thread.sleep(forTimeInterval: 0.1)
        let runner = try CLI.start(["run", "flow.yaml"], in: scratch.path)
        for _ in 0..<300 where (try? String(contentsOfFile: scratch.path + "/work/slow.txt", encoding: .utf8)) != "half" { Thread.sleep(forTimeInterval: 0.05) }
        kill(runner.processIdentifier, SIGKILL)
        runner.waitUntilExit()
        // The step's process is still there (sleep 60); an unrelated process now "has" the recorded pid.
        let store = try SQLiteStore.open(curateDirectory: scratch.path + "/.curate")
        try store.write("pid reuse") { db in
            try db.execute(sql: "UPDATE workflow_steps SET pid = ? WHERE status = 'running'", arguments: [bystander.processIdentifier])
        }
        scratch.write("fast", "")
        let resumed = try CLI.run(["run", "flow.yaml", "--resume"], in: scratch.path)
        #expect(resumed.exitCode == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("process \(bystander.processIdentifier), recorded for the killed run's step, is now another program (pid reused): left alone"), "\(resumed.stdout)")
        #expect(bystander.isRunning, "resume signalled an unrelated process")
        // The real leftover is cleaned up by the test.
        let pkill = Process()
        pkill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        pkill.arguments = ["-f", "printf half > work/slow.txt"]
        try pkill.run()
        pkill.waitUntilExit()
    }

    /// A run killed mid-step left the old output aside: the resumed step that fails puts the original back (not
    /// the killed attempt's half-written file); one that succeeds replaces it and leaves nothing aside.
    @Test func aResumedStepRestoresTheOriginalOutputAfterAKill() throws {
        let scratch = try repository()
        scratch.write("work/out.txt", "original")
        scratch.write("flow.yaml", """
            name: w
            params: {code: "0"}
            steps:
              - name: make
                run: shell
                command: [sh, -c, "printf half > work/out.txt; if [ ! -e go ]; then sleep 60; fi; exit ${code}"]
                outputs: [work/out.txt]
            """)
        let runner = try CLI.start(["run", "flow.yaml"], in: scratch.path)
        for _ in 0..<300 where (try? String(contentsOfFile: scratch.path + "/work/out.txt", encoding: .utf8)) != "half" { Thread.sleep(forTimeInterval: 0.05) }
        kill(runner.processIdentifier, SIGKILL)
        runner.waitUntilExit()
        scratch.write("go", "")
        let failed = try CLI.run(["run", "flow.yaml", "--resume", "--set", "code=4"], in: scratch.path)
        #expect(failed.exitCode == 1, "\(failed)")
        #expect(try String(contentsOfFile: scratch.path + "/work/out.txt", encoding: .utf8) == "original")
        let done = try CLI.run(["run", "flow.yaml", "--resume", "--set", "code=0"], in: scratch.path)
        #expect(done.exitCode == 0, "\(done)")
        #expect(try String(contentsOfFile: scratch.path + "/work/out.txt", encoding: .utf8) == "half")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch.path + "/.curate/aside")) ?? []).isEmpty)
        let pkill = Process()
        pkill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        pkill.arguments = ["-f", "printf half > work/out.txt"]
        try pkill.run()
        pkill.waitUntilExit()
    }
}
