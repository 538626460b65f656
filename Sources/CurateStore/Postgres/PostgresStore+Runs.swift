import Foundation
import PostgresNIO

// MARK: Routing

extension PostgresStore {
    package func routeState() throws(StoreError) -> RouteState {
        try read("reading the routing state") { tx in
            let runs = try tx.int("SELECT COUNT(*) FROM route_runs")
            let last = try tx.row("SELECT target FROM route_runs ORDER BY id DESC LIMIT 1").map { try $0.double("target") }
            var items: [String: RouteRecord] = [:]
            for row in try tx.rows("SELECT * FROM route_items") {
                let path = try row.text("path")
                items[path] = RouteRecord(path: path, decision: RouteRecord.Decision(rawValue: try row.text("decision")) ?? .human,
                                          predictedClass: try row.optionalText("class"), confidence: try row.optionalDouble("confidence"), queue: try row.optionalText("queue"))
            }
            let retired = Set(try tx.rows("SELECT path FROM route_retired").map { try $0.text("path") })
            var suspended: [String: String] = [:]
            for row in try tx.rows("SELECT class, reason FROM route_suspended") { suspended[try row.text("class")] = try row.text("reason") }
            return RouteState(runs: runs, lastTarget: last, items: items, retired: retired, suspended: suspended)
        }
    }

    @discardableResult
    package func recordRoute(_ run: RouteRun, now: Date) throws(StoreError) -> Int {
        try write("recording a routing run") { tx -> Int in
            for batch in run.queued where !batch.items.isEmpty {
                guard try !queue(tx, batch.queue, lock: true).closed else { throw QueueRules.closed(batch.queue) }
                _ = try insertItems(tx, batch.queue, batch.items)
            }
            let id = try tx.int("INSERT INTO route_runs (created, model, target, summary) VALUES ($1, $2, $3, $4) RETURNING id",
                                [.double(now.timeIntervalSince1970), .text(run.model), .double(run.target), .text(run.summary)])
            for r in run.records {
                try tx.execute("""
                    INSERT INTO route_items (path, run, decision, class, confidence, queue) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (path) DO UPDATE SET run = EXCLUDED.run, decision = EXCLUDED.decision, class = EXCLUDED.class,
                      confidence = EXCLUDED.confidence, queue = EXCLUDED.queue
                    """, [.text(r.path), .int(id), .text(r.decision.rawValue), .text(r.predictedClass), .double(r.confidence), .text(r.queue)])
            }
            for path in run.retire {
                try tx.execute("INSERT INTO route_retired (path, run) VALUES ($1, $2) ON CONFLICT (path) DO NOTHING", [.text(path), .int(id)])
            }
            return id
        }
    }

    package func setRouteSuspended(_ className: String, reason: String?, now: Date) throws(StoreError) {
        try write("suspending class \(className)") { tx in
            if let reason {
                try tx.execute("""
                    INSERT INTO route_suspended (class, created, reason) VALUES ($1, $2, $3)
                    ON CONFLICT (class) DO UPDATE SET created = EXCLUDED.created, reason = EXCLUDED.reason
                    """, [.text(className), .double(now.timeIntervalSince1970), .text(reason)])
            } else {
                try tx.execute("DELETE FROM route_suspended WHERE class = $1", [.text(className)])
            }
        }
    }
}

// MARK: Workflow runs

extension PostgresStore {
    static func run(_ row: PostgresRandomAccessRow) throws -> WorkflowRun {
        WorkflowRun(id: try row.int("id"), workflow: try row.text("workflow"), file: try row.text("file"), params: try row.text("params"),
                    status: WorkflowRun.Status(rawValue: try row.text("status")) ?? .failed, token: try row.text("token"),
                    started: Date(timeIntervalSince1970: try row.double("started")), finished: try row.optionalDouble("finished").map(Date.init(timeIntervalSince1970:)),
                    endRevision: try row.optionalText("end_rev"), message: try row.optionalText("message"))
    }

