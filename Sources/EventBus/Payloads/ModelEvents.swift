import Foundation

/// `model.retrain_requested`: the AI engine (or an operator) asks RL training for a new model.
public struct ModelRetrainRequested: EventPayload {
    public static let eventType = EventType.modelRetrainRequested
    /// The model being replaced.
    public var model: String
    public var reason: String

    public init(model: String, reason: String) {
        self.model = model
        self.reason = reason
    }

    public init?(reading reader: PayloadReader) {
        let model = reader.string("model", maxLength: 128)
        let reason = reader.string("reason", maxLength: 1000)
        guard let model, let reason else { return nil }
        self.init(model: model, reason: reason)
    }

    public var json: JSONValue { .object(["model": .string(model), "reason": .string(reason)]) }

    public static let example = ModelRetrainRequested(model: "momentum-2026-12-01", reason: "hit rate 41% over the last 200 signals")
}

/// `model.promoted`: a trained model passed its evaluation and replaces the one in use.
public struct ModelPromoted: EventPayload {
    public static let eventType = EventType.modelPromoted
    public var model: String
    /// The one it replaces; none for the first.
    public var previous: String?
    /// Where the AI engine loads it from.
    public var location: String
    public var trainedAt: Date

    public init(model: String, previous: String?, location: String, trainedAt: Date) {
        self.model = model
        self.previous = previous
        self.location = location
        self.trainedAt = trainedAt
    }

    public init?(reading reader: PayloadReader) {
        let model = reader.string("model", maxLength: 128)
        let previous = reader.optionalString("previous", maxLength: 128)
        let location = reader.string("location", maxLength: 4096)
        let trainedAt = reader.date("trainedAt")
        guard let model, let location, let trainedAt else { return nil }
        self.init(model: model, previous: previous, location: location, trainedAt: trainedAt)
    }

    public var json: JSONValue {
        .fields([
            "model": .string(model), "previous": previous.map(JSONValue.string), "location": .string(location),
            "trainedAt": .time(trainedAt),
        ])
    }

    public static let example = ModelPromoted(
        model: "momentum-2026-12-02", previous: "momentum-2026-12-01", location: "var/models/momentum-2026-12-02.json",
        trainedAt: Date(timeIntervalSince1970: 1_796_100_000))
}
