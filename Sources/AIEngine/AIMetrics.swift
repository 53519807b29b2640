import EventBus
import Forecasting
import Foundation
import Hummingbird
import Metrics
import ServiceKit

/// What `/api/ai/metrics/ensemble`, `/meta-strategy` and `/rl-sizing` show, computed from the
/// strategist's live state at each request (nothing stored, nothing fixed), and the same
/// figures as gauges at each `/metrics` scrape.
enum AIMetrics {
    static func number(_ value: Double) -> JSONValue { .number((value * 1e6).rounded() / 1e6) }

    /// Each symbol's models: weight (under its current regime's tilt), recent accuracy and
    /// Brier score (calibration), predictions scored, the last probability of an up move.
    static func ensemble(_ strategist: Strategist) -> JSONValue {
        var symbols: [String: JSONValue] = [:]
        for (symbol, state) in strategist.symbols {
            let tilt = state.regime.map { Profile.standard(for: $0).tilt }
            let weights = state.ensemble.weights(tilt: tilt)
            let models: [JSONValue] = ModelSet.names.indices.map { index in
                let record = state.ensemble.records[index]
                return .object([
                    "name": .string(ModelSet.names[index]), "weight": number(weights[index]), "accuracy": number(record.accuracy),
                    "brier": number(record.brier), "scored": .number(Double(record.scored)),
                    "probabilityUp": state.lastProbabilities.indices.contains(index)
                        ? number(state.lastProbabilities[index]) : .null,
                ])
            }
            symbols[symbol] = .object([
                "modelVersion": .string(state.modelVersion), "trained": .bool(state.models != nil), "bars": .number(Double(state.bars)),
                "signals": .number(Double(state.signals)), "models": .array(models),
            ])
        }
        return .object([
            "weighting": .string("edge over chance of recent out-of-sample accuracy, half-life 100"), "symbols": .object(symbols),
        ])
    }

    /// Each symbol's regime, the profile it selects, and how many bars fell in each regime.
    static func metaStrategy(_ strategist: Strategist) -> JSONValue {
        var symbols: [String: JSONValue] = [:]
        for (symbol, state) in strategist.symbols {
            var fields: [String: JSONValue] = [
                "regimeBars": .object(
                    Dictionary(uniqueKeysWithValues: Regime.allCases.map { ($0.rawValue, .number(Double(state.regimeBars[$0] ?? 0))) }))
            ]
            if let regime = state.regime {
                let profile = Profile.standard(for: regime)
                fields["regime"] = .string(regime.rawValue)
                fields["profile"] = .object([
                    "name": .string(profile.name), "minimumConfidence": number(profile.minimumConfidence),
                    "sizeScale": number(profile.sizeScale),
                    "tilt": .object(Dictionary(uniqueKeysWithValues: zip(ModelSet.names, profile.tilt.map(number)).map { ($0, $1) })),
                ])
            }
            symbols[symbol] = .object(fields)
        }
        return .object(["symbols": .object(symbols)])
    }

    /// The bandit's arms per regime: share of the largest order, times played, mean reward, and
    /// the upper confidence bound's current choice.
    static func sizing(_ strategist: Strategist) -> JSONValue {
        var regimes: [String: JSONValue] = [:]
        for regime in Regime.allCases {
            let arms = strategist.bandit.arms[regime] ?? []
            regimes[regime.rawValue] = .object([
                "arms": .array(
                    arms.map { arm in
                        .object(["share": number(arm.share), "pulls": .number(Double(arm.pulls)), "meanReward": number(arm.mean)])
                    }),
                "nextChoice": number(SizingBandit.shares[strategist.bandit.choose(in: regime)]),
                "lastChoice": strategist.lastArm[regime].map { number(SizingBandit.shares[$0]) } ?? .null,
            ])
        }
        return .object([
            "method": .string("UCB1 per regime"), "reward": .string("s*z - s^2*z^2/2, z the realized return in volatilities"),
            "regimes": .object(regimes),
        ])
    }

    static func addRoutes(to router: Router<BasicRequestContext>, engine: SignalEngine) {
        router.get("/api/ai/metrics/ensemble") { _, _ in JSONResponse.make(.ok, ensemble(engine.strategist.withLock { $0 })) }
        router.get("/api/ai/metrics/meta-strategy") { _, _ in JSONResponse.make(.ok, metaStrategy(engine.strategist.withLock { $0 })) }
        router.get("/api/ai/metrics/rl-sizing") { _, _ in JSONResponse.make(.ok, sizing(engine.strategist.withLock { $0 })) }
    }

    /// The models' weights and accuracy and the regime as gauges.
    static func record(_ strategist: Strategist) {
        for (symbol, state) in strategist.symbols {
            let weights = state.ensemble.weights(tilt: state.regime.map { Profile.standard(for: $0).tilt })
            for (index, name) in ModelSet.names.enumerated() {
                Gauge(label: "vakt_ai_model_weight", dimensions: [("symbol", symbol), ("model", name)]).record(weights[index])
                Gauge(label: "vakt_ai_model_accuracy", dimensions: [("symbol", symbol), ("model", name)])
                    .record(state.ensemble.records[index].accuracy)
            }
            for regime in Regime.allCases {
                Gauge(label: "vakt_ai_regime", dimensions: [("symbol", symbol), ("regime", regime.rawValue)])
                    .record(state.regime == regime ? 1 : 0)
            }
        }
    }
}
