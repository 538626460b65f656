import ArgumentParser
import CurateCore
import CurateStore
import CurateVersioning
import Foundation

extension Curate {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a Curate repository (.curate/) in a folder.",
            discussion: """
                The repository holds a content-addressed object store (SHA-256) and an SQLite metadata \
                database (WAL mode). Its on-disk format version is in .curate/FORMAT.

                Example:
                  curate init datasets/photos
                """)

        @Argument(help: "The dataset folder (default: the current folder).")
        var directory: String = "."

        func run() async throws {
            try await reportingErrors {
                let repo = try Repository.initialize(at: directory)
                Console.out("initialised an empty Curate repository in \(repo.root)/.curate")
            }
        }
    }
}
