import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Hosts on one machine: Linux network namespaces joined by a bridge, each with an address of
/// its own. A program started on a host (``NetworkHost/launch(_:_:)``) sees only that host's
/// network, so it reaches the others over the bridge, as across a LAN, and a host is cut off for
/// real by taking its link down: its connections stop answering, new ones time out. The test
/// process stays outside, reaching every host through the bridge's address. Needs root and
/// `ip` (iproute2).
public final class NetworkHosts: Sendable {
    public let hosts: [NetworkHost]
    private let bridge: String

    /// `count` hosts, `10.<x>.<y>.1` upwards, on a bridge of their own (`10.<x>.<y>.254`).
    public init(count: Int) throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: NetworkHost.ip) else {
            throw MissingFixture("network namespaces need root and \(NetworkHost.ip)")
        }
        let tag = String(UInt32.random(in: 0..<0xFFFF), radix: 16)
        let subnet = "10.\(Int.random(in: 200..<250)).\(Int.random(in: 1..<250))"
        bridge = "vk\(tag)br"
        var hosts: [NetworkHost] = []
        var commands = [
            ["link", "add", bridge, "type", "bridge"], ["addr", "add", "\(subnet).254/24", "dev", bridge],
            ["link", "set", bridge, "up"],
        ]
        for index in 0..<count {
            let name = "vakt-\(tag)-\(index)"
            let host = NetworkHost(name: name, address: "\(subnet).\(index + 1)", link: "vk\(tag)h\(index)")
            hosts.append(host)
            commands += [
                ["netns", "add", name], ["link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", name],
                ["link", "set", host.link, "master", bridge, "up"], ["-n", name, "addr", "add", "\(host.address)/24", "dev", "eth0"],
                ["-n", name, "link", "set", "eth0", "up"], ["-n", name, "link", "set", "lo", "up"],
            ]
        }
        self.hosts = hosts
        machine = NetworkHost(name: nil, address: "\(subnet).254", link: bridge)
        for command in commands { try NetworkHost.run(command) }
    }

    public subscript(index: Int) -> NetworkHost { hosts[index] }

    /// This machine as one of the hosts: programs started on it run outside the namespaces and
    /// answer on the bridge's address (and loopback), which every host reaches.
    public let machine: NetworkHost

    /// Deletes the namespaces, their links and the bridge (a namespace whose programs still run
    /// lives on until they exit; the fixtures that started them kill them first).
    deinit {
        for host in hosts {
            if let name = host.name { try? NetworkHost.run(["netns", "del", name]) }
            try? NetworkHost.run(["link", "del", host.link])
        }
        try? NetworkHost.run(["link", "del", bridge])
    }
}

/// One host of ``NetworkHosts``.
public struct NetworkHost: Sendable {
    /// The network namespace's name; nil for the machine itself.
    public let name: String?
    public let address: String
    /// The host's end of its link to the bridge, outside the namespace.
    let link: String

    static let ip = "/usr/sbin/ip"

    /// This machine's loopback, where fixtures run unless given a host.
    public static let loopback = NetworkHost(name: nil, address: "127.0.0.1", link: "lo")

    /// How to start `executable` with `arguments` on this host.
    public func launch(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        guard let name else { return (executable, arguments) }
        return (Self.ip, ["netns", "exec", name, executable] + arguments)
    }

    /// Takes the host's link down: a partition. Packets to and from it are dropped; its
    /// programs keep running and their sockets stay open. (The machine's link is the bridge:
    /// taking it down cuts every host off from it.)
    public func cutOff() throws { try Self.run(["link", "set", link, "down"]) }

    /// Brings the link up again.
    public func reconnect() throws { try Self.run(["link", "set", link, "up"]) }

    static func run(_ arguments: [String]) throws {
        let result = try TestEnvironment.runBlocking(ip, arguments)
        guard result.status == 0 else { throw MissingFixture("ip \(arguments.joined(separator: " ")): \(result.output)") }
    }
}
