import PostgresNIO

/// A PostgreSQL error as an operator can read it: `PSQLError`'s description hides everything
/// (so that no query data leaks by accident); its code and the server's message say why, and
/// hold no bound values.
public enum PostgresErrorText {
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        return String(reflecting: error.code) + (error.serverInfo?[.message].map { ": \($0)" } ?? "")
    }
}
