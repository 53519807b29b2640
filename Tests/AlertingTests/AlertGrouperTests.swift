import Alerting
import Foundation
import Testing

@Suite struct AlertGrouperTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let timing = AlertGrouper.Timing(
        groupBy: ["alertname"], groupWait: .seconds(10), groupInterval: .seconds(60), repeatInterval: .seconds(3600))

    func alert(_ name: String, _ service: String) -> Alert {
        Alert(
            labels: ["alertname": name, "service": service, "severity": "critical"], annotations: ["summary": "\(service) is failing"],
            startsAt: start, generatorURL: "http://127.0.0.1:8005/api/mesh")
    }

    @Test func aNewGroupWaitsThenNotifiesOnceWithEverythingThatJoined() {
        var grouper = AlertGrouper(timing: timing)
        grouper.update(firing: [alert("VaktServiceFailing", "execution")], at: start)
        #expect(grouper.flush(at: start + 9).isEmpty)
        grouper.update(firing: [alert("VaktServiceFailing", "execution"), alert("VaktServiceFailing", "risk")], at: start + 5)
        let first = grouper.flush(at: start + 10)
        #expect(first.count == 1)
        #expect(first.first?.groupKey == "{}:{alertname=\"VaktServiceFailing\"}")
        #expect(first.first?.status == "firing")
        #expect(Set(first.first?.alerts.compactMap { $0.labels["service"] } ?? []) == ["execution", "risk"])
        #expect(grouper.flush(at: start + 100).isEmpty, "nothing changed: nothing until the repeat interval")
        #expect(grouper.nextDeadline == start + 10 + 3600)
        #expect(grouper.flush(at: start + 3610).count == 1, "repeated while firing")
    }

    @Test func aResolvedAlertIsSentOnceAtTheNextGroupInterval() {
        var grouper = AlertGrouper(timing: timing)
        grouper.update(firing: [alert("VaktServiceFailing", "execution")], at: start)
        _ = grouper.flush(at: start + 10)
        grouper.update(firing: [], at: start + 20)
        #expect(grouper.flush(at: start + 69).isEmpty)
        let resolved = grouper.flush(at: start + 70)
        #expect(resolved.count == 1)
        #expect(resolved.first?.status == "resolved")
        #expect(resolved.first?.alerts.first?.endsAt == start + 20)
        #expect(grouper.flush(at: start + 10_000).isEmpty)
        #expect(grouper.firing.isEmpty)
        #expect(grouper.nextDeadline == nil)
    }

    @Test func anAlertThatResolvesBeforeItWasEverSentIsNeverSent() {
        var grouper = AlertGrouper(timing: timing)
        grouper.update(firing: [alert("VaktServiceFailing", "execution")], at: start)
        grouper.update(firing: [], at: start + 2)
        #expect(grouper.flush(at: start + 10).isEmpty)
    }

    @Test func theSameAlertFiringAgainIsNotNew() {
        var grouper = AlertGrouper(timing: timing)
        grouper.update(firing: [alert("VaktServiceFailing", "execution")], at: start)
        _ = grouper.flush(at: start + 10)
        var later = alert("VaktServiceFailing", "execution")
        later.startsAt = start + 30
        later.annotations["description"] = "still down"
        #expect(grouper.update(firing: [later], at: start + 30) == false)
        #expect(grouper.firing.first?.startsAt == start, "an alert keeps its start")
        #expect(grouper.firing.first?.annotations["description"] == "still down")
    }

    @Test func undeterminedAlertsNeitherFireNorResolve() throws {
        var grouper = AlertGrouper(timing: timing)
        let execution = alert("VaktServiceFailing", "execution")
        grouper.update(firing: [execution], at: start)
        _ = grouper.flush(at: start + 10)
        // After a restart the state comes back from the outbox; the service is still starting.
        let restored = AlertGrouper(timing: timing, state: grouper.state)
        var after = restored
        #expect(after.update(firing: [], undetermined: [execution.fingerprint], at: start + 20) == false)
        #expect(after.firing.count == 1)
        let encoded = try JSONEncoder().encode(grouper.state)
        #expect(try JSONDecoder().decode(AlertGrouper.State.self, from: encoded) == grouper.state)
    }

    @Test func fingerprintsAreAlertmanagers() {
        // FNV-1a 64 of "alertname\xffTest\xff", as Alertmanager's labelSetToFingerprint computes it.
        #expect(Alert.fingerprint(of: ["alertname": "Test"]) == "e46aaa9fcf75dd34")
        #expect(Alert.fingerprint(of: [:]) == "cbf29ce484222325")
        #expect(Alert.fingerprint(of: ["a": "b", "c": "d"]) != Alert.fingerprint(of: ["a": "d", "c": "b"]))
    }
}
