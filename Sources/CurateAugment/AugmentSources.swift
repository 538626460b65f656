import CurateCore
import CurateImaging
import CurateVersioning
import Foundation

/// Where `curate augment` reads its images and labels from.
package enum AugmentSources {
    /// What loading found: the sources, one line per source that could not be read, and the label schema.
    package struct Loaded: Sendable {
        package var sources: [AugmentSource]
        package var failures: [String]
        package var schema: LabelSchema
    }

    /// Every image file of a revision (files with an image size) whose path matches `paths`, with its labels.
    /// Only the bytes of files `keep` accepts are read (the others are listed without them, for a shard).
    package static func load(repository: Repository, revision: String, paths: [String], keep: (String) -> Bool = { _ in true }) throws(VersioningError) -> Loaded {
        let set = try repository.labels(at: revision)
        let grouped = set.annotationsByItem()
        var loaded = Loaded(sources: [], failures: [], schema: set.schema)
        for file in try repository.files(at: revision) where file.width != nil && matches(file.path, paths) {
            do throws(VersioningError) {
                loaded.sources.append(AugmentSource(path: file.path, contentHash: file.hash.hex, bytes: keep(file.path) ? Array(try repository.data(of: file.hash)) : [],
                                                    annotations: grouped[file.path] ?? []))
            } catch {
                loaded.failures.append("\(file.path): \(error)")
            }
        }
        return loaded
    }

    /// The image items of a label file (paths relative to `imagesRoot`) matching `paths`, with their labels.
    package static func load(labels path: String, format: LabelFormat, imagesRoot: String, paths: [String]) throws(LabelError) -> Loaded {
        let set = try format.read(from: path, options: LabelReadOptions(imagesRoot: imagesRoot, imageSize: { file in
            (try? ImageDecoder().info(fileAt: file))?.displaySize
        })).labelSet
        let grouped = set.annotationsByItem()
        var loaded = Loaded(sources: [], failures: [], schema: set.schema)
        // Each image is read by the worker that augments it (one image per worker in memory).
        for item in set.items where matches(item.path, paths) && item.mediaType?.hasPrefix("image/") == true {
            let file = imagesRoot + "/" + item.path
            loaded.sources.append(AugmentSource(path: item.path, contentHash: nil, annotations: grouped[item.path] ?? []) {
                do { return Array(try InputFile.read(file)) } catch { throw AugmentError(.input, "\(file): \(error)") }
            })
        }
        return loaded
    }
}
