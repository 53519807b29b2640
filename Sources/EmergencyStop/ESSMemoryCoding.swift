import EventBus
import Foundation

/// The persisted form of what the machine remembers across restarts.
extension ESSMachine.Memory {
    public var json: JSONValue {
        var fields: [String: JSONValue] = [:]
        if let peakEquity { fields["peakEquity"] = .decimal(peakEquity) }
        if let equity { fields["equity"] = .decimal(equity) }
        if let dailyPnl { fields["dailyPnl"] = .decimal(dailyPnl) }
        for (key, latch) in [("manualTrip", manualTrip), ("supervisorTrip", supervisorTrip), ("manualReduce", manualReduce)] {
            if let latch { fields[key] = .object(["reason": .string(latch.reason), "source": .string(latch.source)]) }
        }
        if let clearSince { fields["clearSince"] = .string(EventEnvelope.timestamp(clearSince)) }
        return .object(fields)
    }

    public init(json value: JSONValue) throws(PayloadError) {
        let reader = try PayloadReader(value, name: "ess memory")
        self.init()
        peakEquity = reader.optionalDecimal("peakEquity")
        equity = reader.optionalDecimal("equity")
        dailyPnl = reader.optionalDecimal("dailyPnl")
        func latch(_ key: String) -> ESSMachine.Latch? {
            guard reader.contains(key), let nested = reader.object(key) else { return nil }
            defer { nested.close() }
            guard let reason = nested.string("reason", maxLength: 2000), let source = nested.string("source", maxLength: 200) else {
                return nil
            }
            return ESSMachine.Latch(reason: reason, source: source)
        }
        manualTrip = latch("manualTrip")
        supervisorTrip = latch("supervisorTrip")
        manualReduce = latch("manualReduce")
        clearSince = reader.contains("clearSince") ? reader.date("clearSince") : nil
        try reader.finish()
    }
}
