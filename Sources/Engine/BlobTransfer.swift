/// Who hashes blobs in transit.
public enum BlobCheck: String, Sendable, CaseIterable {
    /// dray hashes what it streams, except into a registry, which checks digests itself and refuses a blob whose
    /// bytes do not match (the length is still checked here).
    case auto
    /// dray hashes everything it streams, whatever the destination does.
    case always

    /// Whether a blob streamed into `destination` is hashed here: always with `.always`, and with `.auto` unless
    /// the destination checks digests itself (a registry).
    public func hashes(into destination: any ImageDestination) -> Bool {
        self == .always || !destination.checksBlobDigests
    }
}

/// Makes one blob present at a destination, the cheapest way there is.
public enum BlobTransfer {
    /// Finds the blob at the destination, or mounts it from the source's repository when both share storage,
    /// or streams it from the source, its length and digest checked on the way (under `scheduler`, when given,
    /// so only bulk transfers wait for a slot).
    /// With `spool`, the blob is downloaded (and verified) into a temporary file in that folder first, then
    /// uploaded from it. `check` decides whether the digest is hashed here or left to the destination.
    public static func ensure(_ d: Descriptor, from source: any ImageSource, to destination: any ImageDestination,
                              scheduler: TransferScheduler? = nil, spool: String? = nil,
                              check: BlobCheck = .auto) async throws -> BlobOutcome {
        let (s, t) = (source.location, destination.location)
        if s.storage == t.storage, s.repository != t.repository {
            // A mount from the source's repository also answers whether the blob is here already.
            if try await destination.mountBlob(d, from: s.repository) { return .mounted }
        } else if try await destination.blobExistsOrPrepareUpload(d) {
            return .present
        }
        let copy: @Sendable () async throws -> BlobOutcome = {
            // A spool is a file of dray's own, so it is checked before it is uploaded from.
            let hash = check.hashes(into: destination) || spool != nil
            let verified = VerifyingStream(try await source.blob(d), expecting: d, checkingDigest: hash)
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
