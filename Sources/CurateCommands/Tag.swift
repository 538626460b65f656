import ArgumentParser
import CurateCore
import CurateStore
import CurateVersioning
import Foundation

extension Curate {
    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Name a commit (or list tags).",
            discussion: "Examples:\n  curate tag v1\n  curate tag baseline HEAD~2\n  curate tag")

        @Argument(help: "The tag name; omit to list tags.")
        var name: String?

        @Argument(help: "The revision to tag.")
        var revision: String = "HEAD"

        @OptionGroup var writer: WriterOptions
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let repo = try repository.open()
                guard let name else {
                    for (tag, id) in try repo.tags().sorted(by: { $0.key < $1.key }) { Console.out("\(tag)\t\(id.short())") }
                    return
                }
                let id = try repo.tag(name, at: revision, wait: writer.wait)
                Console.out("tagged \(id.short()) as \(name)")
            }
        }
    }
}
