import Foundation
import Testing
import VaktTesting

/// `units/vakt-supervisor.service`, checked with systemd's own tools.
@Suite struct SystemdUnitTests {
    /// The unit with ExecStart pointing at the binary this build made, in a directory of its own.
    func installedCopy() throws -> URL {
        let source = TestEnvironment.packageRoot.appendingPathComponent("units/vakt-supervisor.service")
        let text = try String(contentsOf: source, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/vakt", with: TestEnvironment.vaktExecutable)
        let directory = try TestEnvironment.temporaryDirectory("vakt-unit")
        let copy = directory.appendingPathComponent("vakt-supervisor.service")
        try text.write(to: copy, atomically: true, encoding: .utf8)
        return copy
    }

    /// Lines systemd-analyze prints about other units installed on the host, never about ours.
    static func isHostNoise(_ line: String) -> Bool {
        (line.hasPrefix("Suspicious symlink /") && line.hasSuffix("treating as alias."))
            || line.contains("points to \"null\" which is not a valid unit name")
    }

    @Test func verifyPrintsNothingAboutTheUnit() async throws {
        let analyze = try #require(TestEnvironment.which("systemd-analyze"), "systemd-analyze missing: run scripts/install-deps")
        let unit = try installedCopy()
        let result = try await TestEnvironment.run(analyze, ["verify", unit.path])
        let complaints = result.output.split(separator: "\n").map(String.init).filter { !Self.isHostNoise($0) }
        // verify exits 0 on "ignoring" mistakes (unknown keys, bad values), so any output fails.
        #expect(complaints.isEmpty, "systemd-analyze verify: \(complaints.joined(separator: "\n"))")
        #expect(result.status == 0)
    }

    @Test func securityExposureIsAtMostTwo() async throws {
        let analyze = try #require(TestEnvironment.which("systemd-analyze"))
        let result = try await TestEnvironment.run(analyze, ["security", "--offline=true", try installedCopy().path])
        let line = try #require(result.output.split(separator: "\n").last { $0.contains("Overall exposure level") }, "\(result.output)")
        let score = line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
        #expect(score != nil && score! <= 2.0, "\(line)")
    }

    @Test func unitHasTheSupervisionContract() async throws {
        let text = try String(
            contentsOf: TestEnvironment.packageRoot.appendingPathComponent("units/vakt-supervisor.service"), encoding: .utf8)
        for line in [
            "Type=notify", "NotifyAccess=main", "Restart=on-failure", "KillMode=mixed", "LoadCredential=control-token:",
        ] {
            #expect(text.contains("\n" + line), "missing \(line)")
        }
        #expect(text.contains("\nWatchdogSec="))
        #expect(text.contains("\nTimeoutStopSec="))
    }
}
