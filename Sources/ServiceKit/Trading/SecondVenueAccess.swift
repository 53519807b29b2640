import AsyncHTTPClient
import Binance
import Logging
import OKXAdapter
import VaktConfig

/// The second venue's (OKX's) account for the trading services: with
/// `execution.on_binance_down: failover`, execution places new orders there while Binance
/// cannot take them, and the portfolio counts its balances beside Binance's.
public enum SecondVenueAccess {
    /// The OKX account's key, secret key and passphrase from the secrets
    /// `exchange.okx_api_key_secret`, `okx_secret_key_secret` and `okx_passphrase_secret`
    /// name; nil unless all three are set.
    public static func credentials(_ configuration: VaktConfiguration, _ secrets: SecretStore) -> OKXClient.Credentials? {
        let exchange = configuration.exchange
        let values = [exchange.okxAPIKeySecret, exchange.okxSecretKeySecret, exchange.okxPassphraseSecret].map {
            secrets.secret(named: $0)?.value
        }
        guard let key = values[0], let secret = values[1], let passphrase = values[2] else { return nil }
        return OKXClient.Credentials(apiKey: key, secretKey: secret, passphrase: passphrase)
    }

    /// Our client order id as OKX's `clOrdId`: without its dashes (OKX takes letters and digits
    /// only; ours differ in more than dashes, so none collide).
    public static func clOrdId(_ clientOrderId: String) -> String {
        String(clientOrderId.filter { $0.isASCII && ($0.isLetter || $0.isNumber) })
    }

    /// The account's client when failover is configured: at `market_data.fallback`'s address,
    /// stamped on the exchange's clock (the paper exchange's may run fast). Nil otherwise; with
    /// failover but without the secrets, logged as an error (execution then holds new orders
    /// while Binance is down, and the portfolio counts Binance alone).
    public static func client(_ context: ServiceContext) -> OKXClient? {
        client(context.configuration, secrets: context.secrets, http: context.httpClient, logger: context.logger)
    }

    /// The same for a command-line tool (`vakt audit`).
    public static func client(_ configuration: VaktConfiguration, secrets: SecretStore, http: HTTPClient, logger: Logger) -> OKXClient? {
        guard configuration.execution.onBinanceDown == .failover, let fallback = configuration.marketData.fallback else { return nil }
        guard let credentials = credentials(configuration, secrets) else {
            let exchange = configuration.exchange
            logger.error(
                "execution.on_binance_down is failover but the OKX secrets are missing",
                metadata: [
                    "secrets": "\(exchange.okxAPIKeySecret), \(exchange.okxSecretKeySecret), \(exchange.okxPassphraseSecret)"
                ])
            return nil
        }
        let clock = ScaledClock(origin: configuration.exchangeClock.origin ?? ScaledClock.wall(), rate: configuration.exchangeClock.rate)
        return OKXClient(
            settings: .init(baseURL: fallback.baseURL, requestTimeout: configuration.exchange.requestTimeout), credentials: credentials,
            http: http, logger: logger, now: { clock.now() })
    }
}

extension OKXOrder.State {
    /// The state in Binance's words, as execution and the audit book orders: a live order is
    /// NEW, and one OKX canceled (by us or by its market-maker protection) is CANCELED.
    public var binanceStatus: OrderStatus {
        switch self {
        case .live: .new
        case .partiallyFilled: .partiallyFilled
        case .filled: .filled
        case .canceled, .mmpCanceled: .canceled
        }
    }
}
