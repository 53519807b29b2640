/// The build's version, reported in `/health`, `vakt_build_info` and `vakt version`.
public enum VaktVersion {
    public static let current = "0.1.0"
}
