import ArgumentParser
import CurateCore
import CurateLabeling
import CurateStore
import Foundation

extension Curate.Queue {
    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set, show or remove a queue's vetting policy: rules that block or flag annotators while they work.",
            discussion: """
                The policy (YAML) is stored with the queue and applied after every answer (by the answering \
                session on the embedded store; on a shared PostgreSQL store, where annotators cannot read each \
                other's answers, by a lead's curate watch or curate queue vet --follow) and on every refresh of \
                curate watch. Each rule is `when: METRIC OP NUMBER` with `action: block` or `review` and the least \
                evidence before it may fire (min_answers, min_gold, min_compared). Metrics: gold_accuracy, \
                gold_accuracy_lower, gold_accuracy_upper (95% Wilson bounds), agreement, agreement_lower, \
                agreement_upper (answer pairs with others on the same items), one_class_run (the latest run of one \
                answer, counted while the items' other answers or gold contradict it), speed_ratio (median seconds ÷ \
                the team's), top_confusion (largest share of one class read as another), answers, gold_answers, \
                compared. A block never lands on an honest systematic confusion (errors concentrated on one or two \
                class pairs, accurate elsewhere): that becomes a review (honest_confusion_guard: false turns this off, for \
                comparisons with plain threshold rules). adaptive_gold sets each annotator's gold \
                rate from how well their accuracy is known (new_rate at first, min_rate once it is known to \
                ±target_width), scaled down while the queue's gold share is over budget. A block pauses the \
                annotator's work (their session says why), holds their answers (kept, not counted, not exported) \
                and returns their items to others; curate queue unblock undoes it. --standard stores Curate's \
                policy (print it with --standard --show).

                Examples:
                  curate queue policy round1 --standard
                  curate queue policy round1 vetting.yaml
                  curate queue policy round1 --show
                  curate queue policy round1 --clear
                """)
        @Argument var name: String
        @Argument(help: "The policy file (YAML).") var file: String?
        @Flag(help: "Curate's standard policy.") var standard = false
        @Flag(help: "Print the queue's policy (with --standard: the standard one).") var show = false
        @Flag(help: "Remove the policy: no automatic decisions.") var clear = false
        @OptionGroup var repository: RepositoryOption

        func validate() throws {
            let sources = [file != nil, standard, clear].filter { $0 }.count
            guard show ? (file == nil && !clear) : sources == 1 else { throw ValidationError("give a policy FILE, --standard, --clear or --show") }
        }

        /// A policy's text, checked: 'standard' or a file.
        static func read(_ source: String) throws -> String {
            let text = source == "standard" ? VettingPolicy.standardText : try InputFile.text(source)
            _ = try VettingPolicy(yaml: text, source: source)
            return text
        }

        func run() async throws {
            try await reportingErrors {
                if show && standard { return Console.out(VettingPolicy.standardText, terminator: "") }
                let store = try repository.store()
                if show {
                    guard let text = try store.queueSummary(name).spec.policy else { return Console.out("queue \(name) has no vetting policy") }
                    return Console.out(text, terminator: text.hasSuffix("\n") ? "" : "\n")
                }
                let text = clear ? nil : try Self.read(standard ? "standard" : file!)
                try store.setQueuePolicy(name, policy: text)
                if let text {
                    let policy = try VettingPolicy(yaml: text, source: file ?? "standard")
                    Console.out("queue \(name): vetting policy set (\(policy.rules.count) rules" + (policy.adaptiveGold != nil ? ", adaptive gold" : "") + ")")
                } else {
                    Console.out("queue \(name): vetting policy removed")
                }
            }
        }
    }

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause an annotator's work in a queue: no more items, answers held, items back to others.",
            discussion: "Recorded with your name and the reason (shown to the annotator). curate queue unblock undoes it.\n\nExample:\n  curate queue block round1 gus --reason \"answers 1 to everything\"")
        @Argument var name: String
        @Argument var annotator: String
        @Option(help: "Why, in plain words (the annotator sees it).") var reason: String
        @Option(help: "Who decides (default: $USER; on a shared store, your role).") var by: String?
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let store = try repository.store()
                let lead = try Curate.Queue.Unblock.lead(by, store: store)
                guard let d = try store.recordDecision(name, QueueDecision(annotator: annotator, action: .block, reason: reason, by: lead)) else {
                    return Console.out("\(annotator) is already blocked in queue \(name)")
                }
                Console.out("blocked \(d.annotator) in queue \(name): their answers are held and their items go to others (curate queue unblock \(name) \(annotator) undoes it)")
            }
        }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a blocked annotator work again (their held answers count again), or clear a review flag.",
            discussion: "A lead's decision stands: the policy does not act on this annotator again.\n\nExample:\n  curate queue unblock round1 eli --reason \"checked: honest 3/8 confusion, retrained\"")
        @Argument var name: String
        @Argument var annotator: String
        @Option(help: "Why (recorded).") var reason: String = "a lead decided"
        @Option(help: "Who decides (default: $USER; on a shared store, your role).") var by: String?
        @OptionGroup var repository: RepositoryOption

        static func lead(_ by: String?, store: any LabelingStore) throws -> String {
            if let by { return by }
            if store is SQLiteStore { return ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "lead" }
            return try store.annotator(requested: nil)
        }

        func run() async throws {
            try await reportingErrors {
                let store = try repository.store()
                let lead = try Self.lead(by, store: store)
                if let d = try store.recordDecision(name, QueueDecision(annotator: annotator, action: .unblock, reason: reason, by: lead)) {
                    return Console.out("unblocked \(d.annotator) in queue \(name): their held answers count again")
                }
                if try store.recordDecision(name, QueueDecision(annotator: annotator, action: .clear, reason: reason, by: lead)) != nil {
                    return Console.out("cleared the review flag on \(annotator) in queue \(name)")
                }
                Console.out("\(annotator) is neither blocked nor flagged for review in queue \(name)")
            }
        }
    }

    struct Vet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a queue's vetting policy to every annotator now (or keep doing it with --follow).",
            discussion: """
                For shared PostgreSQL stores, where annotators' sessions cannot read the team's answers: run it as \
                a lead (a service, or next to curate watch, which vets too). Prints each decision.

                Examples:
                  curate queue vet round1
                  curate queue vet round1 --follow --interval 2
                """)
        @Argument var name: String
        @Flag(help: "Keep following the queue's answers.") var follow = false
        @Option(help: "Seconds between looks, with --follow.") var interval: Double = 2
        @OptionGroup var repository: RepositoryOption

        func run() async throws {
            try await reportingErrors {
                let store = try repository.store()
                let spec = try store.queueSummary(name).spec
                guard let policy = try Vetting.policy(of: spec) else { throw InputError("queue \(name) has no vetting policy (curate queue policy \(name) --standard)") }
                guard store.mayVet() else { throw StoreError(.usage, "\(store.location): vetting reads every annotator's answers; run it as a lead") }
                var monitor = TeamMonitor(queue: name, overlap: spec.overlap)
                var first = true
                repeat {
                    if !first { try await Task.sleep(nanoseconds: UInt64(max(0.1, interval) * 1e9)) }
                    first = false
                    for d in try Vetting.refresh(&monitor, policy: policy, store: store) {
                        Console.out("\(d.action.rawValue) \(d.annotator): \(d.reason) [\(d.evidence.joined(separator: "; "))]")
                    }
                } while follow
            }
        }
    }
}
