import Foundation

/// Multinomial logistic regression with L2 regularisation, as scikit-learn's `LogisticRegression` (lbfgs,
/// `C`, unpenalised intercept): minimises ½‖W‖² + C · Σ −log p(yᵢ | xᵢ) by L-BFGS until the gradient's largest
/// component is below `tolerance` (fitted to convergence, not stopped at 100 iterations).
///
/// ```swift
/// let model = LogisticRegression.fit(features: x, dimensions: 64, labels: y, classes: 10)
/// let probs = model.probabilities(x, count: n)     // n × 10, row-major
/// ```
package struct LogisticRegression: Sendable {
    package var classes: Int
    package var dimensions: Int
    /// classes × (dimensions + 1): the weights of each class, then its intercept.
    package var parameters: [Double]
    package var iterations: Int

    /// `start`: parameters to begin from (a previous round's model, to converge in fewer steps).
    package static func fit(features x: [Double], dimensions d: Int, labels y: [Int], classes k: Int, c: Double = 1,
                           tolerance: Double = 1e-5, maxIterations: Int = 1000, start: [Double]? = nil) -> LogisticRegression {
        let n = y.count, width = d + 1
        func objective(_ w: [Double]) -> (Double, [Double]) {
            var loss = 0.0
            var gradient = [Double](repeating: 0, count: k * width)
            var logits = [Double](repeating: 0, count: k)
            w.withUnsafeBufferPointer { wp in
                x.withUnsafeBufferPointer { xp in
                    gradient.withUnsafeMutableBufferPointer { g in
                        for i in 0..<n {
                            let row = xp.baseAddress! + i * d
                            for c in 0..<k {
                                let wc = wp.baseAddress! + c * width
                                var z = wc[d]
                                for j in 0..<d { z += wc[j] * row[j] }
                                logits[c] = z
                            }
                            let top = logits.max()!
                            var sum = 0.0
                            for c in 0..<k { logits[c] = exp(logits[c] - top); sum += logits[c] }
                            loss -= log(logits[y[i]] / sum)
                            for c in 0..<k {
                                let r = (logits[c] / sum - (c == y[i] ? 1 : 0)) * C
                                let gc = g.baseAddress! + c * width
                                for j in 0..<d { gc[j] += r * row[j] }
                                gc[d] += r
                            }
                        }
                    }
                }
            }
            loss *= C
            for c in 0..<k { for j in 0..<d { loss += 0.5 * w[c * width + j] * w[c * width + j]; gradient[c * width + j] += w[c * width + j] } }
            return (loss, gradient)
        }
        let C = c
        var w = start.flatMap { $0.count == k * width ? $0 : nil } ?? [Double](repeating: 0, count: k * width)
        var (f, g) = objective(w)
        var sHistory: [[Double]] = [], yHistory: [[Double]] = []
        var iterations = 0
        while iterations < maxIterations && (g.map(abs).max() ?? 0) > tolerance {
            iterations += 1
            // Two-loop recursion for the search direction.
            var q = g
            var alphas: [Double] = []
            for (s, yv) in zip(sHistory, yHistory).reversed() {
                let rho = 1 / dot(yv, s)
                let a = rho * dot(s, q)
                alphas.append(a)
                for i in q.indices { q[i] -= a * yv[i] }
            }
            if let s = sHistory.last, let yv = yHistory.last {
                let gamma = dot(s, yv) / dot(yv, yv)
                for i in q.indices { q[i] *= gamma }
            }
            for ((s, yv), a) in zip(zip(sHistory, yHistory), alphas.reversed()) {
                let rho = 1 / dot(yv, s)
                let b = rho * dot(yv, q)
                for i in q.indices { q[i] += s[i] * (a - b) }
            }
            var direction = q.map { -$0 }
            if dot(direction, g) >= 0 { direction = g.map { -$0 }; sHistory.removeAll(); yHistory.removeAll() }
            // Backtracking line search (Armijo).
            var step = sHistory.isEmpty ? min(1, 1 / max(1e-12, g.map(abs).max()!)) : 1.0
            let slope = dot(direction, g)
            var candidate = w, fc = f, gc = g
            for _ in 0..<40 {
                candidate = zip(w, direction).map { $0 + step * $1 }
                (fc, gc) = objective(candidate)
                if fc <= f + 1e-4 * step * slope { break }
                step *= 0.5
            }
            let s = zip(candidate, w).map { $0 - $1 }, yv = zip(gc, g).map { $0 - $1 }
            if dot(s, yv) > 1e-12 {
                sHistory.append(s); yHistory.append(yv)
                if sHistory.count > 10 { sHistory.removeFirst(); yHistory.removeFirst() }
            }
            if abs(f - fc) <= 1e-12 * max(1, abs(f)) { w = candidate; f = fc; g = gc; break }
            w = candidate; f = fc; g = gc
        }
        return LogisticRegression(classes: k, dimensions: d, parameters: w, iterations: iterations)
    }

    /// Class probabilities of each row (row-major `count` × classes).
    package func probabilities(_ x: [Double], count n: Int) -> [Double] {
        let d = dimensions, k = classes, width = d + 1
        var out = [Double](repeating: 0, count: n * k)
        for i in 0..<n {
            var top = -Double.infinity
            for c in 0..<k {
                var z = parameters[c * width + d]
                for j in 0..<d { z += parameters[c * width + j] * x[i * d + j] }
                out[i * k + c] = z
                top = max(top, z)
            }
            var sum = 0.0
            for c in 0..<k { out[i * k + c] = exp(out[i * k + c] - top); sum += out[i * k + c] }
            for c in 0..<k { out[i * k + c] /= sum }
        }
        return out
    }

    /// The most probable class of each row.
    package func predict(_ x: [Double], count n: Int) -> [Int] {
        let p = probabilities(x, count: n)
        return (0..<n).map { i in (0..<classes).max { (p[i * classes + $0], -$0) < (p[i * classes + $1], -$1) }! }
    }
}

func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in a.indices { s += a[i] * b[i] }
    return s
}
