import OpenSSLCrypto
import Foundation

/// The short-lived token the sync presents to a regional registry: a JWS compact token,
/// `alg: EdDSA`, `typ: preflight+jwt`, with `iss`, `aud` (the region id), `sub`, `iat`,
/// `nbf`, `exp` (≤ 300 s after `iat`), a random `jti` and a `scope`. Minted fresh for
/// every sweep and delivery; never the caller's token.
public enum PreflightJWT {
    public static let maximumLifetime = 300

    public static func mint(key: SigningKey, issuer: String, audience: String, subject: String, scope: String,
                            lifetimeSeconds: Int = 120, now: Int = Int(Date().timeIntervalSince1970)) throws -> String {
        let lifetime = min(max(lifetimeSeconds, 1), maximumLifetime)
        var header = JSONWriter()
        header.beginObject()
        header.key("alg"); header.string("EdDSA")
        header.key("typ"); header.string("preflight+jwt")
        header.key("kid"); header.string(key.kid)
        header.endObject()
        var claims = JSONWriter()
        claims.beginObject()
        claims.key("iss"); claims.string(issuer)
        claims.key("aud"); claims.string(audience)
        claims.key("sub"); claims.string(subject)
        claims.key("iat"); claims.int(now)
        claims.key("nbf"); claims.int(now)
        claims.key("exp"); claims.int(now + lifetime)
        claims.key("jti"); claims.string(Base64.encode(SecureRandom.bytes(16), url: true))
        claims.key("scope"); claims.string(scope)
        claims.endObject()
        let signingInput = Base64.encode(header.bytes, url: true) + "." + Base64.encode(claims.bytes, url: true)
        let signature = try key.key.sign(Array(signingInput.utf8))
        return signingInput + "." + Base64.encode(signature, url: true)
    }
}
