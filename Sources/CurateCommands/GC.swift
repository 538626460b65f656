import ArgumentParser
import CurateCore
import CurateVersioning
import CurateQuality
import Foundation

extension Curate {
    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Remove objects that no commit or tracked file refers to.",
            discussion: "Leftovers of interrupted operations are removed; mostly-dead packs are rewritten.\n\nExample:\n  curate gc")

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                let report = try repo.gc(wait: writer.wait)
                Console.out("removed \(report.objectsRemoved) objects and \(report.packsRemoved) packs, rewrote \(report.packsRewritten) packs, freed \(report.bytesFreed) bytes")
            }
        }
    }
}
