/// Makes one blob present at a destination, the cheapest way there is.
public enum BlobTransfer {
    /// Finds the blob at the destination, or mounts it from the source's repository when both share storage,
    /// or streams it from the source, its length and digest checked on the way (under `scheduler`, when given,
    /// so only bulk transfers wait for a slot).
    /// With `spool`, the blob is downloaded (and verified) into a temporary file in that folder first, then
    /// uploaded from it.
    public static func ensure(_ d: Descriptor, from source: any ImageSource, to destination: any ImageDestination,
                              scheduler: TransferScheduler? = nil, spool: String? = nil) async throws -> BlobOutcome {
        if try await destination.blobExists(d) { return .present }
        let (s, t) = (source.location, destination.location)
        if s.storage == t.storage, s.repository != t.repository, try await destination.mountBlob(d, from: s.repository) {
            return .mounted
        }
        let copy: @Sendable () async throws -> BlobOutcome = {
            let verified = VerifyingStream(try await source.blob(d), expecting: d)
            let stream: any BlobStream = if let spool { try await SpooledBlob(verified, in: spool) } else { verified }
            do { try await destination.putBlob(d, from: stream) } catch {
                stream.cancel()
                throw error
            }
            return .copied(bytes: d.size)
        }
        if let scheduler { return try await scheduler.run(size: d.size, copy) }
        return try await copy()
    }
}
