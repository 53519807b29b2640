import PostgresNIO

/// A PostgreSQL error as an operator can read it: `PSQLError`'s description hides everything
/// (so that no query data leaks by accident); its code and the server's message say why, and
/// hold no bound values.
public enum PostgresErrorText {
    public static func describe(_ error: any Error) -> String {
        guard let error = decisive(error) as? PSQLError else { return "\(error)" }
        return String(reflecting: error.code) + (error.serverInfo?[.message].map { ": \($0)" } ?? "")
    }

    /// The error that decided a transaction's failure (`withTransaction` wraps it): its
    /// statement's, else its BEGIN's, else its COMMIT's; any other error as it is.
    public static func decisive(_ error: any Error) -> any Error {
        guard let transaction = error as? PostgresTransactionError else { return error }
        return transaction.closureError ?? transaction.beginError ?? transaction.commitError ?? error
    }
}
