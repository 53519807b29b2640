#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended, decoded from its wait status.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(code: Int32)
    case signaled(signal: Int32, coreDumped: Bool)

    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        if signal == 0 {
            self = .exited(code: (status >> 8) & 0xff)
        } else {
            self = .signaled(signal: signal, coreDumped: status & 0x80 != 0)
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal, let coreDumped):
            "killed by signal \(signal) (\(String(cString: strsignal(signal))))" + (coreDumped ? ", core dumped" : "")
        }
    }
}
