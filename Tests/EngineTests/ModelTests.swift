import Engine
import Foundation
import Testing

@Suite("Digests, manifests, platforms")
struct ModelTests {
    @Test("sha256 through OpenSSL matches known vectors, also when fed in pieces")
    func sha256() {
        #expect(Digest.sha256(of: [UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.sha256(of: Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var h = Hasher256()
        for b in "abc".utf8 { h.update([b]) }
        #expect(h.finalize().hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var h512 = Hasher256(algorithm: .sha512)
        h512.update(Array("abc".utf8))
        #expect(h512.finalize().hex.hasPrefix("ddaf35a193617aba"))
    }

    @Test("digests parse sha256 and sha512, reject the rest")
    func digests() throws {
        let s = "sha512:" + String(repeating: "0f", count: 64)
        #expect(try Digest(parsing: s).algorithm == .sha512)
        #expect(throws: DigestError.self) { try Digest(parsing: "sha256:" + String(repeating: "0", count: 63)) }
        #expect(throws: DigestError.self) { try Digest(parsing: "sha1:" + String(repeating: "0", count: 40)) }
        #expect(throws: DigestError.self) { try Digest(parsing: "nodigest") }
    }

    @Test("a manifest keeps its exact bytes: whitespace and key order survive, the digest is over the bytes")
    func rawBytesPreserved() throws {
        let text = """
            {"schemaVersion": 2,   "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "layers": [], "config": {"size": 2, "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "mediaType": "application/vnd.oci.image.config.v1+json"}, "x-unknown": true}
            """
        let bytes = Array(text.utf8)
        let m = try RawManifest(bytes: bytes, mediaType: nil)
        #expect(m.bytes == bytes)
        #expect(m.digest == Digest.sha256(of: bytes))
        #expect(m.mediaType == .ociManifest)
        guard case .image(let im) = try m.parsed() else { Issue.record("not an image"); return }
        #expect(im.config.size == 2)
    }

