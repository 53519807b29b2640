import EventBus
import Foundation
import Hummingbird

/// The JSON body of a control action: why (`reason`, required, kept in the audit trail), who
/// asked (`source`, optional), and where the action needs them, the symbol it acts on and the
/// caller's `actionId`, which makes an action that must not happen twice (a close) safe to send
/// again. Any other key is refused, naming it.
public struct ControlRequestBody: Sendable, Equatable {
    public var reason: String
    public var source: String
    public var symbol: String?
    public var actionId: String?

    /// The longest `reason` taken, in characters.
    public static let maxReasonLength = 500

    /// `reason` cut to ``maxReasonLength`` (its end replaced by "…") for a caller whose action
    /// must not be refused for its wording: the supervisor's trip, whose reason quotes a rule's
    /// inputs.
    public static func fitting(_ reason: String) -> String {
        reason.count <= maxReasonLength ? reason : String(reason.prefix(maxReasonLength - 1)) + "…"
    }

    /// Reads the body; `symbol` and `actionId` are required when asked for, refused otherwise.
    /// The failure is the response to send (400, naming each bad field; nothing was done).
    public static func read(_ request: Request, limit: Int, symbol needsSymbol: Bool = false, actionId needsActionId: Bool = false)
        async -> Result<Self, ResponseError>
    {
        let reader: PayloadReader
        switch await JSONResponse.readObject(request, limit: limit) {
        case .success(let value): reader = value
        case .failure(let failure): return .failure(failure)
        }
        let reason = reader.string("reason", maxLength: maxReasonLength)
        let source = reader.optionalString("source", maxLength: 100) ?? "api"
        let symbol = needsSymbol ? reader.symbol("symbol") : nil
        let actionId = needsActionId ? reader.string("actionId", maxLength: 64) : nil
        if let actionId, !isActionId(actionId) {
            reader.report(
                "actionId", "\"\(actionId)\" is not an action id: 8 to 64 letters, digits, '-', '_', '.' or ':', of the caller's choosing")
        }
        do throws(PayloadError) {
            try reader.finish()
        } catch {
            return .failure(ResponseError(JSONResponse.error(.badRequest, "invalid request; nothing was done", problems: error.problems)))
        }
        guard let reason else {
            return .failure(ResponseError(JSONResponse.error(.badRequest, "reason: missing; nothing was done")))
        }
        return .success(ControlRequestBody(reason: reason, source: source, symbol: symbol, actionId: actionId))
    }

    /// 8 to 64 of `[A-Za-z0-9._:-]`: long enough to be unique when chosen at random, short
    /// enough for the audit trail.
    public static func isActionId(_ text: String) -> Bool {
        (8...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"): true
                default: false
                }
            }
    }
}
