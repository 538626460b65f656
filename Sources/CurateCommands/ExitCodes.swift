import ArgumentParser
import CurateAugment
import CurateQuality
import CurateSelection
import CurateRouting
import CurateWorkflows
import CurateCore
import CurateImaging
import CurateVersioning
import Foundation

/// The one place errors become exit codes (see README, "Exit codes"): from the shared `FailureKind` of every
/// Curate error, never from message text.
enum ExitCodes {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let notFound: Int32 = 66
    /// A server (the PostgreSQL labeling store) cannot be reached (sysexits' EX_UNAVAILABLE).
    static let unavailable: Int32 = 69
    static let locked: Int32 = 75
    /// Paused until people finish their part (a workflow waiting for a labeling queue): run it again later.
    static let waiting: Int32 = 79

    static func code(for kind: FailureKind) -> Int32 {
        switch kind {
        case .notFound, .unreadable: notFound
        case .invalidData: dataError
        case .usage: usage
        case .locked, .conflict: locked
        case .waiting: waiting
        case .unavailable: unavailable
        case .internal: failure
        }
    }

    static func code(for error: any Error) -> Int32 {
        if let e = error as? any CurateError { return code(for: e.kind) }
        return failure
    }
}

/// A failure a command reports itself, with its kind.
package struct CommandFailure: CurateError {
    package var message: String
    package var kind: FailureKind
    package init(message: String, kind: FailureKind) { self.message = message; self.kind = kind }
    package var description: String { message }
}

/// Standard error, line by line (libraries never print; commands do it here).
package enum Console {
    package static func error(_ line: String) {
        StandardStreams.err("error: " + line + "\n")
    }

    package static func warning(_ line: String) {
        StandardStreams.err("warning: " + line + "\n")
    }

    package static func out(_ line: String, terminator: String = "\n") {
        StandardStreams.out(line + terminator)
    }

    /// After a command succeeded: if its output could not be written (a full disk, a closed file), say so and
    /// exit 1 instead of 0.
    static func finish() {
        guard let failure = StandardStreams.outputFailure else { return }
        error("cannot write to standard output: \(String(cString: strerror(failure)))")
        exit(ExitCodes.failure)
    }
}

/// Whether a verb runs inside another (a workflow step): its errors then go to the caller, typed, not to stderr.
package enum InProcess {
    @TaskLocal package static var active = false
}

/// Runs a command body, printing any error as one line on stderr and exiting with its mapped code (or, for a
/// verb a workflow runs in process, handing the error to the workflow as it is).
package func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch let usage as ValidationError {
        throw usage   // ArgumentParser prints it with the usage line and exits 64
    } catch {
        if InProcess.active { throw error }
        Console.error("\(error)")
        throw ExitCode(ExitCodes.code(for: error))
    }
}

extension Duration {
    /// The duration in seconds, as a Double (for rates and timings the commands print).
    package var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
