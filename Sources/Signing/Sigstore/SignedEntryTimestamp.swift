import Engine

/// Rekor v1's signed entry timestamp (`inclusionPromise.signedEntryTimestamp`): the log's signature over the
/// canonical JSON of the entry's body, integrated time, log ID and log index — its promise to include the entry.
public enum SignedEntryTimestamp {
    /// The signed payload: `{"body":"<body>","integratedTime":<t>,"logID":"<hex>","logIndex":<i>}`, keys sorted, no
    /// spaces; `body` must be base64 text (which needs no JSON escaping).
    public static func payload(body: String, integratedTime: Int64, logID: [UInt8], logIndex: Int64)
        throws(TransparencyLogError) -> [UInt8] {
        guard !body.isEmpty, body.utf8.allSatisfy(isBase64Character) else {
            throw TransparencyLogError("signed entry timestamp: the entry body is not base64 text")
        }
        let json = "{\"body\":\"\(body)\",\"integratedTime\":\(integratedTime),\"logID\":\"\(Hex.encode(logID))\",\"logIndex\":\(logIndex)}"
        return Array(json.utf8)
    }

    /// Checks the log's signature `set` over the entry (`body` is the `canonicalizedBody` base64 text as the bundle
    /// has it, `logID` the log ID's bytes, `logIndex` the entry's global index); throws when it does not verify.
    public static func verify(_ set: [UInt8], body: String, integratedTime: Int64, logID: [UInt8], logIndex: Int64,
                              key: PublicKey) throws(TransparencyLogError) {
        let message = try payload(body: body, integratedTime: integratedTime, logID: logID, logIndex: logIndex)
        guard key.verify(set, over: message) else {
            throw TransparencyLogError("signed entry timestamp: the log's signature does not verify with the log key")
        }
    }

    static func isBase64Character(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2B || c == 0x2F
            || c == 0x3D
    }
}