    @Test("media types are sniffed from the JSON when the transport gives none", arguments: [
        (#"{"schemaVersion":2,"manifests":[]}"#, MediaType.ociIndex),
        (#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#, .dockerManifestList),
        (#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#, .ociManifest),
        (#"{"schemaVersion":1,"name":"a","tag":"b","fsLayers":[],"signatures":[{}]}"#, .dockerSchema1Signed),
        (#"{"schemaVersion":1,"name":"a","tag":"b","fsLayers":[]}"#, .dockerSchema1),
    ])
    func sniffing(_ c: (String, MediaType)) throws {
        #expect(try RawManifest(bytes: Array(c.0.utf8), mediaType: "application/json").mediaType == c.1)
    }

    @Test("manifests over 4 MiB, invalid JSON and digest mismatches are refused")
    func manifestErrors() throws {
        #expect(throws: ManifestError.self) {
            try RawManifest(bytes: [UInt8](repeating: 0x20, count: RawManifest.maxSize + 1), mediaType: .ociManifest)
        }
        #expect(throws: ManifestError.self) { try RawManifest(bytes: Array("{nope".utf8), mediaType: nil) }
        let good = Array(#"{"schemaVersion":2,"manifests":[]}"#.utf8)
        #expect(throws: ManifestError.self) {
            try RawManifest(bytes: good, mediaType: nil, expecting: Digest.sha256(of: [1, 2, 3]))
        }
    }

    @Test("index filtering keeps the chosen entries and every other field")
    func filteringIndex() throws {
        let a = Digest.sha256(of: [1]), b = Digest.sha256(of: [2])
        let text = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","annotations":{"k":"v"},"manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(a)","size":1,"platform":{"os":"linux","architecture":"amd64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(b)","size":1,"platform":{"os":"linux","architecture":"s390x"}}]}
            """
        let m = try RawManifest(bytes: Array(text.utf8), mediaType: nil)
        let f = try m.filteringIndex(keeping: [a])
        guard case .index(let idx) = try f.parsed() else { Issue.record("not an index"); return }
        #expect(idx.manifests.map(\.digest) == [a])
        #expect(idx.annotations == ["k": "v"])
        #expect(f.digest != m.digest)
    }

    @Test("platform filters", arguments: [
        (PlatformFilter(architectures: ["amd64", "arm64"], oses: ["linux"]), Platform(os: "linux", architecture: "arm64", variant: "v8"), true),
        (PlatformFilter(architectures: ["amd64", "arm64"], oses: ["linux"]), Platform(os: "linux", architecture: "arm", variant: "v7"), false),
        (PlatformFilter(architectures: ["arm/v7"], oses: nil), Platform(os: "linux", architecture: "arm", variant: "v7"), true),
        (PlatformFilter(architectures: ["arm/v6"], oses: nil), Platform(os: "linux", architecture: "arm", variant: "v7"), false),
        (PlatformFilter(architectures: ["arm64/v8"], oses: nil), Platform(os: "linux", architecture: "arm64"), true),
        (PlatformFilter(architectures: ["amd64"], oses: ["windows"]), Platform(os: "linux", architecture: "amd64"), false),
        (PlatformFilter(architectures: nil, oses: ["windows"]), Platform(os: "windows", architecture: "amd64", osVersion: "10.0.17763"), true),
        (PlatformFilter.all, Platform(os: "linux", architecture: "riscv64"), true),
    ])
    func platformFilter(_ c: (PlatformFilter, Platform, Bool)) {
        #expect(c.0.matches(c.1) == c.2)
    }

    @Test("entries without a platform pass; attestations follow the platform they reference")
    func platformless() throws {
        #expect(PlatformFilter.all.matches(nil))
        #expect(PlatformFilter(architectures: ["amd64"], oses: nil).matches(nil))
        let amd = Digest.sha256(of: [1]), arm = Digest.sha256(of: [2]), artifact = Digest.sha256(of: [3])
        let attAmd = Digest.sha256(of: [4]), attArm = Digest.sha256(of: [5])
        func entry(_ d: Digest, _ p: Platform?, attests: Digest? = nil) -> Descriptor {
            Descriptor(mediaType: .ociManifest, digest: d, size: 1,
                       annotations: attests.map { ["vnd.docker.reference.type": "attestation-manifest",
                                                   "vnd.docker.reference.digest": $0.description] },
                       platform: p)
        }
        let unknown = Platform(os: "unknown", architecture: "unknown")
        let index = ImageIndex(mediaType: .ociIndex, manifests: [
            entry(amd, Platform(os: "linux", architecture: "amd64")), entry(arm, Platform(os: "linux", architecture: "arm64")),
            entry(attAmd, unknown, attests: amd), entry(attArm, unknown, attests: arm), entry(artifact, nil),
        ])
        let kept = IndexSelection.select(index, PlatformFilter(architectures: ["amd64"], oses: ["linux"]))
        #expect(kept.map(\.digest) == [amd, attAmd, artifact])
    }

    @Test("platform JSON uses os.version and os.features")
    func platformCoding() throws {
        let p = try JSONDecoder().decode(Platform.self, from: Data(#"{"os":"windows","architecture":"amd64","os.version":"10.0","os.features":["win32k"]}"#.utf8))
        #expect(p.osVersion == "10.0")
        #expect(p.osFeatures == ["win32k"])
    }
}

@Suite("Streaming verification")
struct VerifyingStreamTests {
    static func drain(_ s: any BlobStream) async throws -> [UInt8] {
        var out: [UInt8] = []
        while let c = try await s.next() { out += c }
        return out
    }

    @Test("passes a matching blob through")
    func matching() async throws {
        let bytes = [UInt8](repeating: 7, count: 1000)
        let d = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: bytes), size: 1000)
        #expect(try await Self.drain(VerifyingStream(MemoryBlobStream(bytes, chunkSize: 100), expecting: d)) == bytes)
        let empty = Descriptor(mediaType: .ociEmpty, digest: .sha256(of: [UInt8]()), size: 0)
        #expect(try await Self.drain(VerifyingStream(MemoryBlobStream([]), expecting: empty)) == [])
    }

    @Test("withholds the final chunk of a blob whose digest does not match")
    func mismatch() async throws {
        let bytes = [UInt8](repeating: 7, count: 1000)
        let d = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: [UInt8](repeating: 8, count: 1000)), size: 1000)
        let s = VerifyingStream(MemoryBlobStream(bytes, chunkSize: 400), expecting: d)
        #expect(try await s.next()?.count == 400)
        #expect(try await s.next()?.count == 400)
        await #expect(throws: BlobVerificationError.self) { _ = try await s.next() }
    }

    @Test("fails blobs longer or shorter than their descriptor")
    func lengths() async throws {
        let bytes = [UInt8](repeating: 7, count: 1000)
        let short = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: bytes), size: 1001)
        await #expect(throws: BlobVerificationError.self) {
            _ = try await Self.drain(VerifyingStream(MemoryBlobStream(bytes), expecting: short))
        }
        let long = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: bytes), size: 999)
        await #expect(throws: BlobVerificationError.self) {
            _ = try await Self.drain(VerifyingStream(MemoryBlobStream(bytes), expecting: long))
        }
    }

    @Test("checking lengths only: other bytes pass (the destination hashes them), wrong lengths still fail")
    func lengthOnly() async throws {
        let bytes = [UInt8](repeating: 7, count: 1000)
        let other = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: [UInt8](repeating: 8, count: 1000)), size: 1000)
        let s = VerifyingStream(MemoryBlobStream(bytes, chunkSize: 300), expecting: other, checkingDigest: false)
        #expect(!s.checksDigest)
        #expect(try await Self.drain(s) == bytes)
        for size in [999, 1001] as [Int64] {
            let d = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: bytes), size: size)
            await #expect(throws: BlobVerificationError.self) {
                _ = try await Self.drain(VerifyingStream(MemoryBlobStream(bytes), expecting: d, checkingDigest: false))
            }
        }
    }
}
