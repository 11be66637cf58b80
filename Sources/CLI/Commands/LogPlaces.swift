/// Where a run reads and writes its images when that is not a registry, as the location prefix a log line puts
/// before the reference (`oci-archive:PATH:`, `oci:PATH:`, `docker-archive:PATH:`), so the line names the real
/// source or destination in the form `dray copy` takes.
struct LogPlaces: Sendable {
    var source = ""
    var destination = ""

    /// Images read from a layout folder.
    static func folder(source path: String) -> LogPlaces { LogPlaces(source: "oci:\(path):") }
    /// Images read from an OCI archive.
    static func archive(source path: String) -> LogPlaces { LogPlaces(source: "oci-archive:\(path):") }
    /// Images read from a `docker save` archive.
    static func dockerArchive(source path: String) -> LogPlaces { LogPlaces(source: "docker-archive:\(path):") }
    /// Images written into a layout folder (a cache).
    static func folder(destination path: String) -> LogPlaces { LogPlaces(destination: "oci:\(path):") }
}
