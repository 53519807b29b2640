import Hummingbird

/// Lets a request into a group of control routes only with the control token (see
/// ``ControlAuthenticator``): one check for the whole group instead of one in each handler,
/// so that a control route added later cannot forget it.
public struct ControlTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let authenticator: ControlAuthenticator

    public init(_ authenticator: ControlAuthenticator) {
        self.authenticator = authenticator
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let refusal = authenticator.refusal(for: request, action: "\(request.method) \(request.uri.path)") { return refusal }
        return try await next(request, context)
    }
}

extension RouterMethods {
    /// A group for control routes: each needs the control token.
    public func controlRoutes(_ authenticator: ControlAuthenticator) -> RouterGroup<Context> {
        group().add(middleware: ControlTokenMiddleware<Context>(authenticator))
    }
}
