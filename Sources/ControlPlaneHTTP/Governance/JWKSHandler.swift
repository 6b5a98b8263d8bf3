import ControlPlaneCore
import FastCGI

/// `GET /internal/.well-known/jwks.json`: the public keys registries verify PREFLIGHT_JWT with.
enum JWKSHandler {
    @Sendable static func jwks(_ context: RequestContext) throws -> Response {
        var response = Response.jsonBytes(SigningKey.jwks(context.settings.jwtKeys))
        response.headers.set("content-type", "application/jwk-set+json")
        response.headers.add("cache-control", "public, max-age=300")
        return response
    }
}
