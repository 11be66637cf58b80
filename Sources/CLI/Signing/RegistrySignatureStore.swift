import Engine
import Signing
import Transports

/// An image repository of a registry, as the signer and verifier see it.
struct RegistrySignatureStore: SignatureStore {
    let client: RegistryClient
    let repository: String

    func manifest(tagged tag: String) async throws -> RawManifest? {
        guard try await client.headManifest(repository, .tag(tag)) != nil else { return nil }
        return try await client.manifest(repository, .tag(tag))
    }

    func blob(_ descriptor: Descriptor) async throws -> [UInt8] {
        let stream = client.blob(repository, descriptor)
        var out: [UInt8] = []
        while let chunk = try await stream.next() {
            out += chunk
            guard out.count <= 1 << 20 else {
                stream.cancel()
                throw CLIError("\(repository)@\(descriptor.digest): signature blob larger than 1 MiB")
            }
        }
        return out
    }

    func putBlob(_ descriptor: Descriptor, bytes: [UInt8]) async throws {
        if try await client.headBlob(repository, descriptor.digest) == descriptor.size { return }
        try await client.uploadBlob(repository, descriptor) { MemoryBlobStream(bytes) }
    }

    func putManifest(_ manifest: RawManifest, tagged tag: String) async throws {
        try await client.putManifest(repository, .tag(tag), manifest)
    }
}
