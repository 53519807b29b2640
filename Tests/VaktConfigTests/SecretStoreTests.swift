import Foundation
import Testing

@testable import VaktConfig

@Suite struct SecretStoreTests {
    @Test func secretNeverDescribesItsValue() {
        let secret = Secret("hunter2")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
    }

    @Test func matchingIsExact() {
        let secret = Secret("s3cret-token")
        #expect(secret.matches("s3cret-token"))
        #expect(!secret.matches("s3cret-tokem"))
        #expect(!secret.matches("s3cret-token-longer"))
        #expect(!secret.matches("s3cret"))
        #expect(!secret.matches(""))
        #expect(!Secret("").matches(""))
    }

    @Test func environmentVariableSuppliesSecret() {
        let store = SecretStore(environment: ["VAKT_SECRET_CONTROL_TOKEN": "abc"])
        #expect(store.secret(named: "control-token")?.value == "abc")
        #expect(store.secret(named: "other") == nil)
        #expect(SecretStore(environment: ["VAKT_SECRET_CONTROL_TOKEN": ""]).secret(named: "control-token") == nil)
    }

    @Test func systemdCredentialWinsOverEnvironment() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("creds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "from-credential\n".write(to: directory.appendingPathComponent("control-token"), atomically: true, encoding: .utf8)
        let store = SecretStore(environment: ["CREDENTIALS_DIRECTORY": directory.path, "VAKT_SECRET_CONTROL_TOKEN": "from-env"])
        #expect(store.secret(named: "control-token")?.value == "from-credential")
    }
}

extension Secret: Equatable {
    public static func == (lhs: Secret, rhs: Secret) -> Bool { lhs.value == rhs.value }
}
