@testable import Engine
import Testing
import Yams

/// Engine's YAML reader, read against Yams (libyaml), which dray used before: the same trees (shape, key order,
/// scalar text and style, `string`, `bool`, resolved tag, line of every node) and the same refusals, with the line
/// libyaml reports.
@Suite("YAML reader")
struct YAMLReaderTests {
    // MARK: Corpus

    /// image-syncer's README config as the README prints it (Chinese comments after `//`, tabs after the last
    /// braces): neither reader takes it (dray says so before parsing; see `SyncConfig.jsonCommentLine`).
    static let readmeConfig = """
        {
            "auth": {                   // 认证字段，其中每个对象为一个registry的一个账号和
                                        // 密码；通常，同步源需要具有pull以及访问tags权限，
                                        // 同步目标需要拥有push以及创建仓库权限，如果没有提供，则默认匿名访问

                "quay.io": {            // 支持 "registry" 和 "registry/namespace"（v1.0.3之后的版本） 的形式，需要跟下面images中的registry(registry/namespace)对应
                                        // images中被匹配到的的url会使用对应账号密码进行镜像同步, 优先匹配 "registry/namespace" 的形式
                    "username": "xxx",               // 用户名，可选
                    "password": "xxxxxxxxx",         // 密码，可选
                    "insecure": true                 // registry是否是http服务，如果是，insecure 字段需要为true，默认是false，可选，支持这个选项需要image-syncer版本 > v1.0.1
                },
                "registry.cn-beijing.aliyuncs.com": {
                    "username": "xxx",
                    "password": "xxxxxxxxx"
                },
                "registry.hub.docker.com": {
                    "username": "xxx",
                    "password": "xxxxxxxxxx"
                },
                "quay.io/coreos": {
                    "username": "abc",
                    "password": "xxxxxxxxx",
                    "insecure": true
                }
            },
            "images": {
                // 同步镜像规则字段，其中条规则包括一个源仓库（键）和一个目标仓库（值）

                // 同步的最大单位是仓库（repo），不支持通过一条规则同步整个namespace以及registry

                "quay.io/coreos/kube-rbac-proxy": "quay.io/ruohe/kube-rbac-proxy",
                "xxxx":"xxxxx",
                "xxx/xxx/xx:tag1,tag2,tag3":"xxx/xxx/xx"

                // 当源仓库字段中不包含tag时，表示将该仓库所有tag同步到目标仓库，此时目标仓库不能包含tag
                // 当目标仓库为空字符串时，会将源镜像同步到默认registry的默认namespace下
            }\t
        }\t

        """