    static func step(_ row: PostgresRandomAccessRow) throws -> WorkflowStepRecord {
        WorkflowStepRecord(run: try row.int("run"), step: try row.text("step"), status: WorkflowStepRecord.Status(rawValue: try row.text("status")) ?? .failed,
                           key: try row.text("key"), started: Date(timeIntervalSince1970: try row.double("started")),
                           finished: try row.optionalDouble("finished").map(Date.init(timeIntervalSince1970:)), outputs: try row.optionalText("outputs"),
                           pid: try row.optionalInt("pid").map(Int32.init), process: try row.optionalText("process"), message: try row.optionalText("message"))
    }

    package func startWorkflowRun(workflow: String, file: String, params: String, token: String, now: Date) throws(StoreError) -> Int {
        try write("starting a workflow run") { tx in
            try tx.int("INSERT INTO workflow_runs (workflow, file, params, status, token, started) VALUES ($1, $2, $3, 'running', $4, $5) RETURNING id",
                       [.text(workflow), .text(file), .text(params), .text(token), .double(now.timeIntervalSince1970)])
        }
    }

    package func finishWorkflowRun(_ id: Int, status: WorkflowRun.Status, message: String?, endRevision: String?, now: Date) throws(StoreError) {
        try write("recording a workflow run") { tx in
            try tx.execute("UPDATE workflow_runs SET status = $1, message = $2, end_rev = $3, finished = $4 WHERE id = $5",
                           [.text(status.rawValue), .text(message), .text(endRevision), .double(now.timeIntervalSince1970), .int(id)])
        }
    }

    package func reopenWorkflowRun(_ id: Int) throws(StoreError) {
        try write("resuming a workflow run") { tx in
            try tx.execute("UPDATE workflow_runs SET status = 'running', message = NULL, finished = NULL WHERE id = $1", [.int(id)])
        }
    }

    package func recordWorkflowStep(_ r: WorkflowStepRecord) throws(StoreError) {
        try write("recording workflow step \(r.step)") { tx in
            try tx.execute("""
                INSERT INTO workflow_steps (run, step, status, key, started, finished, outputs, pid, process, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                ON CONFLICT (run, step) DO UPDATE SET status = EXCLUDED.status, key = EXCLUDED.key, started = EXCLUDED.started, finished = EXCLUDED.finished,
                  outputs = EXCLUDED.outputs, pid = EXCLUDED.pid, process = EXCLUDED.process, message = EXCLUDED.message
                """, [.int(r.run), .text(r.step), .text(r.status.rawValue), .text(r.key), .double(r.started.timeIntervalSince1970),
                      .double(r.finished?.timeIntervalSince1970), .text(r.outputs), .int(r.pid.map(Int.init)), .text(r.process), .text(r.message)])
        }
    }

    package func workflowRuns(workflow: String?) throws(StoreError) -> [WorkflowRun] {
        try read("reading workflow runs") { tx in
            try (workflow.map { try tx.rows("SELECT * FROM workflow_runs WHERE workflow = $1 ORDER BY id", [.text($0)]) }
                ?? tx.rows("SELECT * FROM workflow_runs ORDER BY id")).map(Self.run)
        }
    }

    package func workflowSteps(run: Int) throws(StoreError) -> [WorkflowStepRecord] {
        try read("reading workflow steps") { tx in try tx.rows("SELECT * FROM workflow_steps WHERE run = $1 ORDER BY started", [.int(run)]).map(Self.step) }
    }

    package func lastDoneStep(workflow: String, step: String) throws(StoreError) -> WorkflowStepRecord? {
        try read("reading workflow steps") { tx in
            try tx.row("""
                SELECT s.* FROM workflow_steps s JOIN workflow_runs r ON r.id = s.run
                WHERE r.workflow = $1 AND s.step = $2 AND s.status = 'done' ORDER BY s.finished DESC LIMIT 1
                """, [.text(workflow), .text(step)]).map(Self.step)
        }
    }
}
