import Foundation
import Testing
import VaktTesting

#if canImport(Glibc)
    import Glibc
#endif

/// The harness's own contract for the processes tests start, where a wrong one would make other
/// tests wait for nothing or bring the test process down.
@Suite struct ProcessHarnessTests {
    /// Foundation learns of an exit when every holder of its exit-watch socket has closed it; a
    /// process that inherited the socket (here the child's own background `sleep`; in a fresh
    /// clone's suite, once, a server another thread spawned at the same moment) keeps the exited
    /// child "running" for Foundation. The harness reads the exit from the kernel instead.
    @Test(arguments: [("exit 3", Int32(3), Process.TerminationReason.exit), ("kill -KILL $$", SIGKILL, .uncaughtSignal)])
    func anExitIsSeenWhileAnotherProcessHoldsTheChildsDescriptors(ending: String, status: Int32, reason: Process.TerminationReason)
        async throws
    {
        let child = try ServiceProcess(arguments: ["-c", "sleep 600 & echo $!; \(ending)"], executable: "/bin/sh")
        #expect(await child.waitForExit(timeout: .seconds(60)) == status, "\(child.output())")
        #expect(child.terminationReason == reason && !child.isRunning)
        #expect(child.process.isRunning, "Foundation saw the exit: the test no longer shows the case it is for")

        // Once the holder is gone, Foundation sees it too and says the same.
        let holder = try #require(Int32(child.output().trimmingCharacters(in: .whitespacesAndNewlines)), "\(child.output())")
        kill(holder, SIGKILL)
        // Required: Foundation traps on reading how a process it calls running ended.
        try #require(await TestEnvironment.eventually(timeout: .seconds(60)) { !child.process.isRunning })
        #expect(child.process.terminationStatus == status && child.process.terminationReason == reason)
    }
}