    /// The README config with its comments removed: JSON, with the tabs and the blank line kept.
    static var readmeConfigWithoutComments: String {
        readmeConfig.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.firstRange(of: "//").map { line[..<$0.lowerBound] } ?? line
        }.joined(separator: "\n")
    }

    /// The other config snippets of the image-syncer pages, and the YAML front matter of the pages themselves.
    static let seeds: [String] = [
        readmeConfigWithoutComments,
        """
        {
            "harbor.uat.dftccloud.t.home": {
                "username": "dk",
                "password": "xxxxxxxx",
                "insecure": true
            },
            "harbor.ingeek.com": {
                "username": "admin",
                "password": "xxxxxxxx",
                "insecure": false
            }
        }
        """,
        """
        {
        "harbor.ingeek.com/idp/idp-dkm:release2.1_18caf17_202302151719":"harbor.uat.dftccloud.t.home/dk/idp-dkm"
        }
        """,
        """
        title: 使用image-syncer来实现容器镜像同步
        categories:
          - Kubernetes
        tags:
          - 镜像
          - 同步
          - 容器
        abbrlink: le5lzctq
        date: 2023-02-15 19:47:31
        """,
        "---\ntitle: \"Mirror 命令\"\n---\n",
        "---\ntitle: Sync 命令\n...\n",
        // The README's rules as a bare list of pairs is not YAML: a flow of scalars after a comma.
        "\"quay.io/coreos/kube-rbac-proxy\": \"quay.io/ruohe/kube-rbac-proxy\",\n\"xxxx\":\"xxxxx\",\n",
    ]

    /// The configs dray's own tests write (SyncConfigTests, RegistryProfileTests, MirrorCLITests,
    /// HostileInputCLITests, RegistryProfilesCLITests, RegistryKindsCLITests, SyncerCompatCLITests).
    static let testConfigs: [String] = [
        """
        {
            "auth": {
                "quay.io": {            // a registry and its account
                    "username": "u", "password": "http://not-a-comment//"
                }
            },
            "images": {}
        }
        """,
        SyncConfigTests.jsonConfig,
        "reg.example:\n  username: u\n  password: p\n",
        "# rules\nreg.example/ns/app:1.0: other.example/ns/app\nreg.example/ns/all: ''\n",
        "{\"auth\": {}, \"imagez\": {}}",
        "images:\n  reg.example/a/b:/[unclosed/: x/y/z\n",
        "images:\n  nginx: x/y/z\n",
        "auth:\n  reg.example:\n    user: x\n",
        "images:\n  quay.io/coreos/k:/: x/y/z\n",
        SyncConfigTests.mappingRules,
        """
        # dray registries
        defaults:
          maxConnections: 16
        registries:
          harbor.example.com:
            kind: harbor
            upload: chunked
            chunkSize: 8MiB
            requestsPerSecond: 20/s
          "*.corp.example":
            tlsVerify: false
            blobCheck: get
          docker.io:
            rateLimitMin: 25
        """,
        "registries:\n  a.io:\n    maxConection: 3\n",
        "registries:\n  a.io:\n    upload: sideways\n",
        "registries:\n  a.io:\n    chunkSize: 1MiB\n",
        "hosts:\n  a.io: {}\n",
        "registries:\n  a.io/x:\n    mount: never\n",
        "registries:\n  \"127.0.0.1:5000\":\n    maxConnections: 2\n",
        "registries:\n  \"127.0.0.1:5000\":\n    upload: chunked\n    chunkSize: 16KiB\n",
        "registries:\n  \"127.0.0.1:5001\":\n    apiHost: \"127.0.0.1:5002\"\n    authFile: /tmp/dray-x/auth.json\n",
        "defaults:\n  maxConnections: 12\nregistries:\n  \"127.0.0.1:5003\":\n    upload: chunked\n    chunkSize: 4MiB\n",
        "auth:\n  r.example:\n    username: u\n    pasword: p\nimages:\n  r.example/a/b: s.example/a/b\n",
        """
        auth:
          127.0.0.1:5001:
            username: syncer
            password: ${DRAY_TEST_SYNC_PW}
        images:
          127.0.0.1:5000/sync/app:v1,v2: 127.0.0.1:5001/mirror/app
          "127.0.0.1:5000/sync/app:/^v[0-9]$/": [127.0.0.1:5001/regex/app]
          127.0.0.1:5000/sync/tools: 127.0.0.1:5001/all/tools
          127.0.0.1:5000/sync/app:latest: 127.0.0.1:5001/renamed/app:stable
          127.0.0.1:5000/sync/missing:1: 127.0.0.1:5001/x/missing
        """,
        "{\"images\": {\"127.0.0.1:5000/plat/app:1\": \"127.0.0.1:5001/all/app\"}}",
        "{\"r.example/a/b\": [\"s.example/a/b\", {\"x\": 1}]}",
    ]

    /// Every feature the reader takes, alone and mixed.
    static let tricky: [String] = [
        // Plain scalars that hold ':' and '#', keys with ports and regexes.
        "key: http://x\nother: a:b\nurl: http://a#b\npath: /a/b:c\n",
        "images:\n  harbor.example.com:5000/ns/repo:tag: dst.example/ns/repo\n  quay.io/a/b:/^v1\\.[0-9]+$/: [x.example/a/b, y.example/a/b]\n  \"quay.io/a/c:/re.*/\": ''\n",
        "{url: http://x, b: a:b}",
        "{a:b}",
        "key:value\n",
        "a :b\n",
        "a  :  b  \n",
        "- -1\n- -a\n- -\n",
        "?x: 1\n",
        ":x: 1\n",
        "a: -x\n",
        "a: b#c\nd: e #f\n",
        // Multi-line plain scalars.
        "plain multi\n  line scalar\n",
        "key: first\n  second\n  third\n\n  after blank\nnext: 1\n",
        "- first\n  continued\n- second\n",
        "- a\n- b\n - c\n",
        "a:\n  b\n  c\n",
        "[plain\n\n  in flow,\n  x]\n",
        "{a: multi\n  line, b: c}\n",
        "a: x\n  \ty\n",
        // Quoted scalars: escapes and folding.
        "a: \"double\n  quoted\n\n  folded\"\nb: 'single\n  quoted'\n",
        "a: \"trailing spaces   \n  next\"\n",
        "a: \"esc \\\n   aped\"\n",
        "a: \"x\\\n\n  y\"\n",
        "a: \"\\\\ \\\" \\/ \\t \\n\"\n",
        "a: \"\\x41\\u00e9\\U0001F600\"\n",
        "a: \"\\N\\_\\L\\P\"\n",
        "a: \"\\e\\a\\b\\v\\f\\r\\0\\ \"\n",
        "a: \"\\t tab\"\nb: \"\tliteral tab\"\nc: '\tliteral tab'\n",
        "a: 'it''s'\nb: \"say \\\"hi\\\"\"\nc: 'back\\slash'\n",
        "a: 'multi\n\n  line\n    single'\n",
        "a: \"unicode é 😀\"\nb: ünïcödé plain\nключ: значение\n",
        "\"key with spaces\": value\nkey with spaces too: value\n",
        // Block scalars: literal, folded, chomping, indentation indicators.
        "a: |\n  line one\n   indented\n  line three\n\nb: >\n  folded one\n  folded two\n   more indented\n  back\n\n  para\nc: |+\n  keep\n\nd: >-\n  strip\n  this\n",
        "- |1\n   one space more\n- >2-\n    two\n",
        "root: |\n  text\n    # inside\n",
        "|\n  top literal\n",
        ">\n  top folded\n  text\n",
        "a: |\n   first more\n  second\n",
        "a: |\n\n     \n  x\n",
        "a: >\n  a\n\n   b\n  c\n",
        "a: |\nb: 1\n",
        "a: |+\n\nb: 1\n",
        "a: |-\n  x\n\n\n",
        "a: |+\n  x\n\n\n",
        "a: |  # comment\n  x\n",
        "a: |2-\n  x\n",
        "a: >+1\n  x\n",
        "key:\n|\n x\nb: 1\n",
        "-\n>\n x\n- y\n",
        // Documents, comments, blank lines.
        "--- |\n  after marker\n",
        "--- \"quoted root\"\n",
        "--- [a, b]\n",
        "---\n- a\n- b\n...\n",
        "---\na: 1\n...\n# trailing\n",
        "---\n",
        "---\n# c\n...\n",
        "# only a comment\n",
        "a: 1 # c\n# full line\nb: 2\n  # indented comment\nc: 3\n",
        "a:\n  b: 1\n # comment less indented\n  c: 2\n",
        "a: 1\n\n\nb: 2\n",
        "a:\n\n  b: 1\n",
        "%YAML 1.1\n---\na: 1\n",
        "%TAG !e! tag:example.com,2000:\n---\n- !e!x%21 y\n",
        // Block collections: sequences at their key's column, compact forms, nesting.
        "seq:\n- a\n- b\nmap:\n  k: v\n",
        "- a: 1\n  b: 2\n- c: 3\n-   d: 4\n    e: 5\n",
        "- - a\n  - b\n- - c\n",
        "-\n  a: 1\n-\n  - x\n",
        "- \n- x\n",
        "a:\n  b:\n    c:\n      d: e\n",
        "    a: 1\n    b: 2\n",
        "  - a\n  - b\n",
        "key:\n\n\n  - a\n",
        // Flow collections over lines, JSON, flow in block.
        "{a: [1, {b: c}], d: {e: [f, g]}}",
        "[a, [b, [c, [d]]]]",
        "{\n  \"multi\": [\n    1,\n    2\n  ],\n  \"line\": {\n    \"x\": \"y\"\n  }\n}\n",
        "key: [a,\n  b,\n    c]\n",
        "key: {a: 1,\nb: 2}\n",
        "[a, b, ]",
        "{a: 1, b: 2,}",
        "[a: 1, b: 2]",
        "[a: ]",
        "{a: , b}",
        "{a: ,\n b\n}\n",
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":-1.5e3}}",
        "{\"a\": \"\\u00e9\\n\\t\"}",
        "a: []\nb: {}\n",
        "[a]: b\n",
        "{[a]: b, {c: d}: e}",
        "{\n\t\"a\": [\n\t\t1,\n\t\t2\n\t]\n}\t \n",
        // Anchors, aliases, tags.
        "a: &x {b: c}\nd: *x\n",
        "- &a one\n- &b two\n- *a\n- *b\n- &a three\n- *a\n",
        "base: &base\n  x: 1\ncopy: *base\n",
        "&anchor a: b\n*anchor : c\n",
        "a: &b-c_d x\nb: *b-c_d\n",
        "- &a\n- *a\n",
        "a: &x\n  b: c\n",
        "&root\na: 1\n",
        "!!map\n&r\na: 1\n",
        "--- !!map\na: 1\n",
        "a: !!str 123\nb: !!int \"42\"\nc: ! plain\nd: !local value\ne: !<tag:yaml.org,2002:str> x\nf: !!str\ng: !!binary aGVsbG8=\n",
        "a: !!str\n  b: c\n",
        "[!!str , a]",
        "[!!str,a]",
        // What values mean: booleans, nulls, numbers, timestamps.
        "a: true\nb: \"true\"\nc: yes\nd: On\ne: !!str true\nf: ~\ng:\nh: null\ni: ''\nj: ! true\nk: |\n  true\n",
        "a: TRUE\nb: Yes\nc: NO\nd: tRuE\ne: \"yes\"\nf: y\ng: n\n",
        "yes: no\non: off\ntrue: false\n",
        "int: 0x1F\noct: 0o17\nbin: 0b101\nfloat: 1.5e10\nneg: -.inf\nnan: .NaN\nsexa: 1:30:00\nts: 2001-12-14t21:59:43.10-05:00\nts2: 2001-12-14 21:59:43.10 -5\ndate: 2002-12-14\nunder: 1_000\nstr: 1.2.3\n",
        "- 1\n- '1'\n- 01\n- 09\n- +1\n- -0b1\n- 0x\n- 0o\n- 1_0\n- 1:2\n- 1:60\n- 1e5\n- .5\n- ._\n- -.5\n- +.INF\n- .Nan\n- 1.\n- 1.5e+3\n- 1:30.5\n- <<\n- =\n- Null\n- NULL\n- nULL\n- 2001-1-1 1:2:3\n- 2001-1-1T1:2:3Z\n- 2001-1-1  1:02:03.5 +05:30\n- 2001-01-01x\n",
        "a: 1\n'1': 2\n1: 3\n",
        // Line ends and byte order.
        "a: 1\r\nb:\r\n  - x\r\n  - \"y\r\n  z\"\r\nc: |\r\n  l1\r\n  l2\r\n",
        "a: 1\rb: 2\r",
        "\u{FEFF}{\"a\": 1,\n\"b\": 2}\n",
        "\u{FEFF}a: 1\n",
        // Tabs where libyaml takes them.
        "key:\tvalue\n",
        "a: 1\t# c\n",
        "a: \"x\n\ty\"\n",
        "---\tx\n",
        // Long keys: libyaml's 1024 characters.
        String(repeating: "k", count: 1020) + ": v\n",
        String(repeating: "é", count: 600) + ": v\n",
    ]

    /// Malformed documents: both readers refuse them, on the same line.
    static let refused: [String] = [
        "key: value: x\n",
        "a: b: c\n",
        "--- a: b\n",
        "key: a\n  b: x\n",
        "\"multi\n line\": x\n",
        "a:\n  b: 1\n   c: 2\n",
        "a:\n   b: 1\n  c: 2\n",
        "a: 1\n  b: 2\n",
        "a: \"b\"\n  c: d\n",
        "- \"a\"\n  b\n",
        "- a: 1\n b: 2\n",
        "a: x\n- y\n",
        "\"a\"\nb\n",
        "a: 1\nb\nc: 2\n",
        "a: 1\nb\n",
        "- a\n-b\n",
        "- a\n- b\nc: d\n",
        "a:\n  - b\n  c: d\n",
        "a:\n  - b\n - c\n",
        "a: 'x'y\n",
        "a: \"x\" y\n",
        "a: [b]c\n",
        "a: - b\n",
        "--- - a\n",
        "key: - a\n",
        "images: [1, 2",
        "registries:\n  a.io: [\n",
        "a: [1, 2\nb: 3\n",
        "a: {x: 1\n",
        "{a: [1, 2}",
        "[a, , b]",
        "[a, b\n",
        "[- a]",
        "{a:}",
        "[a:]",
        "{:a}",
        "{a: b: c}",
        "{a: 1}}",
        "]",
        "a: ]\n",
        "a: \"unclosed\nb: 2\n",
        "a: 'unclosed\n",
        "a: \"x\\\n",
        "a: \"\\q\"\n",
        "a: \"\\xZZ\"\n",
        "a: \"\\uD800\"\n",
        "a: \"\\U00110000\"\n",
        "a: |0\n  x\n",
        "a: |x\n  x\n",
        "a: | x\n",
        "a: |\n  x\n y\n",
        "a: |\n\tx\n",
        "a: |\n  x\n\ty\n",
        "images:\n\tr.example/a/b: s.example/a/b\n",
        "a:\n  b: 1\n\t\n",
        "a: x\n\ty\n",
        "- \t1\n",
        "-\t1\n",
        "a: 1\nb: 2\n---\nc: 3\n",
        "a: 1\n...\nb: 2\n",
        "a: 1\n---\n",
        "--- a\n--- b\n",
        "- a\n---\n- b\n",
        "a: *undefined\n",
        "&a [*a]\n",
        "- !e!tag x\n",
        "a: !<x\n",
        "[!!str]",
        "a: !!str# x\n",
        "&a &b x\n",
        "!!str !!int x\n",
        "%YAML 1.1\n%YAML 1.1\n---\na\n",
        "%YAML 1.3\n---\na\n",
        "%YAML 1.1\na: b\n",
        "%FOO bar\n---\na\n",
        "%TAG !e! tag:e.com:\n%TAG !e! tag:f.com:\n---\na\n",
        "@a: 1\n",
        "`a`: 1\n",
        "a: %b\n",
        "a: b\n%c: d\n",
        "...\n",
        "images:\n  reg.example/a/b\u{7f}:1: x/y/z\n",
        "k: v\n\u{1}\n",
        "k: \u{FFFE}\n",
        "{\"a\"\n: 1}\n",
        String(repeating: "k", count: 1030) + ": v\n",
        String(repeating: "é", count: 1030) + ": v\n",
        "{\"" + String(repeating: "k", count: 1030) + "\": v}",
        readmeConfig,
    ]

    /// The repository's fuzzing seeds that are YAML or JSON.
    static let fuzzSeeds = [
        "config/config.json", "config/config.yaml", "config/found-trailing-colon-slash.yaml",
        "manifest/schema1.json", "manifest/index.json", "manifest/image.json",
        "trustedroot/staging.json", "trustedroot/public-good.json",
        "bundle/happy-path-v0.1.json", "bundle/happy-path-intoto-in-dsse-v3.json", "bundle/happy-path-v0.3.json",
        "bundle/rekor2-happy-path.json", "bundle/managed-key-happy-path.json", "bundle/bundle-malformed-json_fail.json",
    ]

    static func fuzzSeed(_ name: String) throws -> String {
        let root = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).dropLast(3)
        return try TextFile.read(root.joined(separator: "/") + "/Fuzz/Seeds/" + name, limit: 1 << 22)
    }

    // MARK: Differential tests

    @Test("the image-syncer pages' configs and front matter read as Yams reads them")
    func seedsAsYams() {
        for text in Self.seeds { expectSameAsYams(text) }
        #expect(Self.seeds.count + Self.testConfigs.count + Self.tricky.count + Self.refused.count + Self.fuzzSeeds.count >= 80)
    }

    @Test("the configs dray's tests write read as Yams reads them")
    func testConfigsAsYams() {
        for text in Self.testConfigs { expectSameAsYams(text) }
    }

    @Test("every feature, alone and mixed, reads as Yams reads it")
    func trickyAsYams() {
        for text in Self.tricky { expectSameAsYams(text) }
    }

    @Test("the fuzzing seeds (JSON manifests, Sigstore bundles and roots, sync configs) read as Yams reads them")
    func fuzzSeedsAsYams() throws {
        for name in Self.fuzzSeeds { expectSameAsYams(try Self.fuzzSeed(name), name) }
    }

    @Test("malformed documents are refused by both, on the line libyaml gives")
    func refusedAsYams() {
        for text in Self.refused {
            let theirs = yamsLine(text)
            #expect(theirs != nil, "Yams takes \(text.debugDescription.prefix(200))")
            do {
                _ = try YAML.compose(text)
                Issue.record("accepted: \(text.debugDescription.prefix(200))")
            } catch {
                #expect(error.line == theirs, "\(text.debugDescription.prefix(200)): \(error), Yams: line \(theirs ?? 0)")
            }
        }
    }

    /// Where the reader and Yams part, on purpose.
    @Test("documented differences: explicit and empty keys, a byte order mark, U+0085, a duplicate key's line")
    func documentedDifferences() throws {
        // Explicit `? ` keys and keys made of properties only: Yams takes them, the reader refuses them (configs
        // never use them).
        for text in ["? a\n: b\n", "{? a}", "[a, ? b]", "&a : x\n", "- !!str : x\n"] {
            #expect(yamsLine(text) == nil, "\(text.debugDescription)")
            #expect(throws: YAMLError.self) { try YAML.compose(text) }
        }
        // A byte order mark (Windows editors write one) is skipped: Yams counts it as a column and then refuses
        // `---`, a second top-level key or a top-level sequence.
        #expect(yamsLine("\u{FEFF}---\nb: 2\n") == 2 && yamsLine("\u{FEFF}- a\n- b\n") == 2)
        #expect(yamsLine("\u{FEFF}a: 1\nb: 2\n") == 2)
        #expect(try YAML.compose("\u{FEFF}a: 1\nb: 2\n")?.mapping?.map(\.key.line) == [1, 2])
        #expect(try YAML.compose("\u{FEFF}---\nb: 2\n")?.mapping?.first?.key.line == 2)
        #expect(try YAML.compose("\u{FEFF}- a\n- b\n")?.sequence?.count == 2)
        // U+0085, U+2028 and U+2029 are not line breaks (YAML 1.2); libyaml folds them like one.
        #expect(try YAML.compose("k: \"a\u{85}b\"")?.mapping?.first?.value.string == "a\u{85}b")
        #expect(try Yams.compose(yaml: "k: \"a\u{85}b\"")?.mapping?.first?.value.string == "a b")
        // A repeated key: Yams gives the first one's line, the reader the repeat's (and the first's in the text).
        #expect(yamsLine("a: 1\nb: 2\n\"a\": 3\n") == 1)
        #expect(throws: YAMLError(line: 3, problem: "duplicate key \"a\", first on line 1")) { try YAML.compose("a: 1\nb: 2\n\"a\": 3\n") }
    }

    // MARK: Specific behaviour

    @Test("values: string and bool as Yams gives them")
    func accessors() throws {
        let node = try #require(try YAML.compose("""
            a: true
            b: "true"
            c: yes
            d: On
            e: !!str true
            f: ~
            g:
            h: null
            i: ''
            j: ! off
            k: |
              no
            l: [x]
            """))
        let values = try #require(node.mapping).map(\.value)
        #expect(values.map(\.bool) == [true, nil, true, true, nil, nil, nil, nil, nil, false, nil, nil])
        #expect(values.map(\.string) == ["true", "true", "yes", "On", "true", "~", "", "null", "", "off", "no\n", nil])
        #expect(values[11].sequence?.first?.string == "x" && values[11].mapping == nil && values[11].scalar == nil)
        #expect(values.map(\.scalar?.style) == [.plain, .doubleQuoted, .plain, .plain, .plain, .plain, .plain, .plain,
                                                .singleQuoted, .plain, .literal, nil])
        #expect(values[4].tag == "tag:yaml.org,2002:str" && values[9].tag == "!" && values[0].tag == nil)
        #expect(try #require(node.mapping).map(\.key.line) == Array(1...11) + [13])
    }

    @Test("untagged plain scalars resolve to Yams' types", arguments: [
        "1", "-1", "+1", "0", "00", "07", "08", "09", "0o17", "0o", "0b101", "0b", "0x1F", "0x", "0x_f", "1_000", "1:30",
        "1:60", "1:30:59", "0:30", "1e5", "1.5e+3", "1.5E-3", "1e+", ".5", "._", "-.5", ".5e+1", ".5e1", "1.", "1:30.5",
        ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "-.nan", "<<", "=", "~", "null", "Null", "NULL", "nULL", "", "true",
        "tRUE", "yes", "Off", "y", "2001-12-14", "2001-1-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
        "2001-1-1 1:2:3", "2001-1-1T1:02:03Z", "2001-1-1  1:02:03.5 +05:30", "2001-01-01x",
        "1.2.3", "a", "0.", "+", ".",
    ])
    func implicitTags(text: String) throws {
        let theirs = try #require(try Yams.compose(yaml: "- \(text)\n")?.sequence?.first).tag.description
        #expect(YAMLTag.implicit(text) == theirs)
    }

    @Test("errors name the line at fault", arguments: [
        ("key: value: x", 1, "mapping values are not allowed"),
        ("images:\n\tr.example/a/b: s.example/a/b\n", 2, "a tab indents this line"),
        ("a: [1, 2", 2, "expected ',' or ']'"),
        ("registries:\n  a.io: [\n", 3, "expected a value"),
        ("a: \"unclosed\nb: 2\n", 3, "without its closing quote"),
        ("a:\n  b: 1\n c: 2\n", 3, "expected a key at column 1, the mapping's indentation"),
        ("a: 1\nb\nc: 2\n", 3, "could not find expected ':'"),
        ("a: 1\na: 2\n", 2, "duplicate key \"a\", first on line 1"),
        ("{\"a\": 1, \"b\": 2,\n \"a\": 3}", 2, "duplicate key \"a\""),
        ("- a\n---\n- b\n", 2, "a second document"),
        ("a: *nope\n", 1, "undefined alias *nope"),
        ("k: v\u{7f}w\n", 1, "control characters are not allowed"),
        ("a: |0\n  x\n", 1, "indentation indicator"),
        ("a: \"\\q\"\n", 1, "unknown escape '\\q'"),
        ("? a\n: b\n", 1, "explicit keys"),
        ("a: - b\n", 1, "block sequence entries are not allowed here"),
        ("a:\n  - b\n  c: d\n", 3, "expected '-'"),
    ])
    func errorLines(text: String, line: Int, problem: String) {
        do {
            _ = try YAML.compose(text)
            Issue.record("accepted: \(text.debugDescription)")
        } catch {
            #expect(error.line == line, "\(text.debugDescription): \(error)")
            #expect(error.problem.contains(problem), "\(text.debugDescription): \(error)")
            #expect(error.description == "line \(error.line): \(error.problem)")
        }
    }

    @Test("nesting stops at 256 levels with an error, aliases included, however deep the text goes")
    func depthCap() throws {
        let flow = { (n: Int) in String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        #expect(try YAML.compose(flow(256)) != nil)
        #expect(throws: YAMLError(line: 1, problem: "nested deeper than 256 levels")) { try YAML.compose(flow(257)) }
        #expect(throws: YAMLError.self) { try YAML.compose(flow(1_000_000)) }
        #expect(try YAML.compose(String(repeating: "- ", count: 256) + "x\n") != nil)
        #expect(throws: YAMLError.self) { try YAML.compose(String(repeating: "- ", count: 257) + "x\n") }
        let block = { (n: Int) in (0..<n).map { String(repeating: " ", count: $0) + "k:\n" }.joined() }
        #expect(try YAML.compose(block(256)) != nil)
        #expect(throws: YAMLError(line: 257, problem: "nested deeper than 256 levels")) { try YAML.compose(block(257)) }
        // An alias brings the depth of what it names.
        let deep = "a: &a " + flow(200) + "\nb: " + String(repeating: "[", count: 60) + "*a" + String(repeating: "]", count: 60) + "\n"
        #expect(throws: YAMLError(line: 2, problem: "nested deeper than 256 levels through alias *a")) { try YAML.compose(deep) }
        let shallow = "a: &a " + flow(190) + "\nb: " + String(repeating: "[", count: 60) + "*a" + String(repeating: "]", count: 60) + "\n"
        #expect(try YAML.compose(shallow) != nil)
        // Ten aliases to ten aliases… twenty times over is 10^20 leaves if expanded: the tree shares them.
        var laughs = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
        for k in 1...20 { laughs += "l\(k): &l\(k) [" + Array(repeating: "*l\(k - 1)", count: 10).joined(separator: ", ") + "]\n" }
        #expect(try YAML.compose(laughs)?.mapping?.count == 21)
    }

    @Test("a 1 MB config reads in one pass (and the same as Yams)")
    func largeDocument() throws {
        var text = "auth:\n"
        for k in 0..<2000 {
            text += "  reg\(k).example.com:\n    username: user\(k)\n    password: \"p@ss\(k)\"\n    insecure: \(k % 2 == 0)\n"
        }
        text += "images:\n"
        var rules = 0
        while text.utf8.count < 1 << 20 {
            text += "  src\(rules).example.com/ns/app\(rules):v1,v2: [dst.example.com/m/app\(rules), other.example/x/app\(rules)]\n"
            rules += 1
        }
        let node = try #require(try YAML.compose(text))
        #expect(node.mapping?.first?.value.mapping?.count == 2000)
        #expect(node.mapping?.last?.value.mapping?.count == rules)
        let config = try SyncConfig.parse(configText: text, file: "big.yaml")
        #expect(config.rules.count == rules && config.auth.count == 2000)
        #expect(config.rules.last?.line == text.utf8.filter { $0 == 0x0A }.count)
        // One long line, one long block scalar, one long JSON array.
        #expect(try YAML.compose("a: " + String(repeating: "x", count: 1 << 20))?.mapping?.first?.value.string?.utf8.count == 1 << 20)
        let lines = (0..<60_000).map { "  line \($0)\n" }.joined()
        #expect(try YAML.compose("a: |\n" + lines)?.mapping?.first?.value.string?.count == lines.count - 2 * 60_000)
        let array = "[" + (0..<150_000).map { "\"s\($0)\"" }.joined(separator: ", ") + "]"
        #expect(try YAML.compose(array)?.sequence?.count == 150_000)
    }

    @Test("configs with a repeated key or a tab indent are refused naming the file and line")
    func syncConfigErrors() {
        for (text, expected) in [
            ("images:\n  a.example/b/c: d\n  a.example/b/c: e\n", "c.yaml:3: not valid YAML (duplicate key \"a.example/b/c\", first on line 2)"),
            ("auth:\n  r.example:\n\tusername: u\n", "c.yaml:3: not valid YAML (a tab indents this line: YAML indents with spaces)"),
            ("{\"images\": {\"a/b/c\": \"d\"},\n \"auth\": [}", "c.yaml:2: not valid YAML (expected a value)"),
            ("", "c.yaml: empty file"),
        ] {
            #expect(throws: SyncConfigError.self) { try SyncConfig.parse(configText: text, file: "c.yaml") }
            do { _ = try SyncConfig.parse(configText: text, file: "c.yaml") } catch { #expect("\(error)" == expected) }
        }
    }

    // MARK: Comparing with Yams

    /// Expects the reader to give Yams' tree for `text`, or to refuse it on Yams' line.
    func expectSameAsYams(_ text: String, _ name: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let label = name ?? String(text.debugDescription.prefix(200))
        let theirs: Yams.Node?
        do { theirs = try Yams.compose(yaml: text) } catch {
            do {
                _ = try YAML.compose(text)
                Issue.record("Yams refuses (\(error)), the reader takes: \(label)", sourceLocation: sourceLocation)
            } catch let mine {
                #expect(mine.line == yamsLine(text), "\(label): \(mine)", sourceLocation: sourceLocation)
            }
            return
        }
        do {
            let mine = try YAML.compose(text)
            switch (mine, theirs) {
            case (nil, nil): break
            case (let mine?, let theirs?):
                var differences: [String] = []
                compare(mine, theirs, isKey: false, path: "/", &differences)
                #expect(differences.isEmpty, "\(label): \(differences.prefix(5))", sourceLocation: sourceLocation)
            default:
                Issue.record("one tree is empty: \(label)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("the reader refuses (\(error)), Yams takes: \(label)", sourceLocation: sourceLocation)
        }
    }

    /// Adds to `differences` where the two trees part: shape, key order, scalar text and style, `string`, `bool`
    /// (not of keys: Yams resolves their tags while checking duplicates, which changes `bool` for `! yes` or
    /// `tRUE`), resolved tag, line.
    func compare(_ mine: YAMLNode, _ theirs: Yams.Node, isKey: Bool, path: String, _ differences: inout [String]) {
        func differ(_ what: String, _ a: Any, _ b: Any) { differences.append("\(path) \(what): \(a) vs Yams \(b)") }
        // Yams' `bool` reads the tag as it stands and `tag` resolves it in place: `bool` first.
        let theirBool = isKey ? nil : theirs.bool
        if mine.line != theirs.mark?.line { differ("line", mine.line, theirs.mark?.line ?? 0) }
        if mine.resolvedTag != theirs.tag.description { differ("tag", mine.resolvedTag, theirs.tag.description) }
        if mine.string != theirs.string { differ("string", mine.string ?? "nil", theirs.string ?? "nil") }
        if !isKey && mine.bool != theirBool { differ("bool", mine.bool as Any, theirBool as Any) }
        switch (mine.content, theirs) {
        case (.scalar(let a), .scalar(let b)):
            if "\(a.style)" != "\(b.style)" { differ("style", a.style, b.style) }
        case (.mapping(let a), .mapping(let b)):
            let bPairs = Array(b)
            guard a.count == bPairs.count else { return differ("pairs", a.count, bPairs.count) }
            for (k, (x, y)) in zip(a, bPairs).enumerated() {
                compare(x.key, y.key, isKey: true, path: path + "\(k)k/", &differences)
                compare(x.value, y.value, isKey: false, path: path + "\(k)/", &differences)
            }
        case (.sequence(let a), .sequence(let b)):
            let bItems = Array(b)
            guard a.count == bItems.count else { return differ("items", a.count, bItems.count) }
            for (k, (x, y)) in zip(a, bItems).enumerated() { compare(x, y, isKey: false, path: path + "\(k)/", &differences) }
        default:
            differ("shape", mine.content, theirs)
        }
    }

    /// The line of Yams' error for `text`, nil when it takes it.
    func yamsLine(_ text: String) -> Int? {
        do {
            _ = try Yams.compose(yaml: text)
            return nil
        } catch let error as YamlError {
            switch error {
            case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
            case .duplicatedKeysInMapping(_, let context): return context.mark.line
            case .reader(_, let offset, _, _):
                // A character offset: one more than the line breaks before it.
                return 1 + text.prefix(offset ?? 0).filter { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }.count
            default: return 0
            }
        } catch {
            return 0
        }
    }
}
