import Foundation
import Testing
import TestSupport
import Yams

/// The Kubernetes manifests in deploy/kubernetes: well-formed, consistent with each other and with dray's flags.
@Suite("deploy/kubernetes")
struct DeployManifestTests {
    static let folder: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("deploy/kubernetes").path
    }()

    static func documents(_ name: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)
        return try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
    }

    /// The pod spec of a Job, or of a CronJob's job template, with the Job spec around it.
    static func jobSpec(_ doc: [String: Any]) -> [String: Any] {
        let spec = doc["spec"] as! [String: Any]
        if doc["kind"] as? String == "CronJob" { return (spec["jobTemplate"] as! [String: Any])["spec"] as! [String: Any] }
        return spec
    }

    @Test("the Indexed Job and the CronJob run COUNT shards with --shard auto/COUNT, credentials from the Secret, the list from the ConfigMap, output per index",
          arguments: ["mirror-job.yaml", "mirror-cronjob.yaml"])
    func indexedJob(file: String) throws {
        let docs = try Self.documents(file)
        #expect(docs.count == 1)
        let doc = docs[0]
        #expect(doc["apiVersion"] as? String == "batch/v1")
        let job = Self.jobSpec(doc)
        #expect(job["completionMode"] as? String == "Indexed")
        let completions = job["completions"] as? Int
        #expect(completions != nil && completions == job["parallelism"] as? Int)
        let pod = (job["template"] as! [String: Any])["spec"] as! [String: Any]
        #expect(["Never", "OnFailure"].contains(pod["restartPolicy"] as? String))
        let container = (pod["containers"] as! [[String: Any]])[0]
        let args = container["args"] as! [String]
        #expect(args.first == "mirror")
        #expect(args.contains("--shard=auto/\(completions ?? -1)"), "--shard COUNT must equal completions")
        // Every $(VAR) in args is defined in env, so Kubernetes expands it.
        let env = (container["env"] as! [[String: Any]]).map { $0["name"] as! String }
        for arg in args {
            var rest = Substring(arg)
            while let open = rest.range(of: "$(") {
                let close = rest[open.upperBound...].firstIndex(of: ")")!
                #expect(env.contains(String(rest[open.upperBound..<close])), "\(arg)")
                rest = rest[rest.index(after: close)...]
            }
        }
        #expect(args.contains { $0.hasPrefix("--report=/out/report-$(JOB_COMPLETION_INDEX)") })
        #expect(args.contains { $0.hasPrefix("--failed=/out/failed-$(JOB_COMPLETION_INDEX)") })
        #expect(env.contains("DOCKER_CONFIG"))
        // Mounts name volumes that exist, backed by the Secret, the ConfigMap and the claim of secret-and-list.yaml.
        let volumes = Dictionary(uniqueKeysWithValues: (pod["volumes"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
        for mount in container["volumeMounts"] as! [[String: Any]] { #expect(volumes[mount["name"] as! String] != nil) }
        let support = try Self.documents("secret-and-list.yaml")
        func named(_ kind: String) -> String? {
            (support.first { $0["kind"] as? String == kind }?["metadata"] as? [String: Any])?["name"] as? String
        }
        let secret = volumes.values.compactMap { ($0["secret"] as? [String: Any])?["secretName"] as? String }.first
        let configMap = volumes.values.compactMap { ($0["configMap"] as? [String: Any])?["name"] as? String }.first
        let claim = volumes.values.compactMap { ($0["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String }.first
        #expect(secret != nil && secret == named("Secret"))
        #expect(configMap != nil && configMap == named("ConfigMap"))
        #expect(claim != nil && claim == named("PersistentVolumeClaim"))
        let listFile = args.first { $0.hasPrefix("--file=") }.map { String($0.dropFirst(7)) }
        let configData = support.first { $0["kind"] as? String == "ConfigMap" }?["data"] as? [String: Any]
        #expect(listFile.map { URL(fileURLWithPath: $0).lastPathComponent }.map { configData?[$0] != nil } == true)
        if doc["kind"] as? String == "CronJob" {
            let spec = doc["spec"] as! [String: Any]
            #expect((spec["schedule"] as? String)?.split(separator: " ").count == 5)
            #expect(spec["concurrencyPolicy"] as? String == "Forbid")
        }
    }

    @Test("the example auth file is a docker config.json dray can read; the Dockerfile builds the dray product")
    func supportFiles() throws {
        let secret = try Self.documents("secret-and-list.yaml").first { $0["kind"] as? String == "Secret" }!
        let config = (secret["stringData"] as! [String: Any])["config.json"] as! String
        let json = try JSONSerialization.jsonObject(with: Data(config.utf8)) as! [String: Any]
        #expect((json["auths"] as? [String: Any])?.isEmpty == false)
        let dockerfile = try String(contentsOfFile: "\(Self.folder)/Dockerfile", encoding: .utf8)
        #expect(dockerfile.contains("--product dray --static-swift-stdlib"))
        #expect(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/dray\"]"))
    }

    @Test("kubectl renders the kustomization offline, when kubectl is installed")
    func kustomize() throws {
        guard let kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first(where: FileManager.default.isExecutableFile) else { return }
        let r = try Shell.run(kubectl, ["kustomize", Self.folder])
        #expect(r.status == 0, "\(r.stderr)")
        let kinds = try Yams.load_all(yaml: r.stdoutText).compactMap { ($0 as? [String: Any])?["kind"] as? String }
        #expect(Set(kinds) == ["Secret", "ConfigMap", "PersistentVolumeClaim", "Job"])
    }
}
