import COpenSSL

/// AES-256-GCM over libcrypto, for secrets the service must use again (webhook signing
/// secrets) and so keeps encrypted at rest. Sealed form: 12-byte random nonce ‖ ciphertext ‖
/// 16-byte tag; the associated data binds a ciphertext to its row.
public enum AESGCM {
    public static let keyCount = 32
    static let nonceCount = 12
    static let tagCount = 16

    public enum Failure: Error, Equatable { case badKey, malformed, authenticationFailed }

    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        try seal(plaintext, key: key, associatedData: associatedData, nonce: SecureRandom.bytes(nonceCount))
    }

    /// With a given nonce: for known-answer tests only (a nonce must never repeat under a key).
    static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8], nonce: [UInt8]) throws -> [UInt8] {
        guard key.count == keyCount else { throw Failure.badKey }
        precondition(nonce.count == nonceCount)
        guard let context = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: tagCount)
        var length: Int32 = 0, total: Int32 = 0
        var ok = EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce)
        if ok == 1, !associatedData.isEmpty { ok = EVP_EncryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) }
        if ok == 1 { ok = EVP_EncryptUpdate(context, &out, &length, plaintext, Int32(plaintext.count)); total = length }
        if ok == 1 {
            ok = out.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(context, $0.baseAddress! + Int(total), &length) }
            total += length
        }
        if ok == 1 { ok = EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagCount), &tag) }
        precondition(ok == 1, "AES-256-GCM encryption failed")
        return nonce + out.prefix(Int(total)) + tag
    }

    public static func open(_ sealed: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard key.count == keyCount else { throw Failure.badKey }
        guard sealed.count >= nonceCount + tagCount else { throw Failure.malformed }
        let nonce = Array(sealed.prefix(nonceCount))
        let ciphertext = Array(sealed.dropFirst(nonceCount).dropLast(tagCount))
        var tag = Array(sealed.suffix(tagCount))
        guard let context = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var length: Int32 = 0, total: Int32 = 0
        var ok = EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce)
        if ok == 1, !associatedData.isEmpty { ok = EVP_DecryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) }
        if ok == 1 { ok = EVP_DecryptUpdate(context, &out, &length, ciphertext, Int32(ciphertext.count)); total = length }
        if ok == 1 { ok = EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagCount), &tag) }
        guard ok == 1 else { throw Failure.malformed }
        // The tag is checked here: any changed byte, a wrong key or other associated data fail.
        let final = out.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(context, $0.baseAddress! + Int(total), &length) }
        guard final == 1 else { throw Failure.authenticationFailed }
        total += length
        return Array(out.prefix(Int(total)))
    }
}
